import { fail } from "../../domain/src/index.ts";
import type { BookOrder, BookView } from "../../matching/src/index.ts";
import { OrderType } from "../../matching/src/index.ts";
import { nextUserId } from "./accounts.ts";
import { byPriority, resting } from "./book-orders.ts";
import type { Candle } from "./candles.ts";
import { checkInvariants, totalOf } from "./invariants.ts";
import type { ListenKeys } from "./listen-keys.ts";
import type { OrderCounts } from "./order-counts.ts";
import { type CoreState, clientKey } from "./state.ts";
import type { Balance, OrderList, OrderRecord, PreventedMatch, TradeRecord, Withdrawal } from "./types.ts";

/**
 * The user's order with this client order id: the open one, else, of the closed orders with
 * this id, the oldest (the map's iteration is not in id order).
 */
export function orderByClientId(
  s: CoreState,
  userId: number,
  clientOrderId: string,
): OrderRecord | undefined {
  const open = s.openByClientId.get(clientKey(userId, clientOrderId));
  if (open !== undefined) return s.orders.get(open);
  let oldest: OrderRecord | undefined;
  for (const o of s.orders.values()) {
    if (o.userId !== userId || o.clientOrderId !== clientOrderId) continue;
    if (!oldest || o.orderId < oldest.orderId) oldest = o;
  }
  return oldest;
}

/**
 * What the core answers without changing: balances, orders, order lists, trades, books, and its
 * invariants. The part of UbsCore that readers (the gateway, settlement, replicas) use.
 */
export class CoreQueries {
  /** Fee account balance per asset id. */
  readonly fees: bigint[];

  constructor(protected readonly s: CoreState) {
    this.fees = s.fees;
  }

  /** The user data streams' listen keys (journaled, so every replica has them). */
  get listenKeyState(): ListenKeys {
    return this.s.listenKeys;
  }

  /** The order counts, for the order limits (read, and admitted against, by UBSCore's service). */
  get orderCounts(): OrderCounts {
    return this.s.counts;
  }

  transferApplied(transferSeq: number): boolean {
    return this.s.appliedTransfers.has(transferSeq);
  }

  withdrawal(withdrawalId: string): Withdrawal | undefined {
    return this.s.withdrawals.get(withdrawalId);
  }

  /** Held withdrawals of a user (their amounts are part of frozen). */
  heldWithdrawals(userId: number): Withdrawal[] {
    return [...this.s.withdrawals.values()].filter((w) => w.userId === userId && w.status === "HELD");
  }

  hasUser(userId: number): boolean {
    return this.s.users.has(userId);
  }

  userIds(): number[] {
    return [...this.s.users].sort((a, b) => a - b);
  }

  /** The id the next user gets: one above the highest so far. */
  nextUserId(): number {
    return nextUserId(this.s);
  }

  balancesOf(userId: number): readonly Balance[] {
    return this.s.balances.get(userId) ?? fail("UNKNOWN_USER", `unknown user ${userId}`);
  }

  order(orderId: number): OrderRecord | undefined {
    return this.s.orders.get(orderId);
  }

  orderByClientId(userId: number, clientOrderId: string): OrderRecord | undefined {
    return orderByClientId(this.s, userId, clientOrderId);
  }

  orderList(orderListId: number): OrderList | undefined {
    return this.s.lists.get(orderListId);
  }

  /** The user's order list with this client id: the open one, else the oldest kept. */
  orderListByClientId(userId: number, listClientOrderId: string): OrderList | undefined {
    let found: OrderList | undefined;
    for (const l of this.s.lists.values()) {
      if (l.userId !== userId || l.listClientOrderId !== listClientOrderId) continue;
      if (l.listOrderStatus === "EXECUTING") return l;
      if (!found || l.orderListId < found.orderListId) found = l;
    }
    return found;
  }

  /** The user's order lists (open ones only if `open`), by id. */
  orderLists(userId: number, open = false): OrderList[] {
    return [...this.s.lists.values()]
      .filter((l) => l.userId === userId && (!open || l.listOrderStatus === "EXECUTING"))
      .sort((a, b) => a.orderListId - b.orderListId);
  }

  openOrders(userId: number, marketId?: number): OrderRecord[] {
    const ids = [...(this.s.openByUser.get(userId) ?? [])].sort((a, b) => a - b);
    return ids
      .map((id) => this.s.orders.get(id)!)
      .filter((o) => marketId === undefined || o.marketId === marketId);
  }

  allOrders(userId: number, marketId: number): OrderRecord[] {
    return [...this.s.orders.values()]
      .filter((o) => o.userId === userId && o.marketId === marketId)
      .sort((a, b) => a.orderId - b.orderId);
  }

  /**
   * Has the core forgotten any closed order (then a user's complete order history needs the
   * history store)? Until it has, what it holds is all there is.
   */
  hasForgottenOrders(): boolean {
    return this.s.forgotten.orders > 0;
  }

  /** Has the core forgotten any trade of this market (see hasForgottenOrders)? */
  hasForgottenTrades(marketId: number): boolean {
    return (this.s.forgotten.trades[marketId] ?? 0) > 0;
  }

  /** One-minute candles of a market since its first trade, oldest first. */
  candlesOf(marketId: number): readonly Candle[] {
    return this.s.candles[marketId] ?? [];
  }

  tradesOf(marketId: number): readonly TradeRecord[] {
    return this.s.trades[marketId] ?? [];
  }

  /** The market's book as market data reads it: the engine itself, or its levels as last answered. */
  book(marketId: number): BookView {
    return (
      this.s.engines[marketId] ??
      this.s.remote[marketId]?.depth ??
      fail("UNKNOWN_MARKET", `unknown market ${marketId}`)
    );
  }

  /** The market's resting orders in priority order (bids best first, then asks). */
  restingOrders(marketId: number): BookOrder[] {
    const engine = this.s.engines[marketId];
    if (!engine) return resting(this.s, marketId).sort(byPriority);
    return engine.restingOrders().map((o) => {
      const order = this.s.orders.get(o.orderId)!;
      return { ...o, stp: order.stp, postOnly: order.type === OrderType.LimitMaker };
    });
  }

  isHalted(marketId: number): boolean {
    return this.s.halted.has(marketId);
  }

  /** A prevented match of `marketId` by its id, while UBSCore holds its taker order. */
  preventedMatch(marketId: number, preventedMatchId: number): PreventedMatch | undefined {
    const takerOrderId = this.s.prevented.takerOf(marketId, preventedMatchId);
    const taker = takerOrderId === undefined ? undefined : this.s.orders.get(takerOrderId);
    return taker?.preventedMatches?.find((p) => p.preventedMatchId === preventedMatchId);
  }

  /** The money rules (invariants.ts); throws an InvariantViolation at the first break. */
  checkInvariants(): void {
    checkInvariants(this.s);
  }

  /** Sum over users, frozen included, plus the fee account: what the tests hold constant. */
  totalOf(assetId: number): bigint {
    return totalOf(this.s, assetId);
  }
}
