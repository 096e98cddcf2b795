import { join } from "node:path";
import { parseExact, stringifyExact } from "../../domain/src/json.ts";
import { readU128, writeU128 } from "../../domain/src/u128.ts";
import { Journal } from "../../journal/src/journal.ts";
import { SlotArena } from "../../journal/src/slot-arena.ts";
import type { OrderStatus } from "../../ubscore/src/types.ts";
import { IdLists } from "./id-lists.ts";
import type { HistoryBatch, HistoryStore, Page, StoredOrder, StoredTrade } from "./port.ts";

/**
 * The embedded history store: every batch is journaled (JSON, bigints tagged) before it is
 * applied; opening replays the journal. Records and indexes are fixed-size binary slots in slot
 * arenas (an order's slot by its id, a market's trades in arrival order and their slots by trade
 * id, each user's ids in blocks), whose older chunks live in scratch files beside the journal: a
 * long-running exchange's history costs neither the garbage collector (objects for every order
 * made major collections, and their pauses, grow with the history) nor memory. Upserts by key make
 * writes idempotent.
 */
export class EmbeddedStore implements HistoryStore {
  private readonly orders: SlotArena;
  /** Order ids by `user:market`. */
  private readonly ordersOfUser: IdLists;
  private readonly trades = new Map<number, MarketTrades>();
  /** Trade slots (in their market's arena) by `user:market`. */
  private readonly tradesOfUser: IdLists;

  private constructor(
    private readonly journal: Journal,
    private readonly dir: string,
  ) {
    this.orders = new SlotArena(ORDER_SLOT, { file: join(dir, "orders.slots") });
    this.ordersOfUser = new IdLists({ file: join(dir, "orders-of-user.slots") });
    this.tradesOfUser = new IdLists({ file: join(dir, "trades-of-user.slots") });
  }

  static async open(dir: string): Promise<EmbeddedStore> {
    const store = new EmbeddedStore(await Journal.open(dir), dir);
    await store.journal.replay(1, (payload) => store.apply(decode(payload)));
    return store;
  }

  async write(batch: HistoryBatch): Promise<void> {
    if (batch.orders.length === 0 && batch.trades.length === 0) return;
    await this.journal.append(encode(batch));
    this.apply(batch);
  }

  async order(orderId: number): Promise<StoredOrder | undefined> {
    return isWritten(this.orders, orderId) ? readOrder(this.orders, orderId) : undefined;
  }

  /** From the user's newest order back: no index kept for client order ids. */
  async orderByClientId(
    userId: number,
    marketId: number,
    clientOrderId: string,
  ): Promise<StoredOrder | undefined> {
    for (const id of this.ordersOfUser.newestFirst(`${userId}:${marketId}`)) {
      const order = readOrder(this.orders, id);
      if (order.clientOrderId === clientOrderId) return order;
    }
    return undefined;
  }

  async ordersByUser(userId: number, marketId: number, page?: Page): Promise<StoredOrder[]> {
    return this.ordersOfUser
      .page(`${userId}:${marketId}`, (id) => id, page)
      .map((id) => readOrder(this.orders, id));
  }

  async tradesByMarket(marketId: number, limit: number): Promise<StoredTrade[]> {
    const market = this.trades.get(marketId);
    if (!market) return [];
    const from = Math.max(0, market.arena.count - limit);
    const out: StoredTrade[] = [];
    for (let slot = from; slot < market.arena.count; slot++) out.push(readTrade(market.arena, slot));
    return out.sort((a, b) => a.tradeId - b.tradeId);
  }

  async tradesByUser(userId: number, marketId: number, page?: Page): Promise<StoredTrade[]> {
    const market = this.trades.get(marketId);
    if (!market) return [];
    return this.tradesOfUser
      .page(`${userId}:${marketId}`, (slot) => tradeIdAt(market.arena, slot), page)
      .map((slot) => readTrade(market.arena, slot));
  }

  async close(): Promise<void> {
    await this.journal.close();
    const markets = [...this.trades.values()];
    await Promise.all(
      [this.orders, this.ordersOfUser, this.tradesOfUser, ...markets.flatMap((m) => [m.arena, m.slotOf])].map(
        (a) => a.close(),
      ),
    );
  }

  private marketTrades(marketId: number): MarketTrades {
    let market = this.trades.get(marketId);
    if (!market) {
      const file = (what: string) => join(this.dir, `trades-${marketId}.${what}`);
      market = {
        arena: new SlotArena(TRADE_SLOT, { file: file("slots") }),
        slotOf: new SlotArena(4, { file: file("ids") }),
      };
      this.trades.set(marketId, market);
    }
    return market;
  }

  private apply(batch: HistoryBatch): void {
    for (const o of batch.orders) {
      if (!isWritten(this.orders, o.orderId)) this.ordersOfUser.add(`${o.userId}:${o.marketId}`, o.orderId);
      writeOrder(this.orders, o);
    }
    for (const t of batch.trades) {
      const market = this.marketTrades(t.marketId);
      const existing = slotOfTrade(market, t.tradeId);
      const slot = existing ?? market.arena.count;
      writeTrade(market.arena, slot, t);
      if (existing !== undefined) continue;
      market.slotOf.write(t.tradeId, ({ view, at }) => view.setUint32(at, slot + 1, true));
      const tradeId = (s: number) => tradeIdAt(market.arena, s);
      this.tradesOfUser.add(`${t.buyerUserId}:${t.marketId}`, slot, tradeId);
      if (t.sellerUserId !== t.buyerUserId) {
        this.tradesOfUser.add(`${t.sellerUserId}:${t.marketId}`, slot, tradeId);
      }
    }
  }
}

/** A market's trades in arrival order, and each trade's slot (plus one; zero: none) by trade id. */
interface MarketTrades {
  readonly arena: SlotArena;
  readonly slotOf: SlotArena;
}

function slotOfTrade(market: MarketTrades, tradeId: number): number | undefined {
  const { view, at } = market.slotOf.read(tradeId);
  const slot = view.getUint32(at, true);
  return slot === 0 ? undefined : slot - 1;
}

/** The first byte of a slot that holds a record (slots never written read as zeros). */
const WRITTEN = 1;

function isWritten(arena: SlotArena, slot: number): boolean {
  if (slot >= arena.count) return false;
  const { bytes, at } = arena.read(slot);
  return bytes[at] === WRITTEN;
}

// Order slot: written flag, side, type, tif, stp, status, clientOrderId length, then numbers
// (safe integers as float64), the two bigints (u128) and the client order id (at most 36 chars).
const ORDER_SLOT = 160;
const STATUSES: readonly OrderStatus[] = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
  "EXPIRED_IN_MATCH",
];

function writeOrder(arena: SlotArena, o: StoredOrder): void {
  if (o.clientOrderId.length > ORDER_SLOT - 88)
    throw new RangeError(`client order id too long: ${o.orderId}`);
  arena.write(o.orderId, ({ view: v, bytes, at }) => {
    bytes[at] = WRITTEN;
    v.setUint8(at + 1, o.side);
    v.setUint8(at + 2, o.type);
    v.setUint8(at + 3, o.tif);
    v.setUint8(at + 4, o.stp ?? 0);
    v.setUint8(at + 5, STATUSES.indexOf(o.status));
    v.setUint8(at + 6, o.clientOrderId.length);
    v.setUint32(at + 8, o.userId, true);
    v.setUint32(at + 12, o.marketId, true);
    v.setFloat64(at + 16, o.priceTicks, true);
    v.setFloat64(at + 24, o.origQtyLots, true);
    v.setFloat64(at + 32, o.executedLots, true);
    v.setFloat64(at + 40, o.time, true);
    v.setFloat64(at + 48, o.updateTime, true);
    writeU128(v, at + 56, o.cumQuote);
    // Records journaled before orders carried it: a limit order, no quote amount.
    writeU128(v, at + 72, o.quoteOrderUnits ?? 0n);
    bytes.write(o.clientOrderId, at + 88, "latin1");
  });
}

function readOrder(arena: SlotArena, orderId: number): StoredOrder {
  const { view: v, bytes, at } = arena.read(orderId);
  return {
    orderId,
    userId: v.getUint32(at + 8, true),
    marketId: v.getUint32(at + 12, true),
    clientOrderId: bytes.toString("latin1", at + 88, at + 88 + v.getUint8(at + 6)),
    side: v.getUint8(at + 1),
    type: v.getUint8(at + 2),
    tif: v.getUint8(at + 3),
    priceTicks: v.getFloat64(at + 16, true),
    origQtyLots: v.getFloat64(at + 24, true),
    executedLots: v.getFloat64(at + 32, true),
    cumQuote: readU128(v, at + 56),
    status: STATUSES[v.getUint8(at + 5)]!,
    time: v.getFloat64(at + 40, true),
    updateTime: v.getFloat64(at + 48, true),
    quoteOrderUnits: readU128(v, at + 72),
    stp: v.getUint8(at + 4),
  };
}

// Trade slot: written flag, taker side, ids and users, numbers as float64, three u128 amounts.
const TRADE_SLOT = 128;

function writeTrade(arena: SlotArena, slot: number, t: StoredTrade): void {
  arena.write(slot, ({ view: v, at }) => {
    v.setUint8(at, WRITTEN);
    v.setUint8(at + 1, t.takerSide);
    v.setUint32(at + 4, t.marketId, true);
    v.setUint32(at + 8, t.buyerUserId, true);
    v.setUint32(at + 12, t.sellerUserId, true);
    v.setFloat64(at + 16, t.tradeId, true);
    v.setFloat64(at + 24, t.priceTicks, true);
    v.setFloat64(at + 32, t.qtyLots, true);
    v.setFloat64(at + 40, t.time, true);
    v.setFloat64(at + 48, t.buyerOrderId, true);
    v.setFloat64(at + 56, t.sellerOrderId, true);
    writeU128(v, at + 64, t.quoteUnits);
    writeU128(v, at + 80, t.buyerFee);
    writeU128(v, at + 96, t.sellerFee);
  });
}

function tradeIdAt(arena: SlotArena, slot: number): number {
  const { view, at } = arena.read(slot);
  return view.getFloat64(at + 16, true);
}

function readTrade(arena: SlotArena, slot: number): StoredTrade {
  const { view: v, at } = arena.read(slot);
  return {
    tradeId: v.getFloat64(at + 16, true),
    marketId: v.getUint32(at + 4, true),
    priceTicks: v.getFloat64(at + 24, true),
    qtyLots: v.getFloat64(at + 32, true),
    quoteUnits: readU128(v, at + 64),
    time: v.getFloat64(at + 40, true),
    buyerOrderId: v.getFloat64(at + 48, true),
    sellerOrderId: v.getFloat64(at + 56, true),
    buyerUserId: v.getUint32(at + 8, true),
    sellerUserId: v.getUint32(at + 12, true),
    takerSide: v.getUint8(at + 1),
    buyerFee: readU128(v, at + 80),
    sellerFee: readU128(v, at + 96),
  };
}

function encode(batch: HistoryBatch): Uint8Array {
  return Buffer.from(stringifyExact(batch));
}

function decode(bytes: Uint8Array): HistoryBatch {
  return parseExact(Buffer.from(bytes).toString("utf8"));
}
