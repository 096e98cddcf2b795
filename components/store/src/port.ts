import type { OrderStatus, TradeRecord } from "../../domain/src/index.ts";

/**
 * The history store port: what the gateway serves from history (orders by user, an order by id,
 * trades by market and by user). Writes are idempotent upserts keyed by order id and by
 * (market, trade id), so settlement can re-send after a crash without duplicating anything.
 * Adapters: the embedded store here; ScyllaDB/Cassandra (CQL) with the multi-process exchange.
 */
export interface StoredOrder {
  readonly orderId: number;
  readonly userId: number;
  readonly marketId: number;
  readonly clientOrderId: string;
  readonly side: number;
  readonly type: number;
  readonly tif: number;
  readonly priceTicks: number;
  readonly origQtyLots: number;
  readonly executedLots: number;
  readonly cumQuote: bigint;
  readonly status: OrderStatus;
  readonly time: number;
  readonly updateTime: number;
  /** A market order by quote amount: that amount (quote units); 0 otherwise. */
  readonly quoteOrderUnits: bigint;
  readonly stp: number;
}

/** What the gateway reads of history beyond what UBSCore keeps in memory. */
export type HistoryReader = Pick<
  HistoryStore,
  "order" | "orderByClientId" | "ordersByUser" | "tradesByUser" | "tradesFrom"
>;

export type StoredTrade = TradeRecord;

/**
 * A page of a user's history, oldest first: from id `fromId` on (at most `limit`), or without
 * `fromId` the most recent `limit` (Binance's allOrders / myTrades).
 */
export interface Page {
  readonly fromId?: number;
  readonly limit: number;
}

export interface HistoryBatch {
  readonly orders: readonly StoredOrder[];
  readonly trades: readonly StoredTrade[];
}

export interface HistoryStore {
  write(batch: HistoryBatch): Promise<void>;
  order(orderId: number): Promise<StoredOrder | undefined>;
  /** The most recent of a user's orders on a market with this client order id. */
  orderByClientId(userId: number, marketId: number, clientOrderId: string): Promise<StoredOrder | undefined>;
  /** A user's orders on a market, oldest first: one page of them, or all without `page`. */
  ordersByUser(userId: number, marketId: number, page?: Page): Promise<StoredOrder[]>;
  /** The most recent trades of a market, oldest first. */
  tradesByMarket(marketId: number, limit: number): Promise<StoredTrade[]>;
  /** A market's trades from id `fromId` on, oldest first, at most `limit` (Binance's historicalTrades). */
  tradesFrom(marketId: number, fromId: number, limit: number): Promise<StoredTrade[]>;
  /** A user's trades on a market (as buyer or seller), oldest first: a page, or all without `page`. */
  tradesByUser(userId: number, marketId: number, page?: Page): Promise<StoredTrade[]>;
  close(): Promise<void>;
}
