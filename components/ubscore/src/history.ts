import type { CoreState } from "./state.ts";

/**
 * Retention: the core keeps every open order but only the most recent closed orders and trades
 * (`Retention`); older ones live in the history store, so memory and snapshots stay bounded.
 */

/** Drops the closed orders and trades beyond retention, oldest first. */
export function forgetOldHistory(s: CoreState): void {
  const excess = s.closed.length - s.closedHead - s.retention.closedOrders;
  for (let i = 0; i < excess; i++) forgetOrder(s, s.closed[s.closedHead++]!);
  if (excess > 0) s.forgotten.orders += excess;
  // The forgotten head is cut off once it is most of the array, so the copy is paid rarely.
  if (s.closedHead > 65_536 && s.closedHead * 2 > s.closed.length) {
    s.closed = s.closed.slice(s.closedHead);
    s.closedHead = 0;
  }
  // Trimmed in steps of a whole retention, so the copy is paid once per that many trades.
  s.trades.forEach((list, marketId) => {
    if (list.length < 2 * s.retention.tradesPerMarket) return;
    const drop = list.length - s.retention.tradesPerMarket;
    list.splice(0, drop);
    s.forgotten.trades[marketId] = (s.forgotten.trades[marketId] ?? 0) + drop;
  });
}

/** Drops a closed order, its list, and the index of the prevented matches it took part in as taker. */
function forgetOrder(s: CoreState, orderId: number): void {
  const o = s.orders.get(orderId);
  if (o) s.prevented.forgotten(o);
  // A list is forgotten with its first order forgotten once the list is done; an executing one (an
  // OTO whose working order filled: its pending orders trade on, an OTOCO's pair on the list's
  // reservation) waits for the next.
  if (o?.orderListId !== undefined && s.lists.get(o.orderListId)?.listOrderStatus !== "EXECUTING")
    s.lists.delete(o.orderListId);
  s.orders.delete(orderId);
}
