import { join } from "node:path";
import { Journal, SlotArena } from "../../journal/src/index.ts";
import {
  decodeHistory,
  encodeHistory,
  ORDER_BYTES,
  readOrderAt,
  readTradeAt,
  TRADE_BYTES,
  tradeIdAt,
  WRITTEN,
  writeOrderAt,
  writeTradeAt,
} from "./history-codec.ts";
import { IdLists } from "./id-lists.ts";
import type { HistoryBatch, HistoryStore, Page, StoredOrder, StoredTrade } from "./port.ts";

/**
 * The embedded history store: every batch is journaled (history-codec.ts) before it is
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
    this.orders = new SlotArena(ORDER_BYTES, { file: join(dir, "orders.slots") });
    this.ordersOfUser = new IdLists({ file: join(dir, "orders-of-user.slots") });
    this.tradesOfUser = new IdLists({ file: join(dir, "trades-of-user.slots") });
  }

  static async open(dir: string): Promise<EmbeddedStore> {
    const store = new EmbeddedStore(await Journal.open(dir), dir);
    await store.journal.replay(1, (payload) => store.apply(decodeHistory(payload)));
    return store;
  }

  async write(batch: HistoryBatch): Promise<void> {
    if (batch.orders.length === 0 && batch.trades.length === 0) return;
    await this.journal.append(encodeHistory(batch));
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

  async tradesFrom(marketId: number, fromId: number, limit: number): Promise<StoredTrade[]> {
    const market = this.trades.get(marketId);
    if (!market) return [];
    // A market's trades arrive in id order (settlement writes them as UBSCore made them).
    let [low, high] = [0, market.arena.count];
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (tradeIdOfSlot(market.arena, mid) < fromId) low = mid + 1;
      else high = mid;
    }
    const out: StoredTrade[] = [];
    for (let slot = low; slot < market.arena.count && out.length < limit; slot++)
      out.push(readTrade(market.arena, slot));
    return out;
  }

  async tradesByUser(userId: number, marketId: number, page?: Page): Promise<StoredTrade[]> {
    const market = this.trades.get(marketId);
    if (!market) return [];
    return this.tradesOfUser
      .page(`${userId}:${marketId}`, (slot) => tradeIdOfSlot(market.arena, slot), page)
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
        arena: new SlotArena(TRADE_BYTES, { file: file("slots") }),
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
      const tradeId = (s: number) => tradeIdOfSlot(market.arena, s);
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

function isWritten(arena: SlotArena, slot: number): boolean {
  if (slot >= arena.count) return false;
  const { bytes, at } = arena.read(slot);
  return bytes[at] === WRITTEN;
}

function writeOrder(arena: SlotArena, o: StoredOrder): void {
  arena.write(o.orderId, ({ view, bytes, at }) => writeOrderAt(view, bytes, at, o));
}

function readOrder(arena: SlotArena, orderId: number): StoredOrder {
  const { view, bytes, at } = arena.read(orderId);
  return readOrderAt(view, bytes, at, orderId);
}

function writeTrade(arena: SlotArena, slot: number, t: StoredTrade): void {
  arena.write(slot, ({ view, at }) => writeTradeAt(view, at, t));
}

function tradeIdOfSlot(arena: SlotArena, slot: number): number {
  const { view, at } = arena.read(slot);
  return tradeIdAt(view, at);
}

function readTrade(arena: SlotArena, slot: number): StoredTrade {
  const { view, at } = arena.read(slot);
  return readTradeAt(view, at);
}
