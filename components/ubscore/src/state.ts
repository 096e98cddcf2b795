import type { ExchangeDefinition, Market } from "../../domain/src/index.ts";
import { BourseError, fail } from "../../domain/src/index.ts";
import type { Command, MatchingEvent } from "../../matching/src/index.ts";
import { DepthBook, MatchingEngine } from "../../matching/src/index.ts";
import type { Candle } from "./candles.ts";
import { ListenKeys } from "./listen-keys.ts";
import { OrderCounts } from "./order-counts.ts";
import { type ListOrderChange, PendingOrders } from "./pending-orders.ts";
import { PreventedMatches } from "./prevented-matches.ts";
import { ShardedMap } from "./sharded-map.ts";
import type { Balance, OrderList, OrderRecord, TradeRecord, Withdrawal } from "./types.ts";
import { UsedSignatures } from "./used-signatures.ts";

/** What a command did: the answer of `UbsCore.apply`. */
export interface CommandResult {
  /** The order the command created or acted on, when there is one. */
  readonly order?: OrderRecord;
  readonly orders?: OrderRecord[];
  /** The order list the command created (placeOco). */
  readonly orderList?: OrderList;
  readonly events: readonly MatchingEvent[];
  readonly marketId?: number;
  readonly withdrawal?: Withdrawal;
  /** The user an addUser created. */
  readonly userId?: number;
  /** The listen key a listenKey command granted or acted on. */
  readonly listenKey?: string;
  /** The command repeated an outcome that had already happened: it changed nothing. */
  readonly repeated?: boolean;
  /** An order command the matching service must now run (matching.kind service). */
  readonly forwarded?: Forwarded;
  /**
   * OTO lists' pending orders the command placed (their working order filled) that the matching
   * service must now run (matching.kind service); no submitter waits for them.
   */
  readonly activated?: readonly Forwarded[];
  /** Orders of lists that changed in UBSCore alone (no event names them): see ListOrderChange. */
  readonly listOrders?: readonly ListOrderChange[];
  /** Order lists whose status the command changed in UBSCore (an OTO placed, activated, done). */
  readonly listsChanged?: readonly number[];
  /**
   * The matching service's outcome refused the command (a cancel whose order had just traded
   * away): its bookkeeping is applied, but its submitter is answered with this error.
   */
  readonly error?: BourseError;
}

/** Where the order books run: in this state machine, or in a matching service (see `matched`). */
export type MatchingMode = "local" | "remote";

/** An order command forwarded to the matching service: the `seq`-th of its market. */
export interface Forwarded {
  readonly marketId: number;
  readonly seq: number;
  readonly command: Command;
  /** The command's time: what its trades are stamped with when its outcome comes back. */
  readonly time: number;
  /** An amend's new client order id, taken on when its outcome says the amend was done. */
  readonly rename?: string;
}

/** The state of a market whose book runs in the matching service. */
export interface RemoteMarket {
  /** The last sequence forwarded, and the last whose outcome has been applied. */
  forwarded: number;
  matched: number;
  /** Forwarded commands still waiting for their outcome, oldest first. */
  pending: Forwarded[];
  lastTradeId: number;
  /** The book's levels, as the outcomes' BookLevel events leave them. */
  readonly depth: DepthBook;
}

/**
 * How much finished history the core keeps: every open order, plus the most recent closed orders
 * and trades per market up to these counts. Older history lives in the history store (which
 * settlement fills); the core's memory and snapshots stay bounded however long it runs.
 */
export interface Retention {
  readonly closedOrders: number;
  readonly tradesPerMarket: number;
}
export const DEFAULT_RETENTION: Retention = { closedOrders: 50_000, tradesPerMarket: 10_000 };

/**
 * Everything UBSCore holds, in one place: the rooms of the core (orders, fills, order lists,
 * remote books, snapshots, queries, invariants) all read and change this one object, so the
 * snapshot and the invariants see exactly what the commands changed.
 */
export interface CoreState {
  readonly exchange: ExchangeDefinition;
  readonly retention: Retention;
  readonly matching: MatchingMode;
  readonly users: Set<number>;
  readonly balances: Map<number, Balance[]>;
  /** Fee account balance per asset id. */
  readonly fees: bigint[];
  /**
   * Per asset: what came in minus what went out (credits, debits, internal transfers, completed
   * withdrawals). Every other move stays inside, so balances plus fees always equal it.
   */
  readonly netInflow: bigint[];
  /** Per market id: the book itself (local) or what the matching service's answers say of it. */
  readonly engines: MatchingEngine[];
  readonly remote: RemoteMarket[];
  /** Sharded: these two grow with the book, and a plain Map's growth stops the loop (see ShardedMap). */
  readonly orders: ShardedMap<number, OrderRecord>;
  /** userId:clientOrderId -> orderId, for open orders only. */
  readonly openByClientId: ShardedMap<string, number>;
  readonly openByUser: Map<number, Set<number>>;
  /** Order lists by id, as long as their legs are kept (forgotten with the first of them). */
  readonly lists: Map<number, OrderList>;
  nextOrderListId: number;
  readonly trades: TradeRecord[][];
  readonly candles: Candle[][];
  /** Closed order ids, oldest first from `closedHead`: the next to forget when over retention. */
  closed: number[];
  closedHead: number;
  /** How many closed orders, and trades per market, have been forgotten (kept by the store). */
  forgotten: { orders: number; trades: number[] };
  readonly halted: Set<number>;
  readonly withdrawals: Map<string, Withdrawal>;
  /** Internal transfers applied, by sequence: a repeated transferIn/transferOut changes nothing. */
  readonly appliedTransfers: Set<number>;
  /** Deposits credited with an idempotency key: id -> [userId, assetId, amount]. */
  readonly deposits: Map<string, [number, number, bigint]>;
  /** Signed requests taken, so each is taken once, whichever gateway sends it and when. */
  signatures: UsedSignatures;
  /** The user data streams' listen keys (journaled, so every replica has them). */
  listenKeys: ListenKeys;
  /** Self-trade preventions, for myPreventedMatches. */
  readonly prevented: PreventedMatches;
  /** New orders per user in Binance's windows, for the order limits (UbsCoreService admits by them). */
  counts: OrderCounts;
  nextOrderId: number;
  /** The time of the command being applied: what its changes are stamped with. */
  now: number;
  /** OTO lists' pending orders to activate and report, during one command (empty between commands). */
  readonly pendingOrders: PendingOrders;
}

/** An empty core: no users, empty books. */
export function newCoreState(
  exchange: ExchangeDefinition,
  retention: Retention,
  matching: MatchingMode,
): CoreState {
  const s: CoreState = {
    exchange,
    retention,
    matching,
    users: new Set(),
    balances: new Map(),
    fees: exchange.assets.map(() => 0n),
    netInflow: exchange.assets.map(() => 0n),
    engines: [],
    remote: [],
    orders: new ShardedMap(),
    openByClientId: new ShardedMap(),
    openByUser: new Map(),
    lists: new Map(),
    nextOrderListId: 1,
    trades: [],
    candles: [],
    closed: [],
    closedHead: 0,
    forgotten: { orders: 0, trades: [] },
    halted: new Set(),
    withdrawals: new Map(),
    appliedTransfers: new Set(),
    deposits: new Map(),
    signatures: new UsedSignatures(),
    listenKeys: new ListenKeys(),
    prevented: new PreventedMatches(),
    counts: new OrderCounts(),
    nextOrderId: 1,
    now: 0,
    pendingOrders: new PendingOrders(),
  };
  for (const m of exchange.markets) {
    if (matching === "local") s.engines[m.id] = newEngine(m);
    else s.remote[m.id] = { forwarded: 0, matched: 0, pending: [], lastTradeId: 0, depth: new DepthBook() };
    s.trades[m.id] = [];
    s.candles[m.id] = [];
  }
  return s;
}

function newEngine(market: Market): MatchingEngine {
  return new MatchingEngine({ quotePerTickLot: Number(market.quotePerTickLot) });
}

export const NO_EVENTS: readonly MatchingEvent[] = [];
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function market(s: CoreState, symbol: string): Market {
  return s.exchange.market(symbol) ?? fail("UNKNOWN_MARKET", "Invalid symbol.");
}

export function assetId(s: CoreState, symbol: string): number {
  return (s.exchange.asset(symbol) ?? fail("UNKNOWN_ASSET", `unknown asset ${symbol}`)).id;
}

export function balance(s: CoreState, userId: number, asset: number): Balance {
  const bs = s.balances.get(userId) ?? fail("UNKNOWN_USER", `unknown user ${userId}`);
  return bs[asset - 1]!;
}

/** A user's key for an open order's client order id (`openByClientId`). */
export function clientKey(userId: number, clientOrderId: string): string {
  return `${userId}:${clientOrderId}`;
}

/** A triggered order whose stop price has not been reached: open, but not in the book. */
export function isWaiting(o: OrderRecord): boolean {
  return o.stopPriceTicks !== undefined && o.workingTime === undefined;
}

export function isDone(o: OrderRecord): boolean {
  return o.status !== "NEW" && o.status !== "PARTIALLY_FILLED" && o.status !== "PENDING_NEW";
}

/** An open order the book holds (resting or waiting): not an OTO list's pending order. */
export function inBook(o: OrderRecord): boolean {
  return !isDone(o) && o.status !== "PENDING_NEW";
}

/** The balance cannot cover the order or the debit (Binance's -2010): one wording for every refusal. */
export function insufficientBalance(): never {
  return fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
}

export function unknownOrder(): BourseError {
  return new BourseError("UNKNOWN_ORDER", "Unknown order sent.");
}

export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
