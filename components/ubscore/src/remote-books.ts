import { fail } from "../../domain/src/index.ts";
import type { HandoverBook } from "../../matching/src/index.ts";
import {
  decodeEventBytes,
  EVENT_STRIDE,
  EventType,
  MatchingEngine,
  type MatchingEvent,
} from "../../matching/src/index.ts";
import { resting, waiting } from "./book-orders.ts";
import { matchedResult } from "./execution.ts";
import { ocoPairs } from "./order-lists.ts";
import {
  type CommandResult,
  type CoreState,
  type Forwarded,
  isDone,
  NO_EVENTS,
  type RemoteMarket,
} from "./state.ts";

/**
 * The books that run in a matching service (matching.kind service): the outcomes it sends back
 * for the commands forwarded to it, and what a new matching service needs to take the books over.
 */

/**
 * Applies the matching service's answer to the market's oldest forwarded command. An answer to
 * a sequence already applied changes nothing (the service answers again after a reconnect).
 */
export function applyOutcome(s: CoreState, marketId: number, seq: number, bytes: Uint8Array): CommandResult {
  const market = s.exchange.marketById(marketId) ?? fail("UNKNOWN_MARKET", `unknown market ${marketId}`);
  const remote =
    s.remote[marketId] ??
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
  checkOutcome(s, marketId, events);
  remote.pending.shift();
  remote.matched = seq;
  remote.depth.apply(events);
  for (const e of events) if (e.type === EventType.Trade) remote.lastTradeId = e.tradeId;
  s.now = next.time;
  return matchedResult(s, market, next.command, events, next.rename);
}

/**
 * Refuses, before any change, an outcome that names an order not open in its market: it cannot
 * be the engine's answer (a matching service with other books, or not ours).
 */
function checkOutcome(s: CoreState, marketId: number, events: readonly MatchingEvent[]): void {
  for (const e of events) {
    for (const id of namedOrders(e)) {
      const o = s.orders.get(id);
      if (!o || o.marketId !== marketId || isDone(o)) {
        fail("CONFLICT", `an outcome names order ${id}, which is not open in market ${marketId}`);
      }
    }
  }
}

/** The orders an event acts on (a trade: both sides; a book level: none). */
function namedOrders(e: MatchingEvent): number[] {
  switch (e.type) {
    case EventType.Trade:
      return [e.takerOrderId, e.makerOrderId];
    case EventType.Cancelled:
    case EventType.Expired:
    case EventType.Amended:
    case EventType.Triggered:
      return [e.orderId];
    default:
      return [];
  }
}

/**
 * What a matching service needs to take over the books: each market's book as the last
 * applied outcome left it (the open orders that rest, each level in order id order: amends
 * only keep an order's place, so that is time priority), and every command forwarded since.
 */
export function matchingHandover(s: CoreState): { books: HandoverBook[]; pending: Forwarded[] } {
  const books = s.exchange.markets.map((m) => {
    const remote = remoteMarket(s, m.id);
    const snapshot = MatchingEngine.snapshotOf(
      remote.depth.lastSeq,
      remote.lastTradeId,
      resting(s, m.id),
      waiting(s, m.id, remote.pending),
      s.trades[m.id]!.at(-1)?.priceTicks ?? 0,
      ocoPairs(s, m.id, remote.pending),
    );
    return {
      marketId: m.id,
      matched: remote.matched,
      quotePerTickLot: Number(m.quotePerTickLot),
      snapshot,
    };
  });
  return { books, pending: s.exchange.markets.flatMap((m) => remoteMarket(s, m.id).pending) };
}

/** How many forwarded commands wait for their outcome, over all markets (0 with local books). */
export function forwardedWaiting(s: CoreState): number {
  let count = 0;
  for (const remote of s.remote) count += remote?.pending.length ?? 0;
  return count;
}

function remoteMarket(s: CoreState, marketId: number): RemoteMarket {
  return s.remote[marketId] ?? fail("INTERNAL", "UBSCore runs the books itself (matching.kind local)");
}
