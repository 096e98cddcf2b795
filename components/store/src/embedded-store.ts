import { parseExact, stringifyExact } from "../../domain/src/json.ts";
import { Journal } from "../../journal/src/journal.ts";
import type { HistoryBatch, HistoryStore, StoredOrder, StoredTrade } from "./port.ts";

/**
 * The embedded history store: every batch is journaled (JSON, bigints tagged) before it is
 * applied to in-memory indexes; opening replays the journal. Upserts by key make writes idempotent.
 */
export class EmbeddedStore implements HistoryStore {
  private readonly orders = new Map<number, StoredOrder>();
  private readonly ordersOfUser = new Map<string, Set<number>>();
  private readonly trades = new Map<number, Map<number, StoredTrade>>();
  private readonly tradesOfUser = new Map<string, Set<number>>();

  private constructor(private readonly journal: Journal) {}

  static async open(dir: string): Promise<EmbeddedStore> {
    const store = new EmbeddedStore(await Journal.open(dir));
    await store.journal.replay(1, (payload) => store.apply(decode(payload)));
    return store;
  }

  async write(batch: HistoryBatch): Promise<void> {
    if (batch.orders.length === 0 && batch.trades.length === 0) return;
    await this.journal.append(encode(batch));
    this.apply(batch);
  }

  async order(orderId: number): Promise<StoredOrder | undefined> {
    return this.orders.get(orderId);
  }

  async ordersByUser(userId: number, marketId: number): Promise<StoredOrder[]> {
    const ids = [...(this.ordersOfUser.get(`${userId}:${marketId}`) ?? [])].sort((a, b) => a - b);
    return ids.map((id) => this.orders.get(id)!);
  }

  async tradesByMarket(marketId: number, limit: number): Promise<StoredTrade[]> {
    return [...(this.trades.get(marketId)?.values() ?? [])]
      .sort((a, b) => a.tradeId - b.tradeId)
      .slice(-limit);
  }

  async tradesByUser(userId: number, marketId: number): Promise<StoredTrade[]> {
    const ids = [...(this.tradesOfUser.get(`${userId}:${marketId}`) ?? [])].sort((a, b) => a - b);
    return ids.map((id) => this.trades.get(marketId)!.get(id)!);
  }

  async close(): Promise<void> {
    await this.journal.close();
  }

  private apply(batch: HistoryBatch): void {
    for (const o of batch.orders) {
      // Records journaled before orders carried these two: a limit order without STP.
      this.orders.set(o.orderId, { ...o, quoteOrderUnits: o.quoteOrderUnits ?? 0n, stp: o.stp ?? 0 });
      index(this.ordersOfUser, `${o.userId}:${o.marketId}`, o.orderId);
    }
    for (const t of batch.trades) {
      const market = this.trades.get(t.marketId) ?? new Map<number, StoredTrade>();
      this.trades.set(t.marketId, market.set(t.tradeId, t));
      index(this.tradesOfUser, `${t.buyerUserId}:${t.marketId}`, t.tradeId);
      index(this.tradesOfUser, `${t.sellerUserId}:${t.marketId}`, t.tradeId);
    }
  }
}

function index(map: Map<string, Set<number>>, key: string, id: number): void {
  map.set(key, (map.get(key) ?? new Set<number>()).add(id));
}

function encode(batch: HistoryBatch): Uint8Array {
  return Buffer.from(stringifyExact(batch));
}

function decode(bytes: Uint8Array): HistoryBatch {
  return parseExact(Buffer.from(bytes).toString("utf8"));
}
