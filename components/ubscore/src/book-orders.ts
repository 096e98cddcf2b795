import type { BookOrder, StopOrder } from "../../matching/src/index.ts";
import { type Command, CommandType, OrderType, Side, triggersAs } from "../../matching/src/index.ts";
import { type CoreState, type Forwarded, inBook as isInBook, isWaiting, MAX_SAFE, min } from "./state.ts";
import type { OrderRecord } from "./types.ts";

/**
 * The open orders as a book holds them, told from the orders themselves: what a remote book is
 * (a handover, a snapshot's depth) and where a user's own resting orders stand.
 */

/** The market's open orders that are in its book (their place command has its outcome). */
export function resting(
  s: CoreState,
  marketId: number,
  pending: readonly Forwarded[] = s.remote[marketId]?.pending ?? [],
): BookOrder[] {
  const unmatched = unmatchedIds(pending);
  const inBook: OrderRecord[] = [];
  for (const o of openOrdersOf(s, marketId)) {
    if (!unmatched.has(o.orderId) && !isWaiting(o) && isInBook(o)) inBook.push(o);
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
export function waiting(s: CoreState, marketId: number, pending: readonly Forwarded[]): StopOrder[] {
  const unmatched = unmatchedIds(pending);
  const out: StopOrder[] = [];
  for (const o of openOrdersOf(s, marketId)) {
    if (unmatched.has(o.orderId) || !isWaiting(o) || !isInBook(o)) continue;
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
  return out.sort((a, b) => a.orderId - b.orderId);
}

/** The order ids placed by commands still waiting for their outcome: not in the book yet. */
export function unmatchedIds(pending: readonly Forwarded[]): Set<number> {
  const ids = new Set<number>();
  for (const p of pending) for (const id of placedIds(p.command)) ids.add(id);
  return ids;
}

/** The order ids a forwarded command places (whose book entries wait for its outcome). */
function placedIds(command: Command): number[] {
  if (command.type === CommandType.Place) return [command.orderId];
  if (command.type === CommandType.PlaceOco) return [command.orderId, command.orderId + 1];
  return [];
}

function* openOrdersOf(s: CoreState, marketId: number): Iterable<OrderRecord> {
  for (const ids of s.openByUser.values()) {
    for (const id of ids) {
      const o = s.orders.get(id)!;
      if (o.marketId === marketId) yield o;
    }
  }
}

/** Bids before asks, each best price first, then time (order id) at a price. */
export function byPriority(a: BookOrder, b: BookOrder): number {
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
