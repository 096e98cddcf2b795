import { BourseError, fail, invariant, isBourseError } from "../../domain/src/errors.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { lotsToBaseUnits, type Market, notional, tradeAmounts } from "../../domain/src/market.ts";
import {
  COMMAND_STRIDE,
  decodeCommand as decodeEngineCommand,
  encodeCommand as encodeEngineCommand,
} from "../../matching/src/commands.ts";
import { type BookView, DepthBook } from "../../matching/src/depth-book.ts";
import { type BookOrder, MatchingEngine } from "../../matching/src/engine.ts";
import { decodeEventBytes, EVENT_STRIDE } from "../../matching/src/events.ts";
import {
  type AmendedEvent,
  type Command,
  CommandType,
  EventType,
  ExpireReason,
  isTriggered,
  type MatchingEvent,
  OrderType,
  RejectReason,
  SelfTradePrevention,
  Side,
  TimeInForce,
  type TradeEvent,
  triggersAs,
} from "../../matching/src/protocol.ts";
import type { StopOrder } from "../../matching/src/stop-book.ts";
import type { HandoverBook } from "../../matching/src/wire.ts";
import { type Candle, foldTrade } from "./candles.ts";
import { ListenKeys } from "./listen-keys.ts";
import { OrderCounts } from "./order-counts.ts";
import { PreventedMatches } from "./prevented-matches.ts";
import { ShardedMap } from "./sharded-map.ts";
import {
  type RemoteBookState,
  readSnapshot,
  SNAPSHOT_VERSION,
  type SnapshotHeader,
  type SnapshotState,
  snapshotChunks,
} from "./snapshot-format.ts";
import {
  type AmendOrder,
  type Balance,
  type ListenKeyCommand,
  ListenKeyOp,
  type OrderList,
  type OrderRecord,
  type PlaceOco,
  type PlaceOrder,
  type PreventedMatch,
  type SignedOnce,
  type TradeRecord,
  type UbsCommand,
  type Withdrawal,
} from "./types.ts";
import { UsedSignatures } from "./used-signatures.ts";

/**
 * UBSCore's state machine: the single writer of trading balances and the pre-trade risk check,
 * with the markets' matching engines inside it. Deterministic and free of I/O: the same commands
 * in the same order give the same state, which is how the durable service recovers.
 *
 * Money rules (amounts in each asset's smallest unit, bigint):
 * - a new order freezes exactly what it may spend: a BUY LIMIT its notional at the limit price
 *   plus the fee at the higher of the maker/taker rates (quote); a SELL its quantity (base); a BUY
 *   MARKET by quote amount that amount; a BUY MARKET by quantity the notional at the market's
 *   maximum price, capped at what is available (the engine stops when the budget runs out);
 * - a fill moves base seller -> buyer and quote buyer -> seller at the maker price; fees (quote,
 *   parts per million of the notional, rounded down) go from both sides to the fee account;
 * - whatever an order no longer needs (price improvement, unused fee reserve, unfilled remainder)
 *   is released when it is done.
 * Every change moves money between accounts, except credit/debit, which are the only way money
 * enters or leaves (conservation is checked by the tests).
 */
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
interface RemoteMarket {
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

const NO_EVENTS: readonly MatchingEvent[] = [];
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class UbsCore {
  private readonly users = new Set<number>();
  private readonly balances = new Map<number, Balance[]>();
  /** Fee account balance per asset id. */
  readonly fees: bigint[];
  /**
   * Per asset: what came in minus what went out (credits, debits, internal transfers, completed
   * withdrawals). Every other move stays inside, so balances plus fees always equal it.
   */
  private readonly netInflow: bigint[];
  /** Per market id: the book itself (local) or what the matching service's answers say of it. */
  private readonly engines: MatchingEngine[] = [];
  private readonly remote: RemoteMarket[] = [];
  /** Sharded: these two grow with the book, and a plain Map's growth stops the loop (see ShardedMap). */
  private readonly orders = new ShardedMap<number, OrderRecord>();
  /** userId:clientOrderId -> orderId, for open orders only. */
  private readonly openByClientId = new ShardedMap<string, number>();
  private readonly openByUser = new Map<number, Set<number>>();
  /** Order lists by id, as long as their legs are kept (forgotten with the first of them). */
  private readonly lists = new Map<number, OrderList>();
  private nextOrderListId = 1;
  private readonly trades: TradeRecord[][] = [];
  private readonly candles: Candle[][] = [];
  /** Closed order ids, oldest first from `closedHead`: the next to forget when over retention. */
  private closed: number[] = [];
  private closedHead = 0;
  /** How many closed orders, and trades per market, have been forgotten (kept by the store). */
  private forgotten = { orders: 0, trades: [] as number[] };
  private readonly halted = new Set<number>();
  private readonly withdrawals = new Map<string, Withdrawal>();
  /** Internal transfers applied, by sequence: a repeated transferIn/transferOut changes nothing. */
  private readonly appliedTransfers = new Set<number>();
  /** Deposits credited with an idempotency key: id -> [userId, assetId, amount]. */
  private readonly deposits = new Map<string, [number, number, bigint]>();
  /** Signed requests taken, so each is taken once, whichever gateway sends it and when. */
  private signatures = new UsedSignatures();
  private listenKeys = new ListenKeys();
  /** Self-trade preventions, for myPreventedMatches. */
  private readonly prevented = new PreventedMatches();
  /** New orders per user in Binance's windows, for the order limits (UbsCoreService admits by them). */
  private counts = new OrderCounts();
  private nextOrderId = 1;
  private now = 0;
  /** Checks every invariant after each command (`verify` mode): slow, for finding bugs. */
  verify = false;

  constructor(
    readonly exchange: ExchangeDefinition,
    readonly retention: Retention = DEFAULT_RETENTION,
    readonly matching: MatchingMode = "local",
  ) {
    this.fees = exchange.assets.map(() => 0n);
    this.netInflow = exchange.assets.map(() => 0n);
    for (const m of exchange.markets) {
      if (matching === "local") this.engines[m.id] = newEngine(m);
      else
        this.remote[m.id] = { forwarded: 0, matched: 0, pending: [], lastTradeId: 0, depth: new DepthBook() };
      this.trades[m.id] = [];
      this.candles[m.id] = [];
    }
  }

  apply(cmd: UbsCommand): CommandResult {
    if (!this.verify) return this.applyCommand(cmd);
    try {
      return this.applyCommand(cmd);
    } finally {
      this.checkInvariants();
    }
  }

  private applyCommand(cmd: UbsCommand): CommandResult {
    // Before, not after: what the previous command closed stays readable to its listeners.
    this.forgetOldHistory();
    switch (cmd.kind) {
      case "createUser":
        if (!Number.isSafeInteger(cmd.userId) || cmd.userId <= 0)
          fail("INVALID_ARGUMENT", "userId must be positive");
        if (this.users.has(cmd.userId)) fail("CONFLICT", `user ${cmd.userId} exists`);
        return this.addUser(cmd.userId);
      case "addUser":
        return this.addUser(this.nextUserId());
      case "credit": {
        const assetId = this.assetId(cmd.asset);
        const b = this.balance(cmd.userId, assetId);
        positiveAmount(cmd.amount);
        if (cmd.depositId !== undefined && this.knownDeposit(cmd.userId, assetId, cmd.amount, cmd.depositId))
          return { events: NO_EVENTS, repeated: true };
        b.available += cmd.amount;
        this.netInflow[assetId - 1]! += cmd.amount;
        return { events: NO_EVENTS };
      }
      case "debit": {
        const assetId = this.assetId(cmd.asset);
        const b = this.balance(cmd.userId, assetId);
        positiveAmount(cmd.amount);
        if (b.available < cmd.amount)
          fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
        b.available -= cmd.amount;
        this.netInflow[assetId - 1]! -= cmd.amount;
        return { events: NO_EVENTS };
      }
      case "holdWithdrawal": {
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(cmd.withdrawalId)) fail("INVALID_ARGUMENT", "bad withdrawal id");
        if (this.withdrawals.has(cmd.withdrawalId)) fail("CONFLICT", `withdrawal ${cmd.withdrawalId} exists`);
        const assetId = this.assetId(cmd.asset);
        const b = this.balance(cmd.userId, assetId);
        positiveAmount(cmd.amount);
        if (b.available < cmd.amount)
          fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
        b.available -= cmd.amount;
        b.frozen += cmd.amount;
        const w: Withdrawal = {
          withdrawalId: cmd.withdrawalId,
          seq: this.withdrawals.size + 1,
          userId: cmd.userId,
          assetId,
          amount: cmd.amount,
          status: "HELD",
        };
        this.withdrawals.set(cmd.withdrawalId, w);
        return { events: NO_EVENTS, withdrawal: w };
      }
      case "completeWithdrawal":
      case "cancelWithdrawal":
        return this.settleWithdrawal(cmd.withdrawalId, cmd.kind === "completeWithdrawal");
      case "transferIn":
      case "transferOut": {
        if (!Number.isSafeInteger(cmd.transferSeq) || cmd.transferSeq <= 0)
          fail("INVALID_ARGUMENT", "bad transfer sequence");
        const assetId = this.assetId(cmd.asset);
        const b = this.balance(cmd.userId, assetId);
        positiveAmount(cmd.amount);
        if (this.appliedTransfers.has(cmd.transferSeq)) return { events: NO_EVENTS, repeated: true };
        if (cmd.kind === "transferOut" && b.available < cmd.amount) {
          fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
        }
        const change = cmd.kind === "transferIn" ? cmd.amount : -cmd.amount;
        b.available += change;
        this.netInflow[assetId - 1]! += change;
        this.appliedTransfers.add(cmd.transferSeq);
        return { events: NO_EVENTS };
      }
      case "place":
        this.useSignature(cmd, cmd.time);
        // A user's order, counted with its signature: taken even when refused, as Binance counts it.
        if (cmd.signature !== undefined) this.counts.count(cmd.userId, cmd.time);
        return this.place(cmd);
      case "placeOco":
        this.useSignature(cmd, cmd.time);
        // Two orders, as Binance counts an OCO.
        if (cmd.signature !== undefined) this.counts.count(cmd.userId, cmd.time, 2);
        return this.placeOco(cmd);
      case "cancel":
        this.useSignature(cmd, cmd.time);
        return this.cancel(cmd.userId, cmd.symbol, cmd.time, cmd.orderId, cmd.clientOrderId);
      case "cancelAll":
        this.useSignature(cmd, cmd.time);
        return this.cancelAll(cmd.userId, cmd.symbol, cmd.time);
      case "amend":
        this.useSignature(cmd, cmd.time);
        return this.amend(cmd);
      case "halt":
        this.halted.add(this.market(cmd.symbol).id);
        return { events: NO_EVENTS };
      case "resume":
        this.halted.delete(this.market(cmd.symbol).id);
        return { events: NO_EVENTS };
      case "matched":
        return this.applyOutcome(cmd.marketId, cmd.seq, cmd.events);
      case "listenKey":
        return this.applyListenKey(cmd);
      case "takeSignature":
        if (!this.users.has(cmd.userId)) fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
        if (cmd.signature === undefined) fail("INVALID_ARGUMENT", "takeSignature carries a signature");
        this.useSignature(cmd, cmd.time);
        return { events: NO_EVENTS };
    }
  }

  private applyListenKey(cmd: ListenKeyCommand): CommandResult {
    if (!this.users.has(cmd.userId)) fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
    switch (cmd.op) {
      case ListenKeyOp.Create:
        return { events: NO_EVENTS, listenKey: this.listenKeys.create(cmd.userId, cmd.key, cmd.time, cmd) };
      case ListenKeyOp.KeepAlive:
        this.listenKeys.keepAlive(cmd.userId, cmd.key, cmd.time, cmd.ttlMs);
        return { events: NO_EVENTS, listenKey: cmd.key };
      case ListenKeyOp.Close:
        this.listenKeys.close(cmd.userId, cmd.key, cmd.time);
        return { events: NO_EVENTS, listenKey: cmd.key };
      default:
        return fail("INVALID_ARGUMENT", `unknown listen-key operation ${cmd.op}`);
    }
  }

  /** The user data streams' listen keys (journaled, so every replica has them). */
  get listenKeyState(): ListenKeys {
    return this.listenKeys;
  }

  private addUser(userId: number): CommandResult {
    this.users.add(userId);
    this.balances.set(
      userId,
      this.exchange.assets.map(() => ({ available: 0n, frozen: 0n })),
    );
    return { events: NO_EVENTS, userId };
  }

  /**
   * Is this deposit already credited (then true: the credit repeats it)? A known id with other
   * terms is refused; an unknown one is remembered.
   */
  private knownDeposit(userId: number, assetId: number, amount: bigint, depositId: string): boolean {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(depositId)) fail("INVALID_ARGUMENT", "bad deposit id");
    const known = this.deposits.get(depositId);
    if (!known) {
      this.deposits.set(depositId, [userId, assetId, amount]);
      return false;
    }
    if (known[0] !== userId || known[1] !== assetId || known[2] !== amount)
      fail("CONFLICT", `deposit ${depositId} was already credited with other terms`);
    return true;
  }

  /**
   * A command from a signed request takes that request, whatever its outcome: a request refused
   * for want of funds cannot be replayed once the funds arrive.
   */
  private useSignature(cmd: SignedOnce, time: number): void {
    if (cmd.signature === undefined && cmd.validUntil === undefined) return;
    if (cmd.signature === undefined || cmd.validUntil === undefined)
      fail("INVALID_ARGUMENT", "a signed command carries its signature and its validUntil");
    this.signatures.use(cmd.signature, cmd.validUntil, time);
  }

  /**
   * Completes (the held funds leave the exchange) or cancels (they return to available) a held
   * withdrawal. Repeating the same outcome is a no-op; asking for the other one is a conflict.
   */
  private settleWithdrawal(withdrawalId: string, complete: boolean): CommandResult {
    const w =
      this.withdrawals.get(withdrawalId) ?? fail("UNKNOWN_ORDER", `unknown withdrawal ${withdrawalId}`);
    const target = complete ? "COMPLETED" : "CANCELED";
    if (w.status === target) return { events: NO_EVENTS, withdrawal: w, repeated: true };
    if (w.status !== "HELD") fail("CONFLICT", `withdrawal ${withdrawalId} is already ${w.status}`);
    const b = this.balance(w.userId, w.assetId);
    b.frozen -= w.amount;
    if (complete) this.netInflow[w.assetId - 1]! -= w.amount;
    else b.available += w.amount;
    w.status = target;
    return { events: NO_EVENTS, withdrawal: w };
  }

  // ---- snapshots ----

  /** Everything the core holds, as bytes (the format: snapshot-format.ts). */
  snapshot(): Uint8Array {
    return Buffer.concat([...this.snapshotChunks()]);
  }

  /**
   * The snapshot as chunks, records serialized as the chunks are taken, so a large one is never
   * one string. The core must not change until they are all taken: the background snapshot's
   * core never does (background-snapshot.ts).
   */
  snapshotChunks(): Iterable<Buffer> {
    const header: SnapshotHeader = {
      version: SNAPSHOT_VERSION,
      retention: this.retention,
      closed: this.closed.slice(this.closedHead),
      forgotten: this.forgotten,
      users: [...this.users],
      balances: [...this.balances],
      fees: this.fees,
      netInflow: this.netInflow,
      matching: this.matching,
      // Local: the engines' own snapshots. Remote: the counters and the commands in flight (the
      // books themselves are the open orders).
      engines: this.exchange.markets.flatMap((m) => {
        const engine = this.engines[m.id];
        return engine ? [Buffer.from(engine.snapshot()).toString("base64")] : [];
      }),
      remote: this.exchange.markets.flatMap((m) => {
        const r = this.remote[m.id];
        if (!r) return [];
        const { forwarded, matched, lastTradeId } = r;
        const pending = r.pending.map(({ seq, command, time, rename }) => [
          seq,
          time,
          ...commandSlots(command),
          ...(rename === undefined ? [] : [rename]),
        ]);
        return [{ forwarded, matched, lastTradeId, lastSeq: r.depth.lastSeq, pending }];
      }),
      halted: [...this.halted],
      withdrawals: [...this.withdrawals.values()],
      appliedTransfers: [...this.appliedTransfers],
      signatureHorizon: this.signatures.horizonTime,
      listenKeys: this.listenKeys.entries(),
      orderCounts: this.counts.entries(),
      preventedMatchIds: [...this.prevented.lastIdsByMarket()],
      nextOrderId: this.nextOrderId,
      nextOrderListId: this.nextOrderListId,
      now: this.now,
    };
    const orders: OrderRecord[] = [];
    for (const ids of this.openByUser.values()) for (const id of ids) orders.push(this.orders.get(id)!);
    for (const id of header.closed!) orders.push(this.orders.get(id)!);
    return snapshotChunks(header, {
      orders,
      lists: [...this.lists.values()],
      deposits: [...this.deposits],
      signatures: this.signatures.entries(),
      trades: Array.from(this.trades, (list) => list ?? []), // sparse: markets by id
      candles: Array.from(this.candles, (list) => list ?? []),
    });
  }

  /**
   * `retention` overrides the snapshot's (UBSCore starting with its configured one); a replica
   * passes none and keeps exactly what the primary keeps.
   */
  static restore(
    exchange: ExchangeDefinition,
    bytes: Uint8Array,
    retention?: Retention,
    matching?: MatchingMode,
  ): UbsCore {
    return UbsCore.fromState(exchange, readSnapshot(bytes), retention, matching);
  }

  private static fromState(
    exchange: ExchangeDefinition,
    state: SnapshotState,
    retention?: Retention,
    matching?: MatchingMode,
  ): UbsCore {
    const written: MatchingMode = state.matching ?? "local";
    // Local to remote is a handover like any reconnect; the way back would have to re-run the
    // commands in flight at other points than the journal ran their outcomes.
    if (written === "remote" && matching === "local") {
      fail(
        "INVALID_CONFIG",
        "this data was written with matching.kind service (the books in bourse matching); start UBSCore with that setting",
      );
    }
    const core = new UbsCore(
      exchange,
      retention ?? state.retention ?? DEFAULT_RETENTION,
      matching ?? written,
    );
    for (const id of state.users) core.users.add(id);
    for (const [id, bs] of state.balances) core.balances.set(id, bs);
    state.fees.forEach((f, i) => {
      core.fees[i] = f;
    });
    for (const o of state.orders) {
      core.orders.set(o.orderId, o);
      core.prevented.held(o);
      if (!isDone(o)) {
        core.openByClientId.set(`${o.userId}:${o.clientOrderId}`, o.orderId);
        core.openByUser.set(o.userId, (core.openByUser.get(o.userId) ?? new Set<number>()).add(o.orderId));
      }
    }
    exchange.markets.forEach((m, i) => {
      const saved = written === "local" ? state.engines[i] : state.remote[i];
      core.restoreBook(m, saved ?? fail("CORRUPT_JOURNAL", `UBSCore snapshot has no book for ${m.symbol}`));
    });
    state.trades.forEach((list, marketId) => {
      if (list) core.trades[marketId] = list;
    });
    // Versions 1 and 2 had no candles but every trade: fold the candles from the trades.
    const candles: Candle[][] | undefined = state.version >= 3 ? (state.candles ?? []) : undefined;
    for (const m of exchange.markets) {
      if (candles) core.candles[m.id] = candles[m.id] ?? [];
      else for (const t of core.trades[m.id]!) foldTrade(core.candles[m.id]!, t, t.takerSide === Side.Buy);
    }
    // Versions 1 and 2 kept everything; they did not record the closing order: oldest update first.
    core.forgotten = state.forgotten ?? { orders: 0, trades: [] };
    core.closed =
      state.closed ??
      state.orders
        .filter(isDone)
        .sort((a, b) => a.updateTime - b.updateTime || a.orderId - b.orderId)
        .map((o) => o.orderId);
    for (const id of state.halted) core.halted.add(id);
    for (const w of state.withdrawals) core.withdrawals.set(w.withdrawalId, w);
    for (const seq of state.appliedTransfers) core.appliedTransfers.add(seq);
    // Versions before 4 kept no signatures: gateways remembered them, each its own.
    core.signatures = UsedSignatures.restore(state.signatureHorizon ?? 0, state.signatures);
    // Snapshots before listen keys were journaled have none: gateways kept them, each its own.
    core.listenKeys = ListenKeys.restore(state.listenKeys ?? []);
    core.counts = OrderCounts.restore(state.orderCounts);
    core.prevented.restoreLastIds(state.preventedMatchIds);
    for (const [id, terms] of state.deposits) core.deposits.set(id, terms);
    core.nextOrderId = state.nextOrderId;
    // Versions before 5 had no order lists.
    for (const l of state.lists) core.lists.set(l.orderListId, l);
    core.nextOrderListId = state.nextOrderListId ?? 1;
    core.now = state.now;
    // Snapshots written before it was kept: their own totals are where the count starts.
    exchange.assets.forEach((a, i) => {
      core.netInflow[i] = state.netInflow?.[i] ?? core.totalOf(a.id);
    });
    return core;
  }

  /** A market's book from a snapshot: an engine's own (local) or the remote counters. */
  private restoreBook(market: Market, saved: string | RemoteBookState): void {
    if (typeof saved === "string") {
      const engine = MatchingEngine.restore(Buffer.from(saved, "base64"), {
        quotePerTickLot: Number(market.quotePerTickLot),
      });
      if (this.matching === "local") this.engines[market.id] = engine;
      else {
        // Handed over from a local book: the engine's counters, nothing in flight yet.
        const { bids, asks } = engine.depth();
        const levels = [
          ...bids.map((l) => ({ ...l, side: Side.Buy })),
          ...asks.map((l) => ({ ...l, side: Side.Sell })),
        ];
        this.remote[market.id] = {
          forwarded: 0,
          matched: 0,
          pending: [],
          lastTradeId: engine.lastTradeId,
          depth: new DepthBook(engine.lastSeq, levels),
        };
      }
      return;
    }
    const pending = (saved.pending as (number | string)[][]).map(([seq, time, ...rest]) => {
      // An amend's rename follows its command's slots (of which older snapshots have fewer).
      const rename = typeof rest.at(-1) === "string" ? (rest.pop() as string) : undefined;
      return {
        marketId: market.id,
        seq: seq as number,
        time: time as number,
        command: decodeEngineCommand(Float64Array.from(rest as number[])),
        rename,
      };
    });
    const levels = new Map<string, { side: Side; priceTicks: number; totalLots: number }>();
    for (const o of this.resting(market.id, pending)) {
      const key = `${o.side}:${o.priceTicks}`;
      const level = levels.get(key) ?? { side: o.side, priceTicks: o.priceTicks, totalLots: 0 };
      level.totalLots += o.qtyLots;
      levels.set(key, level);
    }
    const { forwarded, matched, lastTradeId, lastSeq } = saved;
    this.remote[market.id] = {
      forwarded,
      matched,
      pending,
      lastTradeId,
      depth: new DepthBook(lastSeq, levels.values()),
    };
  }

  // ---- queries ----

  transferApplied(transferSeq: number): boolean {
    return this.appliedTransfers.has(transferSeq);
  }

  withdrawal(withdrawalId: string): Withdrawal | undefined {
    return this.withdrawals.get(withdrawalId);
  }

  /** Held withdrawals of a user (their amounts are part of frozen). */
  heldWithdrawals(userId: number): Withdrawal[] {
    return [...this.withdrawals.values()].filter((w) => w.userId === userId && w.status === "HELD");
  }

  /** The order counts, for the order limits (read, and admitted against, by UBSCore's service). */
  get orderCounts(): OrderCounts {
    return this.counts;
  }

  hasUser(userId: number): boolean {
    return this.users.has(userId);
  }

  userIds(): number[] {
    return [...this.users].sort((a, b) => a - b);
  }

  /** The id the next user gets: one above the highest so far. */
  nextUserId(): number {
    let max = 0;
    for (const id of this.users) if (id > max) max = id;
    return max + 1;
  }

  balancesOf(userId: number): readonly Balance[] {
    return this.balances.get(userId) ?? fail("UNKNOWN_USER", `unknown user ${userId}`);
  }

  order(orderId: number): OrderRecord | undefined {
    return this.orders.get(orderId);
  }

  orderByClientId(userId: number, clientOrderId: string): OrderRecord | undefined {
    const open = this.openByClientId.get(`${userId}:${clientOrderId}`);
    if (open !== undefined) return this.orders.get(open);
    // Of the closed orders with this id, the oldest (the map's iteration is not in id order).
    let oldest: OrderRecord | undefined;
    for (const o of this.orders.values()) {
      if (o.userId !== userId || o.clientOrderId !== clientOrderId) continue;
      if (!oldest || o.orderId < oldest.orderId) oldest = o;
    }
    return oldest;
  }

  orderList(orderListId: number): OrderList | undefined {
    return this.lists.get(orderListId);
  }

  /** The user's order list with this client id: the open one, else the oldest kept. */
  orderListByClientId(userId: number, listClientOrderId: string): OrderList | undefined {
    let found: OrderList | undefined;
    for (const l of this.lists.values()) {
      if (l.userId !== userId || l.listClientOrderId !== listClientOrderId) continue;
      if (l.listOrderStatus === "EXECUTING") return l;
      if (!found || l.orderListId < found.orderListId) found = l;
    }
    return found;
  }

  /** The user's order lists (open ones only if `open`), by id. */
  orderLists(userId: number, open = false): OrderList[] {
    return [...this.lists.values()]
      .filter((l) => l.userId === userId && (!open || l.listOrderStatus === "EXECUTING"))
      .sort((a, b) => a.orderListId - b.orderListId);
  }

  openOrders(userId: number, marketId?: number): OrderRecord[] {
    const ids = [...(this.openByUser.get(userId) ?? [])].sort((a, b) => a - b);
    return ids
      .map((id) => this.orders.get(id)!)
      .filter((o) => marketId === undefined || o.marketId === marketId);
  }

  allOrders(userId: number, marketId: number): OrderRecord[] {
    return [...this.orders.values()]
      .filter((o) => o.userId === userId && o.marketId === marketId)
      .sort((a, b) => a.orderId - b.orderId);
  }

  /**
   * Has the core forgotten any closed order (then a user's complete order history needs the
   * history store)? Until it has, what it holds is all there is.
   */
  hasForgottenOrders(): boolean {
    return this.forgotten.orders > 0;
  }

  /** Has the core forgotten any trade of this market (see hasForgottenOrders)? */
  hasForgottenTrades(marketId: number): boolean {
    return (this.forgotten.trades[marketId] ?? 0) > 0;
  }

  /** One-minute candles of a market since its first trade, oldest first. */
  candlesOf(marketId: number): readonly Candle[] {
    return this.candles[marketId] ?? [];
  }

  tradesOf(marketId: number): readonly TradeRecord[] {
    return this.trades[marketId] ?? [];
  }

  /** The market's book as market data reads it: the engine itself, or its levels as last answered. */
  book(marketId: number): BookView {
    return (
      this.engines[marketId] ??
      this.remote[marketId]?.depth ??
      fail("UNKNOWN_MARKET", `unknown market ${marketId}`)
    );
  }

  /** The market's resting orders in priority order (bids best first, then asks). */
  restingOrders(marketId: number): BookOrder[] {
    const engine = this.engines[marketId];
    if (!engine) return this.resting(marketId).sort(byPriority);
    return engine.restingOrders().map((o) => {
      const order = this.orders.get(o.orderId)!;
      return { ...o, stp: order.stp, postOnly: order.type === OrderType.LimitMaker };
    });
  }

  isHalted(marketId: number): boolean {
    return this.halted.has(marketId);
  }

  /**
   * The money rules, each checked whole; throws an InvariantViolation at the first break:
   * - per asset, every balance (available + frozen) plus the fee account equals the net inflow;
   * - no balance is negative, and what a user has frozen in an asset is exactly what their open
   *   orders reserve in it plus their held withdrawals;
   * - every open order is indexed, and (local matching) the books hold exactly the open orders.
   * O(users x assets + open orders): for the suites and `verify` mode.
   */
  checkInvariants(): void {
    for (const a of this.exchange.assets) {
      const total = this.totalOf(a.id);
      const inflow = this.netInflow[a.id - 1]!;
      invariant(total === inflow, () => `${a.symbol}: balances and fees hold ${total}, net inflow ${inflow}`);
    }
    const reserved = new Map<number, bigint[]>();
    const reserve = (userId: number, assetId: number, amount: bigint) => {
      const r = reserved.get(userId) ?? this.exchange.assets.map(() => 0n);
      r[assetId - 1]! += amount;
      reserved.set(userId, r);
    };
    this.checkOpenOrders(reserve);
    for (const l of this.lists.values()) {
      invariant(
        l.reserved >= 0n && (l.reserved === 0n || l.listOrderStatus === "EXECUTING"),
        () => `order list ${l.orderListId}: reserves ${l.reserved} while ${l.listOrderStatus}`,
      );
      reserve(l.userId, l.reserveAsset, l.reserved);
    }
    for (const w of this.withdrawals.values())
      if (w.status === "HELD") reserve(w.userId, w.assetId, w.amount);
    for (const [userId, bs] of this.balances) {
      bs.forEach((b, i) => {
        const want = reserved.get(userId)?.[i] ?? 0n;
        invariant(b.available >= 0n, () => `user ${userId} asset ${i + 1}: available ${b.available}`);
        invariant(
          b.frozen === want,
          () => `user ${userId} asset ${i + 1}: frozen ${b.frozen}, reserved ${want}`,
        );
      });
    }
    for (const engine of this.engines) engine?.checkInvariants();
  }

  private checkOpenOrders(reserve: (userId: number, assetId: number, amount: bigint) => void): void {
    const openPerMarket: number[] = [];
    for (const [userId, ids] of this.openByUser) {
      for (const id of ids) {
        const o = this.orders.get(id);
        invariant(
          o !== undefined && !isDone(o) && o.userId === userId,
          () => `open order ${id}: missing or closed`,
        );
        invariant(o.reserved >= 0n, () => `order ${id}: reserves ${o.reserved}`);
        invariant(
          this.openByClientId.get(`${userId}:${o.clientOrderId}`) === id,
          () => `order ${id}: not indexed by its client order id`,
        );
        reserve(userId, o.reserveAsset, o.reserved);
        openPerMarket[o.marketId] = (openPerMarket[o.marketId] ?? 0) + 1;
        const engine = this.engines[o.marketId];
        invariant(
          !engine || (isWaiting(o) ? engine.isWaiting(id) : engine.isResting(id)),
          () => `open order ${id} is not in its book`,
        );
      }
    }
    this.engines.forEach((engine, marketId) => {
      const open = openPerMarket[marketId] ?? 0;
      const held = engine.restingOrderCount + engine.waitingOrderCount;
      invariant(held === open, () => `market ${marketId}: ${held} orders in the book, ${open} open`);
    });
  }

  /** Sum over users, frozen included, plus the fee account: what the tests hold constant. */
  totalOf(assetId: number): bigint {
    let total = this.fees[assetId - 1]!;
    for (const bs of this.balances.values()) total += bs[assetId - 1]!.available + bs[assetId - 1]!.frozen;
    return total;
  }

  // ---- orders ----

  private place(cmd: PlaceOrder): CommandResult {
    const market = this.openMarket(cmd);
    const key = `${cmd.userId}:${cmd.clientOrderId}`;
    if (this.openByClientId.has(key)) fail("DUPLICATE_ORDER", "Duplicate order sent.");
    checkOrderFilters(market, cmd);
    const { asset, amount, budget, engineQty } = this.reservation(market, cmd);
    const balance = this.balance(cmd.userId, asset);
    if (balance.available < amount || amount <= 0n) {
      fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
    }
    // Validated: from here on the command changes state.
    this.now = cmd.time;
    balance.available -= amount;
    balance.frozen += amount;
    const order = this.openOrderRecord(market, cmd, amount, asset);
    return this.match(market, cmd.time, {
      type: CommandType.Place,
      orderId: order.orderId,
      userId: order.userId,
      side: order.side,
      orderType: order.type,
      tif: order.tif,
      priceTicks: order.priceTicks,
      qtyLots: engineQty,
      quoteUnits: budget,
      stp: order.stp,
      ...(order.stopPriceTicks === undefined ? {} : { stopPriceTicks: order.stopPriceTicks }),
    });
  }

  /** The market a new order of a known user goes to, unless it is halted. */
  private openMarket(cmd: { readonly symbol: string; readonly userId: number }): Market {
    const market = this.market(cmd.symbol);
    this.balances.get(cmd.userId) ?? fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
    if (this.halted.has(market.id)) fail("MARKET_HALTED", `market ${market.symbol} is halted`);
    return market;
  }

  /** A new open order of `cmd` under the next order id, holding `reserved` (indexed as open). */
  private openOrderRecord(
    market: Market,
    cmd: PlaceOrder,
    reserved: bigint,
    reserveAsset: number,
    orderListId?: number,
  ): OrderRecord {
    const marketLike = triggersAs(cmd.type) === OrderType.Market;
    const order: OrderRecord = {
      orderId: this.nextOrderId++,
      userId: cmd.userId,
      marketId: market.id,
      clientOrderId: cmd.clientOrderId,
      side: cmd.side,
      type: cmd.type,
      tif: marketLike ? TimeInForce.IOC : cmd.tif,
      priceTicks: marketLike ? 0 : cmd.priceTicks,
      origQtyLots: cmd.qtyLots,
      quoteOrderUnits: cmd.quoteUnits,
      stp: cmd.stp,
      time: cmd.time,
      executedLots: 0,
      cumQuote: 0n,
      status: "NEW",
      updateTime: cmd.time,
      reserved,
      reserveAsset,
      fills: [],
      ...(isTriggered(cmd.type) ? { stopPriceTicks: cmd.stopPriceTicks } : {}),
      ...(orderListId === undefined ? {} : { orderListId }),
    };
    this.orders.set(order.orderId, order);
    this.openByClientId.set(`${cmd.userId}:${cmd.clientOrderId}`, order.orderId);
    const users = this.openByUser.get(cmd.userId) ?? new Set<number>();
    this.openByUser.set(cmd.userId, users.add(order.orderId));
    return order;
  }

  /**
   * An OCO: its two legs checked as orders of their own (filters, client ids) and against
   * Binance's OCO rules, then one reservation for both, held by the list: what the costlier leg
   * may spend (a SELL's quantity; a BUY's notional at the higher leg's need).
   */
  private placeOco(cmd: PlaceOco): CommandResult {
    const market = this.openMarket(cmd);
    const legs = ocoLegs(cmd);
    const ids = legs.map((leg) => leg.clientOrderId);
    if (ids[0] === ids[1] || ids.some((id) => this.openByClientId.has(`${cmd.userId}:${id}`)))
      fail("DUPLICATE_ORDER", "Duplicate order sent.");
    for (const list of this.lists.values())
      if (
        list.userId === cmd.userId &&
        list.listClientOrderId === cmd.listClientOrderId &&
        list.listOrderStatus === "EXECUTING"
      )
        fail("DUPLICATE_ORDER", "Order list's listClientOrderId is already in use.");
    for (const leg of legs) checkOrderFilters(market, leg);
    checkOcoPrices(cmd, this.trades[market.id]!.at(-1)?.priceTicks ?? 0);
    const needs = legs.map((leg) => this.reservation(market, leg));
    const amount = max(needs[0]!.amount, needs[1]!.amount);
    const asset = needs[0]!.asset;
    const balance = this.balance(cmd.userId, asset);
    if (balance.available < amount || amount <= 0n)
      fail("INSUFFICIENT_BALANCE", "Account has insufficient balance for requested action.");
    // Validated: from here on the command changes state.
    this.now = cmd.time;
    balance.available -= amount;
    balance.frozen += amount;
    const list: OrderList = {
      orderListId: this.nextOrderListId++,
      userId: cmd.userId,
      marketId: market.id,
      listClientOrderId: cmd.listClientOrderId,
      contingencyType: "OCO",
      orderIds: [this.nextOrderId, this.nextOrderId + 1],
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      transactionTime: cmd.time,
      updateTime: cmd.time,
      reserved: amount,
      reserveAsset: asset,
    };
    this.lists.set(list.orderListId, list);
    // The legs reserve nothing of their own while the list holds the one reservation.
    const [first, second] = legs.map((leg) => this.openOrderRecord(market, leg, 0n, asset, list.orderListId));
    const engineLeg = (o: OrderRecord) => ({
      orderType: o.type,
      tif: o.tif,
      priceTicks: o.priceTicks,
      stopPriceTicks: o.stopPriceTicks ?? 0,
    });
    const marketBuy = legs.some((leg) => triggersAs(leg.type) === OrderType.Market) && cmd.side === Side.Buy;
    return this.match(market, cmd.time, {
      type: CommandType.PlaceOco,
      orderId: first!.orderId,
      userId: cmd.userId,
      side: cmd.side,
      qtyLots: cmd.qtyLots,
      quoteUnits: marketBuy ? Number(min(amount, MAX_SAFE)) : 0,
      stp: cmd.stp,
      legs: [engineLeg(first!), engineLeg(second!)],
    });
  }

  private cancel(
    userId: number,
    symbol: string,
    time: number,
    orderId?: number,
    clientOrderId?: string,
  ): CommandResult {
    const market = this.market(symbol);
    const order = this.openOrder(userId, market, orderId, clientOrderId);
    this.now = time;
    return this.match(market, time, { type: CommandType.Cancel, orderId: order.orderId, userId });
  }

  /** The user's open order in the market named by its id or, failing that, its client order id. */
  private openOrder(userId: number, market: Market, orderId?: number, clientOrderId?: string): OrderRecord {
    const order =
      orderId !== undefined
        ? this.orders.get(orderId)
        : clientOrderId !== undefined
          ? this.orderByClientId(userId, clientOrderId)
          : fail(
              "INVALID_ARGUMENT",
              "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            );
    if (!order || order.userId !== userId || order.marketId !== market.id || isDone(order)) {
      fail("UNKNOWN_ORDER", "Unknown order sent.");
    }
    return order;
  }

  /**
   * Binance's amend keep priority: the open order asks for `newQtyLots` in all (below what it
   * asked, above what it has executed) where it stands in its queue, and takes its new client
   * order id. The book is told how many lots to take off (a Reduce), which means the same
   * whatever fills come first; the money it no longer needs is released when the book has done it.
   */
  private amend(cmd: AmendOrder): CommandResult {
    const market = this.market(cmd.symbol);
    const order = this.openOrder(cmd.userId, market, cmd.orderId, cmd.clientOrderId);
    if (isWaiting(order))
      fail("AMEND_REJECTED", "Order amend is not supported for an order waiting for its stop price.");
    if (order.orderListId !== undefined)
      fail("AMEND_REJECTED", "Order amend is not supported for an order of an order list.");
    const qty = cmd.newQtyLots;
    if (!Number.isSafeInteger(qty) || qty <= 0) fail("INVALID_ARGUMENT", "newQty must be greater than 0.");
    if (qty === order.origQtyLots)
      fail("AMEND_REJECTED", "The requested action would change no state; rejecting");
    if (qty > order.origQtyLots) fail("AMEND_REJECTED", "Order amend (quantity increase) is not supported.");
    if (qty <= order.executedLots)
      fail("AMEND_REJECTED", "Order amend would leave nothing to execute: newQty must exceed executedQty.");
    if (qty < market.minQtyLots) fail("OUT_OF_RANGE", "Filter failure: LOT_SIZE");
    const renamed = this.openByClientId.get(`${cmd.userId}:${cmd.newClientOrderId}`);
    if (renamed !== undefined && renamed !== order.orderId) fail("AMEND_REJECTED", "Duplicate order sent.");
    // Two reduces in flight would each be computed from the same quantity: one at a time.
    const pending = this.remote[market.id]?.pending ?? [];
    if (pending.some((f) => f.command.type === CommandType.Reduce && f.command.orderId === order.orderId))
      fail("AMEND_REJECTED", "An amend of this order is still being processed.");
    this.now = cmd.time;
    const reduce: Command = {
      type: CommandType.Reduce,
      orderId: order.orderId,
      userId: cmd.userId,
      qtyLots: order.origQtyLots - qty,
    };
    return this.match(market, cmd.time, reduce, cmd.newClientOrderId);
  }

  private cancelAll(userId: number, symbol: string, time: number): CommandResult {
    const market = this.market(symbol);
    if (this.openOrders(userId, market.id).length === 0) fail("UNKNOWN_ORDER", "Unknown order sent.");
    this.now = time;
    return this.match(market, time, { type: CommandType.CancelAll, userId });
  }

  /**
   * Runs an admitted order command on the market's book: here (local), or by forwarding it to
   * the matching service, whose outcome comes back as a `matched` command (remote).
   */
  private match(market: Market, time: number, command: Command, rename?: string): CommandResult {
    const remote = this.remote[market.id];
    if (!remote) {
      const engine = this.engines[market.id]!;
      engine.events.clear();
      engine.execute(command);
      const events = engine.events.decode();
      engine.events.clear();
      return this.matchedResult(market, command, events, rename);
    }
    const forwarded: Forwarded = { marketId: market.id, seq: ++remote.forwarded, command, time, rename };
    remote.pending.push(forwarded);
    const order = "orderId" in command ? this.orders.get(command.orderId) : undefined;
    return { order, events: NO_EVENTS, marketId: market.id, forwarded };
  }

  /**
   * Applies the matching service's answer to the market's oldest forwarded command. An answer to
   * a sequence already applied changes nothing (the service answers again after a reconnect).
   */
  private applyOutcome(marketId: number, seq: number, bytes: Uint8Array): CommandResult {
    const market = this.exchange.marketById(marketId) ?? fail("UNKNOWN_MARKET", `unknown market ${marketId}`);
    const remote =
      this.remote[marketId] ??
      fail(
        "INTERNAL",
        "an outcome from a matching service, but UBSCore runs with matching.kind local: this data was written with matching.kind service",
      );
    if (seq <= remote.matched) return { events: NO_EVENTS, repeated: true, marketId };
    const next = remote.pending[0];
    // Refused before any change, like any rejected command (replay skips it the same way).
    if (next?.seq !== seq) fail("CONFLICT", `market ${marketId}: outcome ${seq} answers no waiting command`);
    if (bytes.length % (EVENT_STRIDE * 8) !== 0)
      fail("CONFLICT", `market ${marketId}: outcome ${seq} is malformed`);
    const events = decodeEventBytes(bytes);
    this.checkOutcome(marketId, events);
    remote.pending.shift();
    remote.matched = seq;
    remote.depth.apply(events);
    for (const e of events) if (e.type === EventType.Trade) remote.lastTradeId = e.tradeId;
    this.now = next.time;
    return this.matchedResult(market, next.command, events, next.rename);
  }

  /**
   * Refuses, before any change, an outcome that names an order not open in its market: it cannot
   * be the engine's answer (a matching service with other books, or not ours).
   */
  private checkOutcome(marketId: number, events: readonly MatchingEvent[]): void {
    for (const e of events) {
      const ids =
        e.type === EventType.Trade
          ? [e.takerOrderId, e.makerOrderId]
          : e.type === EventType.Cancelled ||
              e.type === EventType.Expired ||
              e.type === EventType.Amended ||
              e.type === EventType.Triggered
            ? [e.orderId]
            : [];
      for (const id of ids) {
        const o = this.orders.get(id);
        if (!o || o.marketId !== marketId || isDone(o)) {
          fail("CONFLICT", `an outcome names order ${id}, which is not open in market ${marketId}`);
        }
      }
    }
  }

  /** Applies a command's events and says what it did to the orders it names. */
  private matchedResult(
    market: Market,
    command: Command,
    events: MatchingEvent[],
    rename?: string,
  ): CommandResult {
    const placed = command.type === CommandType.Place || command.type === CommandType.PlaceOco;
    // Orders a place sets off enter the book right after it (only a place trades, so sets off).
    this.applyEvents(market, events, placed, placed ? command.orderId : this.nextOrderId - 1);
    const marketId = market.id;
    switch (command.type) {
      case CommandType.Place: {
        const order = this.orders.get(command.orderId)!;
        // Market orders never rest: whatever their events said, they are done after their command.
        if (order.type === OrderType.Market && !isDone(order)) {
          this.finish(order, order.executedLots > 0 ? "FILLED" : "EXPIRED");
        }
        return { order, events, marketId };
      }
      case CommandType.Cancel: {
        const order = this.orders.get(command.orderId);
        // The order traded away (or was cancelled) while the cancel was on its way.
        const refused = events.some((e) => e.type === EventType.Rejected);
        return { order, events, marketId, error: refused ? unknownOrder() : undefined };
      }
      case CommandType.Reduce:
        return this.reduced(this.orders.get(command.orderId)!, events, marketId, rename);
      case CommandType.PlaceOco: {
        const orders = [command.orderId, command.orderId + 1].map((id) => this.orders.get(id)!);
        const orderList = this.lists.get(orders[0]!.orderListId!);
        return { order: orders[0], orders, orderList, events, marketId };
      }
      default: {
        const orders = events.flatMap((e) =>
          e.type === EventType.Cancelled ? [this.orders.get(e.orderId)!] : [],
        );
        return { orders, events, marketId, error: orders.length === 0 ? unknownOrder() : undefined };
      }
    }
  }

  /**
   * An amend's outcome: done (the order takes its new client order id, unless another open
   * order took that id while the amend was with the matching service), or refused by the book
   * (the order traded away, or down to what the amend would leave, meanwhile).
   */
  private reduced(
    order: OrderRecord,
    events: MatchingEvent[],
    marketId: number,
    rename: string | undefined,
  ): CommandResult {
    const refusal = events.find((e) => e.type === EventType.Rejected);
    if (refusal) {
      const error =
        refusal.reason === RejectReason.ReduceToNothing
          ? new BourseError("AMEND_REJECTED", "Order amend would leave nothing to execute.")
          : unknownOrder();
      return { order, events, marketId, error };
    }
    const key = (id: string) => `${order.userId}:${id}`;
    if (rename !== undefined && !this.openByClientId.has(key(rename))) {
      this.openByClientId.delete(key(order.clientOrderId));
      this.openByClientId.set(key(rename), order.orderId);
      order.clientOrderId = rename;
      order.amendments!.at(-1)!.newClientOrderId = rename;
    }
    return { order, events, marketId };
  }

  /**
   * What a matching service needs to take over the books: each market's book as the last
   * applied outcome left it (the open orders that rest, each level in order id order: amends
   * only keep an order's place, so that is time priority), and every command forwarded since.
   */
  matchingHandover(): { books: HandoverBook[]; pending: Forwarded[] } {
    const books = this.exchange.markets.map((m) => {
      const remote = this.remoteMarket(m.id);
      const snapshot = MatchingEngine.snapshotOf(
        remote.depth.lastSeq,
        remote.lastTradeId,
        this.resting(m.id),
        this.waiting(m.id),
        this.trades[m.id]!.at(-1)?.priceTicks ?? 0,
        this.ocoPairs(m.id),
      );
      return {
        marketId: m.id,
        matched: remote.matched,
        quotePerTickLot: Number(m.quotePerTickLot),
        snapshot,
      };
    });
    return { books, pending: this.exchange.markets.flatMap((m) => this.remoteMarket(m.id).pending) };
  }

  /**
   * The market's OCOs as its book links them: both legs open and placed (their command has its
   * outcome; the legs of one still in flight go with it).
   */
  private ocoPairs(marketId: number): [number, number][] {
    const unmatched = new Set(this.remoteMarket(marketId).pending.flatMap((p) => placedIds(p.command)));
    const pairs: [number, number][] = [];
    for (const l of this.lists.values()) {
      if (l.marketId !== marketId || l.listOrderStatus !== "EXECUTING") continue;
      const [a, b] = l.orderIds as [number, number];
      const open = [a, b].every((id) => !isDone(this.orders.get(id)!) && !unmatched.has(id));
      if (open) pairs.push([a, b]);
    }
    return pairs.sort((x, y) => x[0] - y[0]);
  }

  /** The market's open orders that are in its book (their place command has its outcome). */
  private resting(marketId: number, pending = this.remote[marketId]?.pending ?? []): BookOrder[] {
    const unmatched = new Set<number>();
    for (const p of pending) for (const id of placedIds(p.command)) unmatched.add(id);
    const inBook: OrderRecord[] = [];
    for (const ids of this.openByUser.values()) {
      for (const id of ids) {
        const o = this.orders.get(id)!;
        if (o.marketId !== marketId || unmatched.has(id) || isWaiting(o)) continue;
        inBook.push(o);
      }
    }
    // In the order they entered the book: the order id, but a triggered order when it fired.
    return inBook.sort(byEntry).map(
      (o): BookOrder => ({
        orderId: o.orderId,
        userId: o.userId,
        side: o.side,
        priceTicks: o.priceTicks,
        qtyLots: o.origQtyLots - o.executedLots,
        stp: o.stp,
        postOnly: o.type === OrderType.LimitMaker,
      }),
    );
  }

  /**
   * The market's triggered orders waiting for their stop price (their place command has its
   * outcome), as the engine holds them: a market-like buy with the budget its reservation is.
   */
  private waiting(marketId: number): StopOrder[] {
    const unmatched = new Set(this.remoteMarket(marketId).pending.flatMap((p) => placedIds(p.command)));
    const out: StopOrder[] = [];
    for (const ids of this.openByUser.values()) {
      for (const id of ids) {
        const o = this.orders.get(id)!;
        if (o.marketId !== marketId || unmatched.has(id) || !isWaiting(o)) continue;
        const budget = triggersAs(o.type) === OrderType.Market && o.side === Side.Buy;
        out.push({
          orderId: o.orderId,
          userId: o.userId,
          side: o.side,
          orderType: o.type,
          tif: o.tif,
          priceTicks: o.priceTicks,
          qtyLots: o.origQtyLots,
          quoteUnits: budget ? Number(min(o.reserved, MAX_SAFE)) : 0,
          stp: o.stp,
          stopPriceTicks: o.stopPriceTicks!,
        });
      }
    }
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  /** How many forwarded commands wait for their outcome, over all markets (0 with local books). */
  forwardedWaiting(): number {
    let waiting = 0;
    for (const remote of this.remote) waiting += remote?.pending.length ?? 0;
    return waiting;
  }

  private remoteMarket(marketId: number): RemoteMarket {
    return this.remote[marketId] ?? fail("INTERNAL", "UBSCore runs the books itself (matching.kind local)");
  }

  /**
   * What the order freezes (asset id and amount), and the quantity and quote budget handed to
   * the engine, chosen so that a market order can never spend or sell more than was frozen.
   */
  private reservation(
    market: Market,
    cmd: PlaceOrder,
  ): { asset: number; amount: bigint; budget: number; engineQty: number } {
    // Fees come out of what each side receives (tradeAmounts): a buy freezes exactly what it may
    // spend, a sell exactly what it may sell.
    const quote = market.quote.id;
    const base = market.base.id;
    if (cmd.side === Side.Buy) {
      // A triggered order freezes what the order it runs as would, from the moment it is accepted.
      if (triggersAs(cmd.type) !== OrderType.Market) {
        const n = notional(market, cmd.priceTicks, cmd.qtyLots);
        return { asset: quote, amount: n, budget: 0, engineQty: cmd.qtyLots };
      }
      // By quote amount (quoteOrderQty): spend up to that amount. By quantity: the worst case is
      // every lot at the market's maximum price; freeze what is available up to that, and let the
      // budget stop the order where the money ends.
      const available = this.balance(cmd.userId, quote).available;
      const amount =
        cmd.quoteUnits > 0n
          ? cmd.quoteUnits
          : min(notional(market, market.maxPriceTicks, cmd.qtyLots), available);
      return { asset: quote, amount, budget: Number(min(amount, MAX_SAFE)), engineQty: cmd.qtyLots };
    }
    if (cmd.qtyLots > 0) {
      return { asset: base, amount: lotsToBaseUnits(market, cmd.qtyLots), budget: 0, engineQty: cmd.qtyLots };
    }
    // SELL MARKET by quote amount: sell at most what is available, until the amount is received.
    const lots = this.balance(cmd.userId, base).available / market.lotUnits;
    if (lots > MAX_SAFE) fail("OUT_OF_RANGE", "balance too large for one order");
    return { asset: base, amount: lots * market.lotUnits, budget: quoteBudget(cmd), engineQty: Number(lots) };
  }

  // ---- events from matching ----

  /** `placed`: the events answer a place (a Rejected then refuses that order, not a cancel). */
  private applyEvents(
    market: Market,
    events: readonly MatchingEvent[],
    placed: boolean,
    firedBy: number,
  ): void {
    // The order taking liquidity: the command's, then each triggered order as it fires.
    let taker = placed ? this.orders.get(firedBy) : undefined;
    for (const e of events) {
      switch (e.type) {
        case EventType.Trade:
          this.applyTrade(market, e);
          break;
        case EventType.Cancelled:
          this.finish(this.orders.get(e.orderId)!, "CANCELED");
          break;
        case EventType.Amended:
          this.applyAmended(market, e);
          break;
        case EventType.Triggered: {
          const o = this.orders.get(e.orderId)!;
          o.workingTime = this.now;
          o.enteredBook = { afterOrderId: firedBy, seq: e.seq };
          taker = o;
          break;
        }
        case EventType.Expired: {
          const o = this.orders.get(e.orderId)!;
          if (e.reason === ExpireReason.SelfTrade) {
            if (taker) this.recordPrevention(market, taker, o, e.remainingLots);
            this.finish(o, "EXPIRED_IN_MATCH");
          } else if (o.type === OrderType.Market && o.origQtyLots === 0 && o.executedLots > 0)
            this.finish(o, "FILLED");
          else this.finish(o, "EXPIRED");
          break;
        }
        case EventType.Rejected: {
          const o = placed ? this.orders.get(e.orderId) : undefined;
          if (o && !isDone(o)) this.finish(o, "REJECTED");
          break;
        }
        default:
          break;
      }
    }
  }

  private applyTrade(market: Market, e: TradeEvent): void {
    const taker = this.orders.get(e.takerOrderId)!;
    const maker = this.orders.get(e.makerOrderId)!;
    const [buyer, seller] = e.takerSide === Side.Buy ? [taker, maker] : [maker, taker];
    const { baseUnits, quoteUnits, buyerFee, sellerFee } = tradeAmounts(
      market,
      e.priceTicks,
      e.qtyLots,
      e.takerSide === Side.Buy,
    );
    this.consume(buyer, quoteUnits);
    this.balance(buyer.userId, market.base.id).available += baseUnits - buyerFee;
    this.consume(seller, baseUnits);
    this.balance(seller.userId, market.quote.id).available += quoteUnits - sellerFee;
    this.fees[market.base.id - 1]! += buyerFee;
    this.fees[market.quote.id - 1]! += sellerFee;
    const trade: TradeRecord = {
      tradeId: e.tradeId,
      marketId: market.id,
      priceTicks: e.priceTicks,
      qtyLots: e.qtyLots,
      quoteUnits,
      time: this.now,
      buyerOrderId: buyer.orderId,
      sellerOrderId: seller.orderId,
      buyerUserId: buyer.userId,
      sellerUserId: seller.userId,
      takerSide: e.takerSide,
      buyerFee,
      sellerFee,
    };
    this.trades[market.id]!.push(trade);
    foldTrade(this.candles[market.id]!, trade, e.takerSide === Side.Buy);
    for (const [o, remaining, fee] of [
      [taker, e.takerRemainingLots, taker === buyer ? buyerFee : sellerFee],
      [maker, e.makerRemainingLots, maker === buyer ? buyerFee : sellerFee],
    ] as const) {
      o.executedLots += e.qtyLots;
      o.cumQuote += quoteUnits;
      o.updateTime = this.now;
      o.fills.push({
        tradeId: e.tradeId,
        priceTicks: e.priceTicks,
        qtyLots: e.qtyLots,
        quoteUnits,
        fee,
        isMaker: o === maker,
      });
      if (o.origQtyLots > 0 && remaining === 0) this.finish(o, "FILLED");
      else o.status = "PARTIALLY_FILLED";
    }
  }

  /**
   * A self-trade prevention: `expired` (with `remainingLots` left) is the maker the taker's mode
   * expired (EXPIRE_MAKER, EXPIRE_BOTH: one record, at the maker), or the taker itself (EXPIRE_TAKER),
   * which the book expired at the first order of its own user in priority: that maker, still open.
   */
  private recordPrevention(
    market: Market,
    taker: OrderRecord,
    expired: OrderRecord,
    remainingLots: number,
  ): void {
    if (expired !== taker) {
      this.prevented.record(taker, expired, remainingLots, this.now);
      return;
    }
    if (taker.stp !== SelfTradePrevention.ExpireTaker) return;
    const maker = this.ownBestOpposite(market, taker);
    if (!maker) fail("INTERNAL", `order ${taker.orderId} expired by STP with no order of its user to meet`);
    this.prevented.record(taker, maker, maker.origQtyLots - maker.executedLots, this.now);
  }

  /** The resting order of `taker`'s user that it meets first: the best price it crosses, then the oldest. */
  private ownBestOpposite(market: Market, taker: OrderRecord): OrderRecord | undefined {
    const marketLike = triggersAs(taker.type) === OrderType.Market;
    const crosses = (o: BookOrder) =>
      marketLike ||
      (taker.side === Side.Buy ? o.priceTicks <= taker.priceTicks : o.priceTicks >= taker.priceTicks);
    const mine = this.resting(market.id).filter(
      (o) => o.userId === taker.userId && o.side !== taker.side && o.orderId !== taker.orderId && crosses(o),
    );
    const first = mine.sort(byPriority)[0];
    return first && this.orders.get(first.orderId);
  }

  /**
   * The book lowered a resting order to `qtyLots` still to fill: it now asks for its fills plus
   * that, and keeps frozen exactly what that needs at its price (all it froze beyond, price
   * improvement of earlier fills included, is released).
   */
  private applyAmended(market: Market, e: AmendedEvent): void {
    const o = this.orders.get(e.orderId)!;
    const need =
      o.side === Side.Buy ? notional(market, o.priceTicks, e.qtyLots) : lotsToBaseUnits(market, e.qtyLots);
    if (need > o.reserved) fail("INTERNAL", `order ${o.orderId} would need ${need} but has ${o.reserved}`);
    const b = this.balance(o.userId, o.reserveAsset);
    b.frozen -= o.reserved - need;
    b.available += o.reserved - need;
    o.reserved = need;
    const amendment = {
      executionId: e.seq,
      origClientOrderId: o.clientOrderId,
      newClientOrderId: o.clientOrderId, // renamed once the command's outcome is taken (reduced)
      origQtyLots: o.origQtyLots,
      newQtyLots: o.executedLots + e.qtyLots,
      time: this.now,
    };
    if (o.amendments) o.amendments.push(amendment);
    else o.amendments = [amendment];
    o.origQtyLots = amendment.newQtyLots;
    o.updateTime = this.now;
  }

  /** Takes a filled amount out of what the order froze. */
  private consume(order: OrderRecord, amount: bigint): void {
    // An order list's leg spends the list's reservation while the list holds it.
    const holder = this.listHolding(order) ?? order;
    if (amount > holder.reserved) {
      fail("INTERNAL", `order ${order.orderId} would spend ${amount} but has ${holder.reserved} reserved`);
    }
    holder.reserved -= amount;
    this.balance(order.userId, order.reserveAsset).frozen -= amount;
  }

  /** Drops a closed order, its list, and the index of the prevented matches it took part in as taker. */
  private forgetOrder(orderId: number): void {
    const o = this.orders.get(orderId);
    if (o) this.prevented.forgotten(o);
    // A list is forgotten with its first leg.
    if (o?.orderListId !== undefined) this.lists.delete(o.orderListId);
    this.orders.delete(orderId);
  }

  /** A prevented match of `marketId` by its id, while UBSCore holds its taker order. */
  preventedMatch(marketId: number, preventedMatchId: number): PreventedMatch | undefined {
    const takerOrderId = this.prevented.takerOf(marketId, preventedMatchId);
    const taker = takerOrderId === undefined ? undefined : this.orders.get(takerOrderId);
    return taker?.preventedMatches?.find((p) => p.preventedMatchId === preventedMatchId);
  }

  /** The order's list while it holds the legs' one reservation (both legs open). */
  private listHolding(order: OrderRecord): OrderList | undefined {
    if (order.orderListId === undefined) return undefined;
    const list = this.lists.get(order.orderListId);
    return list && list.listOrderStatus === "EXECUTING" && list.reserved > 0n ? list : undefined;
  }

  /**
   * A leg of `list` is done, so the list is (Binance: ALL_DONE once one leg fills, triggers or
   * ends, the other expiring). The other leg, if still open, takes over the reservation, less
   * what it no longer needs (a limit BUY: its remaining quantity at its price; a running market
   * buy keeps its whole budget); else what is left is released.
   */
  private legDone(list: OrderList, status: OrderRecord["status"]): void {
    list.updateTime = this.now;
    const open = list.orderIds.map((id) => this.orders.get(id)!).filter((o) => !isDone(o));
    const b = this.balance(list.userId, list.reserveAsset);
    if (open.length === 1 && list.reserved > 0n) {
      const o = open[0]!;
      const market = this.exchange.marketById(o.marketId)!;
      const left = o.origQtyLots - o.executedLots;
      const need =
        o.side === Side.Sell
          ? lotsToBaseUnits(market, left)
          : triggersAs(o.type) === OrderType.Market
            ? list.reserved
            : notional(market, o.priceTicks, left);
      const keep = min(need, list.reserved);
      b.frozen -= list.reserved - keep;
      b.available += list.reserved - keep;
      o.reserved = keep;
      list.reserved = 0n;
    }
    b.frozen -= list.reserved;
    b.available += list.reserved;
    list.reserved = 0n;
    list.listStatusType = "ALL_DONE";
    list.listOrderStatus = status === "REJECTED" ? "REJECT" : "ALL_DONE";
  }

  /** Drops the closed orders and trades beyond retention, oldest first. */
  private forgetOldHistory(): void {
    const excess = this.closed.length - this.closedHead - this.retention.closedOrders;
    for (let i = 0; i < excess; i++) this.forgetOrder(this.closed[this.closedHead++]!);
    if (excess > 0) this.forgotten.orders += excess;
    if (this.closedHead > 65_536 && this.closedHead * 2 > this.closed.length) {
      this.closed = this.closed.slice(this.closedHead);
      this.closedHead = 0;
    }
    // Trimmed in steps of a whole retention, so the copy is paid once per that many trades.
    this.trades.forEach((list, marketId) => {
      if (list.length < 2 * this.retention.tradesPerMarket) return;
      const drop = list.length - this.retention.tradesPerMarket;
      list.splice(0, drop);
      this.forgotten.trades[marketId] = (this.forgotten.trades[marketId] ?? 0) + drop;
    });
  }

  /** The order is done: release what it no longer needs and forget its client id. */
  private finish(order: OrderRecord, status: OrderRecord["status"]): void {
    if (!isDone(order)) this.closed.push(order.orderId);
    order.status = status;
    order.updateTime = this.now;
    const b = this.balance(order.userId, order.reserveAsset);
    b.frozen -= order.reserved;
    b.available += order.reserved;
    order.reserved = 0n;
    this.openByClientId.delete(`${order.userId}:${order.clientOrderId}`);
    this.openByUser.get(order.userId)?.delete(order.orderId);
    const list = order.orderListId === undefined ? undefined : this.lists.get(order.orderListId);
    if (list && list.listOrderStatus === "EXECUTING") this.legDone(list, status);
  }

  // ---- lookups ----

  private market(symbol: string): Market {
    return this.exchange.market(symbol) ?? fail("UNKNOWN_MARKET", "Invalid symbol.");
  }

  private assetId(symbol: string): number {
    return (this.exchange.asset(symbol) ?? fail("UNKNOWN_ASSET", `unknown asset ${symbol}`)).id;
  }

  private balance(userId: number, assetId: number): Balance {
    const bs = this.balances.get(userId) ?? fail("UNKNOWN_USER", `unknown user ${userId}`);
    return bs[assetId - 1]!;
  }
}

function commandSlots(command: Command): number[] {
  const slots = new Float64Array(COMMAND_STRIDE);
  encodeEngineCommand(command, slots);
  return Array.from(slots);
}

/**
 * Applies one journaled command on replay (a restart, a snapshot worker): a command that was
 * rejected the first time is rejected again, which changes nothing; only a bug (INTERNAL) or a
 * non-Bourse error stops the replay.
 */
export function applyJournaled(core: UbsCore, cmd: UbsCommand): CommandResult | undefined {
  try {
    return core.apply(cmd);
  } catch (e) {
    if (!isBourseError(e) || e.code === "INTERNAL") throw e;
    return undefined;
  }
}

function newEngine(market: Market): MatchingEngine {
  return new MatchingEngine({ quotePerTickLot: Number(market.quotePerTickLot) });
}

function unknownOrder(): BourseError {
  return new BourseError("UNKNOWN_ORDER", "Unknown order sent.");
}

/** Bids before asks, each best price first, then time (order id) at a price. */
function byPriority(a: BookOrder, b: BookOrder): number {
  if (a.side !== b.side) return a.side === Side.Buy ? -1 : 1;
  if (a.priceTicks !== b.priceTicks)
    return a.side === Side.Buy ? b.priceTicks - a.priceTicks : a.priceTicks - b.priceTicks;
  // Equal prices: as they entered the book (resting() gives that order; the sort is stable).
  return 0;
}

/** The order orders entered the book in (see OrderRecord.enteredBook). */
function byEntry(a: OrderRecord, b: OrderRecord): number {
  const [ka, kb] = [a.enteredBook?.afterOrderId ?? a.orderId, b.enteredBook?.afterOrderId ?? b.orderId];
  if (ka !== kb) return ka - kb;
  return (a.enteredBook?.seq ?? 0) - (b.enteredBook?.seq ?? 0);
}

/** A triggered order whose stop price has not been reached: open, but not in the book. */
function isWaiting(o: OrderRecord): boolean {
  return o.stopPriceTicks !== undefined && o.workingTime === undefined;
}

function isDone(o: OrderRecord): boolean {
  return o.status !== "NEW" && o.status !== "PARTIALLY_FILLED";
}

function positiveAmount(amount: bigint): void {
  if (typeof amount !== "bigint" || amount <= 0n)
    fail("INVALID_ARGUMENT", "amount must be a positive integer");
}

function quoteBudget(cmd: PlaceOrder): number {
  if (cmd.quoteUnits > MAX_SAFE) fail("OUT_OF_RANGE", "quoteOrderQty is too large");
  return Number(cmd.quoteUnits);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A triggered order's stop price, in the price filter's range; no other order has one. */
function checkStopPrice(market: Market, cmd: PlaceOrder): void {
  if (!isTriggered(cmd.type)) {
    if (cmd.stopPriceTicks !== undefined && cmd.stopPriceTicks !== 0)
      fail("INVALID_ARGUMENT", "Only triggered orders take a stopPrice.");
    return;
  }
  const stop = cmd.stopPriceTicks;
  if (
    stop === undefined ||
    !Number.isSafeInteger(stop) ||
    stop < market.minPriceTicks ||
    stop > market.maxPriceTicks
  )
    fail("OUT_OF_RANGE", "Filter failure: PRICE_FILTER");
  if (cmd.quoteUnits !== 0n) fail("INVALID_ARGUMENT", "quoteOrderQty is for MARKET orders only.");
  if (cmd.type > OrderType.TakeProfitLimit) fail("INVALID_ARGUMENT", "Unknown order type.");
}

/**
 * Binance filters that need no state: price and quantity ranges, notional. Pure: also what
 * `order/test` checks without placing anything.
 */
export function checkOrderFilters(market: Market, cmd: PlaceOrder): void {
  const isMarket = triggersAs(cmd.type) === OrderType.Market;
  checkStopPrice(market, cmd);
  if (!isMarket) {
    if (
      !Number.isSafeInteger(cmd.priceTicks) ||
      cmd.priceTicks < market.minPriceTicks ||
      cmd.priceTicks > market.maxPriceTicks
    ) {
      fail("OUT_OF_RANGE", "Filter failure: PRICE_FILTER");
    }
    if (cmd.type === OrderType.LimitMaker && cmd.tif !== TimeInForce.GTC)
      fail("INVALID_ARGUMENT", "LIMIT_MAKER orders are GTC");
  }
  if (cmd.qtyLots !== 0 || !isMarket) {
    if (
      !Number.isSafeInteger(cmd.qtyLots) ||
      cmd.qtyLots < market.minQtyLots ||
      cmd.qtyLots > market.maxQtyLots
    ) {
      fail("OUT_OF_RANGE", "Filter failure: LOT_SIZE");
    }
  }
  if (isMarket && (cmd.qtyLots === 0) === (cmd.quoteUnits === 0n)) {
    fail("INVALID_ARGUMENT", "A MARKET order takes either quantity or quoteOrderQty.");
  }
  if (!isMarket && cmd.quoteUnits !== 0n)
    fail("INVALID_ARGUMENT", "quoteOrderQty is for MARKET orders only.");
  const orderNotional = isMarket ? cmd.quoteUnits : notional(market, cmd.priceTicks, cmd.qtyLots);
  if ((!isMarket || cmd.quoteUnits > 0n) && orderNotional < market.minNotional) {
    fail("BELOW_MIN_NOTIONAL", "Filter failure: NOTIONAL");
  }
}

/** The order ids a forwarded command places (whose book entries wait for its outcome). */
function placedIds(command: Command): number[] {
  if (command.type === CommandType.Place) return [command.orderId];
  if (command.type === CommandType.PlaceOco) return [command.orderId, command.orderId + 1];
  return [];
}

/** An OCO's legs as the orders they are (below first: it gets the lower order id). */
function ocoLegs(cmd: PlaceOco): (PlaceOrder & { readonly stopPriceTicks: number })[] {
  const leg = (at: "below" | "above") => ({
    kind: "place" as const,
    userId: cmd.userId,
    symbol: cmd.symbol,
    clientOrderId: cmd[`${at}ClientOrderId`],
    side: cmd.side,
    type: cmd[`${at}Type`],
    tif: cmd[`${at}Tif`],
    priceTicks: cmd[`${at}PriceTicks`],
    qtyLots: cmd.qtyLots,
    quoteUnits: 0n,
    stp: cmd.stp,
    time: cmd.time,
    stopPriceTicks: cmd[`${at}StopPriceTicks`],
  });
  return [leg("below"), leg("above")];
}

const TAKE_PROFIT_LIKE = new Set([OrderType.LimitMaker, OrderType.TakeProfit, OrderType.TakeProfitLimit]);
const STOP_LOSS_LIKE = new Set([OrderType.StopLoss, OrderType.StopLossLimit]);

/**
 * Binance's OCO rules: one leg LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT, the other
 * STOP_LOSS or STOP_LOSS_LIMIT, on the side where each belongs (a SELL takes profit above the
 * market and stops its loss below; a BUY the other way round), their prices on either side of
 * the last trade: for a SELL, above leg's price (its stop price for a TAKE_PROFIT) > last price >
 * below leg's stop price; for a BUY, below leg's price (stop price) < last price < above leg's
 * stop price. Before the first trade, the legs' prices only need to be in that order.
 */
export function checkOcoPrices(cmd: PlaceOco, lastPrice: number): void {
  const [profit, loss] =
    cmd.side === Side.Sell ? (["above", "below"] as const) : (["below", "above"] as const);
  const profitType = cmd[`${profit}Type`];
  if (!TAKE_PROFIT_LIKE.has(profitType) || !STOP_LOSS_LIKE.has(cmd[`${loss}Type`]))
    fail(
      "INVALID_ARGUMENT",
      cmd.side === Side.Sell
        ? "A SELL OCO's above order is LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT; its below order STOP_LOSS or STOP_LOSS_LIMIT."
        : "A BUY OCO's below order is LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT; its above order STOP_LOSS or STOP_LOSS_LIMIT.",
    );
  const profitPrice =
    profitType === OrderType.LimitMaker || profitType === OrderType.TakeProfitLimit
      ? cmd[`${profit}PriceTicks`]
      : cmd[`${profit}StopPriceTicks`];
  const stop = cmd[`${loss}StopPriceTicks`];
  const [high, low] = cmd.side === Side.Sell ? [profitPrice, stop] : [stop, profitPrice];
  const ordered = lastPrice > 0 ? high > lastPrice && lastPrice > low : high > low;
  if (!ordered) fail("ORDER_REJECTED", "The relationship of the prices for the orders is not correct.");
}
