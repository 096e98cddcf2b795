import type { Market } from "../../domain/src/index.ts";
import { fail } from "../../domain/src/index.ts";
import {
  COMMAND_STRIDE,
  type Command,
  DepthBook,
  decodeCommand as decodeEngineCommand,
  encodeCommand as encodeEngineCommand,
  MatchingEngine,
  Side,
} from "../../matching/src/index.ts";
import { resting } from "./book-orders.ts";
import { type Candle, foldTrade } from "./candles.ts";
import { totalOf } from "./invariants.ts";
import { ListenKeys } from "./listen-keys.ts";
import { OrderCounts } from "./order-counts.ts";
import {
  type RemoteBookState,
  SNAPSHOT_VERSION,
  type SnapshotHeader,
  type SnapshotState,
  snapshotChunks,
} from "./snapshot-format.ts";
import {
  type CoreState,
  clientKey,
  type Forwarded,
  isDone,
  type MatchingMode,
  type RemoteMarket,
} from "./state.ts";
import type { OrderRecord } from "./types.ts";
import { UsedSignatures } from "./used-signatures.ts";

/**
 * The core's state to and from its snapshot (the format itself: snapshot-format.ts). Gathered as
 * chunks, records serialized as the chunks are taken, so a large snapshot is never one string;
 * the core must not change until they are all taken (the background snapshot's core never does).
 */
export function gatherSnapshot(s: CoreState): Iterable<Buffer> {
  const header: SnapshotHeader = {
    version: SNAPSHOT_VERSION,
    retention: s.retention,
    closed: s.closed.slice(s.closedHead),
    forgotten: s.forgotten,
    users: [...s.users],
    balances: [...s.balances],
    fees: s.fees,
    netInflow: s.netInflow,
    matching: s.matching,
    // Local: the engines' own snapshots. Remote: the counters and the commands in flight (the
    // books themselves are the open orders).
    engines: s.exchange.markets.flatMap((m) => {
      const engine = s.engines[m.id];
      return engine ? [Buffer.from(engine.snapshot()).toString("base64")] : [];
    }),
    remote: s.exchange.markets.flatMap((m) => {
      const r = s.remote[m.id];
      return r ? [remoteBookState(r)] : [];
    }),
    halted: [...s.halted],
    withdrawals: [...s.withdrawals.values()],
    appliedTransfers: [...s.appliedTransfers],
    signatureHorizon: s.signatures.horizonTime,
    listenKeys: s.listenKeys.entries(),
    orderCounts: s.counts.entries(),
    preventedMatchIds: [...s.prevented.lastIdsByMarket()],
    nextOrderId: s.nextOrderId,
    nextOrderListId: s.nextOrderListId,
    now: s.now,
  };
  const orders: OrderRecord[] = [];
  for (const ids of s.openByUser.values()) for (const id of ids) orders.push(s.orders.get(id)!);
  for (const id of header.closed!) orders.push(s.orders.get(id)!);
  return snapshotChunks(header, {
    orders,
    lists: [...s.lists.values()],
    deposits: [...s.deposits],
    signatures: s.signatures.entries(),
    trades: Array.from(s.trades, (list) => list ?? []), // sparse: markets by id
    candles: Array.from(s.candles, (list) => list ?? []),
  });
}

function remoteBookState(r: RemoteMarket): RemoteBookState {
  const { forwarded, matched, lastTradeId } = r;
  const pending = r.pending.map(({ seq, command, time, rename }) => [
    seq,
    time,
    ...commandSlots(command),
    ...(rename === undefined ? [] : [rename]),
  ]);
  return { forwarded, matched, lastTradeId, lastSeq: r.depth.lastSeq, pending };
}

function commandSlots(command: Command): number[] {
  const slots = new Float64Array(COMMAND_STRIDE);
  encodeEngineCommand(command, slots);
  return Array.from(slots);
}

/**
 * Which mode a snapshot's books run in: as written, unless `matching` asks otherwise. Local to
 * remote is a handover like any reconnect; the way back would have to re-run the commands in
 * flight at other points than the journal ran their outcomes.
 */
export function restoredMode(state: SnapshotState, matching: MatchingMode | undefined): MatchingMode {
  const written: MatchingMode = state.matching ?? "local";
  if (written === "remote" && matching === "local") {
    fail(
      "INVALID_CONFIG",
      "this data was written with matching.kind service (the books in bourse matching); start UBSCore with that setting",
    );
  }
  return matching ?? written;
}

/** Fills a new core's state `s` (of the mode restoredMode chose) with a snapshot's. */
export function restoreState(s: CoreState, state: SnapshotState): void {
  for (const id of state.users) s.users.add(id);
  for (const [id, bs] of state.balances) s.balances.set(id, bs);
  state.fees.forEach((f, i) => {
    s.fees[i] = f;
  });
  restoreOrders(s, state);
  const written: MatchingMode = state.matching ?? "local";
  s.exchange.markets.forEach((m, i) => {
    const saved = written === "local" ? state.engines[i] : state.remote[i];
    restoreBook(s, m, saved ?? fail("CORRUPT_JOURNAL", `UBSCore snapshot has no book for ${m.symbol}`));
  });
  restoreHistory(s, state);
  restoreRequests(s, state);
  s.nextOrderId = state.nextOrderId;
  s.now = state.now;
  // Snapshots written before it was kept: their own totals are where the count starts.
  s.exchange.assets.forEach((a, i) => {
    s.netInflow[i] = state.netInflow?.[i] ?? totalOf(s, a.id);
  });
}

/** The orders and their indexes, and the order lists (versions before 5 had none). */
function restoreOrders(s: CoreState, state: SnapshotState): void {
  for (const o of state.orders) {
    s.orders.set(o.orderId, o);
    s.prevented.held(o);
    if (!isDone(o)) {
      s.openByClientId.set(clientKey(o.userId, o.clientOrderId), o.orderId);
      s.openByUser.set(o.userId, (s.openByUser.get(o.userId) ?? new Set<number>()).add(o.orderId));
    }
  }
  s.prevented.restoreLastIds(state.preventedMatchIds);
  for (const l of state.lists) s.lists.set(l.orderListId, l);
  s.nextOrderListId = state.nextOrderListId ?? 1;
}

/** Trades, candles, and which closed orders and trades are kept or forgotten. */
function restoreHistory(s: CoreState, state: SnapshotState): void {
  state.trades.forEach((list, marketId) => {
    if (list) s.trades[marketId] = list;
  });
  // Versions 1 and 2 had no candles but every trade: fold the candles from the trades.
  const candles: Candle[][] | undefined = state.version >= 3 ? (state.candles ?? []) : undefined;
  for (const m of s.exchange.markets) {
    if (candles) s.candles[m.id] = candles[m.id] ?? [];
    else for (const t of s.trades[m.id]!) foldTrade(s.candles[m.id]!, t, t.takerSide === Side.Buy);
  }
  // Versions 1 and 2 kept everything; they did not record the closing order: oldest update first.
  s.forgotten = state.forgotten ?? { orders: 0, trades: [] };
  s.closed =
    state.closed ??
    state.orders
      .filter(isDone)
      .sort((a, b) => a.updateTime - b.updateTime || a.orderId - b.orderId)
      .map((o) => o.orderId);
}

/** What makes requests and transfers happen once, and the other per-request state. */
function restoreRequests(s: CoreState, state: SnapshotState): void {
  for (const id of state.halted) s.halted.add(id);
  for (const w of state.withdrawals) s.withdrawals.set(w.withdrawalId, w);
  for (const seq of state.appliedTransfers) s.appliedTransfers.add(seq);
  // Versions before 4 kept no signatures: gateways remembered them, each its own.
  s.signatures = UsedSignatures.restore(state.signatureHorizon ?? 0, state.signatures);
  // Snapshots before listen keys were journaled have none: gateways kept them, each its own.
  s.listenKeys = ListenKeys.restore(state.listenKeys ?? []);
  s.counts = OrderCounts.restore(state.orderCounts);
  for (const [id, terms] of state.deposits) s.deposits.set(id, terms);
}

/** A market's book from a snapshot: an engine's own (local) or the remote counters. */
function restoreBook(s: CoreState, market: Market, saved: string | RemoteBookState): void {
  if (typeof saved !== "string") {
    s.remote[market.id] = remoteFromSnapshot(s, market, saved);
    return;
  }
  const engine = MatchingEngine.restore(Buffer.from(saved, "base64"), {
    quotePerTickLot: Number(market.quotePerTickLot),
  });
  if (s.matching === "local") s.engines[market.id] = engine;
  else s.remote[market.id] = remoteFromEngine(engine);
}

/** A local book handed over to a matching service: the engine's counters, nothing in flight yet. */
function remoteFromEngine(engine: MatchingEngine): RemoteMarket {
  const { bids, asks } = engine.depth();
  const levels = [
    ...bids.map((l) => ({ ...l, side: Side.Buy })),
    ...asks.map((l) => ({ ...l, side: Side.Sell })),
  ];
  return {
    forwarded: 0,
    matched: 0,
    pending: [],
    lastTradeId: engine.lastTradeId,
    depth: new DepthBook(engine.lastSeq, levels),
  };
}

/** A remote book's counters and commands in flight; its depth, from the open orders in the book. */
function remoteFromSnapshot(s: CoreState, market: Market, saved: RemoteBookState): RemoteMarket {
  const pending = saved.pending.map(([seq, time, ...rest]): Forwarded => {
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
  for (const o of resting(s, market.id, pending)) {
    const key = `${o.side}:${o.priceTicks}`;
    const level = levels.get(key) ?? { side: o.side, priceTicks: o.priceTicks, totalLots: 0 };
    level.totalLots += o.qtyLots;
    levels.set(key, level);
  }
  const { forwarded, matched, lastTradeId, lastSeq } = saved;
  return { forwarded, matched, pending, lastTradeId, depth: new DepthBook(lastSeq, levels.values()) };
}
