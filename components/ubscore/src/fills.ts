import { fail, lotsToBaseUnits, type Market, notional, tradeAmounts } from "../../domain/src/index.ts";
import type { BookOrder } from "../../matching/src/index.ts";
import {
  type AmendedEvent,
  EventType,
  type ExpiredEvent,
  ExpireReason,
  type MatchingEvent,
  OrderType,
  SelfTradePrevention,
  Side,
  type TradeEvent,
  type TriggeredEvent,
  triggersAs,
} from "../../matching/src/index.ts";
import { byPriority, resting } from "./book-orders.ts";
import { foldTrade } from "./candles.ts";
import { isWorkingOrder, legDone, listHolding } from "./order-lists.ts";
import { lockReceived } from "./pending-orders.ts";
import { balance, type CoreState, clientKey, isDone } from "./state.ts";
import type { OrderRecord, TradeRecord } from "./types.ts";

/**
 * What the book's events do to the money and the orders: a trade moves base and quote between
 * the two sides and fees to the fee account; an order done releases what it still froze.
 */

/**
 * `placed`: the events answer a place (a Rejected then refuses that order, not a cancel).
 * `firedBy`: the order whose command the events answer, after which triggered orders enter the book.
 */
export function applyEvents(
  s: CoreState,
  market: Market,
  events: readonly MatchingEvent[],
  placed: boolean,
  firedBy: number,
): void {
  // The order taking liquidity: the command's, then each triggered order as it fires.
  let taker = placed ? s.orders.get(firedBy) : undefined;
  for (const e of events) {
    switch (e.type) {
      case EventType.Trade:
        applyTrade(s, market, e);
        break;
      case EventType.Cancelled:
        finish(s, s.orders.get(e.orderId)!, "CANCELED");
        break;
      case EventType.Amended:
        applyAmended(s, market, e);
        break;
      case EventType.Triggered:
        taker = applyTriggered(s, e, firedBy);
        break;
      case EventType.Expired:
        applyExpired(s, market, e, taker);
        break;
      case EventType.Rejected: {
        const o = placed ? s.orders.get(e.orderId) : undefined;
        if (o && !isDone(o)) finish(s, o, "REJECTED");
        break;
      }
      default:
        break;
    }
  }
}

/** A triggered order enters the book after the order that fired it, and takes liquidity from there. */
function applyTriggered(s: CoreState, e: TriggeredEvent, firedBy: number): OrderRecord {
  const o = s.orders.get(e.orderId)!;
  o.workingTime = s.now;
  o.enteredBook = { afterOrderId: firedBy, seq: e.seq };
  return o;
}

function applyExpired(s: CoreState, market: Market, e: ExpiredEvent, taker: OrderRecord | undefined): void {
  const o = s.orders.get(e.orderId)!;
  if (e.reason === ExpireReason.SelfTrade) {
    if (taker) recordPrevention(s, market, taker, o, e.remainingLots);
    finish(s, o, "EXPIRED_IN_MATCH");
  } else if (o.type === OrderType.Market && o.origQtyLots === 0 && o.executedLots > 0) {
    // A market order by quote amount that spent its budget.
    finish(s, o, "FILLED");
  } else finish(s, o, "EXPIRED");
}

function applyTrade(s: CoreState, market: Market, e: TradeEvent): void {
  const taker = s.orders.get(e.takerOrderId)!;
  const maker = s.orders.get(e.makerOrderId)!;
  const [buyer, seller] = e.takerSide === Side.Buy ? [taker, maker] : [maker, taker];
  const { baseUnits, quoteUnits, buyerFee, sellerFee } = tradeAmounts(
    market,
    e.priceTicks,
    e.qtyLots,
    e.takerSide === Side.Buy,
  );
  consume(s, buyer, quoteUnits);
  balance(s, buyer.userId, market.base.id).available += baseUnits - buyerFee;
  lockReceived(s, buyer, baseUnits - buyerFee);
  consume(s, seller, baseUnits);
  balance(s, seller.userId, market.quote.id).available += quoteUnits - sellerFee;
  s.fees[market.base.id - 1]! += buyerFee;
  s.fees[market.quote.id - 1]! += sellerFee;
  const trade: TradeRecord = {
    tradeId: e.tradeId,
    marketId: market.id,
    priceTicks: e.priceTicks,
    qtyLots: e.qtyLots,
    quoteUnits,
    time: s.now,
    buyerOrderId: buyer.orderId,
    sellerOrderId: seller.orderId,
    buyerUserId: buyer.userId,
    sellerUserId: seller.userId,
    takerSide: e.takerSide,
    buyerFee,
    sellerFee,
  };
  s.trades[market.id]!.push(trade);
  foldTrade(s.candles[market.id]!, trade, e.takerSide === Side.Buy);
  for (const [o, remaining, fee] of [
    [taker, e.takerRemainingLots, taker === buyer ? buyerFee : sellerFee],
    [maker, e.makerRemainingLots, maker === buyer ? buyerFee : sellerFee],
  ] as const) {
    o.executedLots += e.qtyLots;
    o.cumQuote += quoteUnits;
    o.updateTime = s.now;
    o.fills.push({
      tradeId: e.tradeId,
      priceTicks: e.priceTicks,
      qtyLots: e.qtyLots,
      quoteUnits,
      fee,
      isMaker: o === maker,
    });
    if (o.origQtyLots > 0 && remaining === 0) finish(s, o, "FILLED");
    else o.status = "PARTIALLY_FILLED";
  }
}

/**
 * A self-trade prevention: `expired` (with `remainingLots` left) is the maker the taker's mode
 * expired (EXPIRE_MAKER, EXPIRE_BOTH: one record, at the maker), or the taker itself (EXPIRE_TAKER),
 * which the book expired at the first order of its own user in priority: that maker, still open.
 */
function recordPrevention(
  s: CoreState,
  market: Market,
  taker: OrderRecord,
  expired: OrderRecord,
  remainingLots: number,
): void {
  if (expired !== taker) {
    s.prevented.record(taker, expired, remainingLots, s.now);
    return;
  }
  if (taker.stp !== SelfTradePrevention.ExpireTaker) return;
  const maker = ownBestOpposite(s, market, taker);
  if (!maker) fail("INTERNAL", `order ${taker.orderId} expired by STP with no order of its user to meet`);
  s.prevented.record(taker, maker, maker.origQtyLots - maker.executedLots, s.now);
}

/** The resting order of `taker`'s user that it meets first: the best price it crosses, then the oldest. */
function ownBestOpposite(s: CoreState, market: Market, taker: OrderRecord): OrderRecord | undefined {
  const marketLike = triggersAs(taker.type) === OrderType.Market;
  const crosses = (o: BookOrder) =>
    marketLike ||
    (taker.side === Side.Buy ? o.priceTicks <= taker.priceTicks : o.priceTicks >= taker.priceTicks);
  const mine = resting(s, market.id).filter(
    (o) => o.userId === taker.userId && o.side !== taker.side && o.orderId !== taker.orderId && crosses(o),
  );
  const first = mine.sort(byPriority)[0];
  return first && s.orders.get(first.orderId);
}

/**
 * The book lowered a resting order to `qtyLots` still to fill: it now asks for its fills plus
 * that, and keeps frozen exactly what that needs at its price (all it froze beyond, price
 * improvement of earlier fills included, is released).
 */
function applyAmended(s: CoreState, market: Market, e: AmendedEvent): void {
  const o = s.orders.get(e.orderId)!;
  const need =
    o.side === Side.Buy ? notional(market, o.priceTicks, e.qtyLots) : lotsToBaseUnits(market, e.qtyLots);
  if (need > o.reserved) fail("INTERNAL", `order ${o.orderId} would need ${need} but has ${o.reserved}`);
  const b = balance(s, o.userId, o.reserveAsset);
  b.frozen -= o.reserved - need;
  b.available += o.reserved - need;
  o.reserved = need;
  const amendment = {
    executionId: e.seq,
    origClientOrderId: o.clientOrderId,
    newClientOrderId: o.clientOrderId, // renamed once the command's outcome is taken (reduced)
    origQtyLots: o.origQtyLots,
    newQtyLots: o.executedLots + e.qtyLots,
    time: s.now,
  };
  if (o.amendments) o.amendments.push(amendment);
  else o.amendments = [amendment];
  o.origQtyLots = amendment.newQtyLots;
  o.updateTime = s.now;
}

/** Takes a filled amount out of what the order froze. */
function consume(s: CoreState, order: OrderRecord, amount: bigint): void {
  // An order list's leg spends the list's reservation while the list holds it.
  const holder = listHolding(s, order) ?? order;
  if (amount > holder.reserved) {
    fail("INTERNAL", `order ${order.orderId} would spend ${amount} but has ${holder.reserved} reserved`);
  }
  holder.reserved -= amount;
  balance(s, order.userId, order.reserveAsset).frozen -= amount;
}

/** The order is done: release what it no longer needs and forget its client id. */
export function finish(s: CoreState, order: OrderRecord, status: OrderRecord["status"]): void {
  if (!isDone(order)) s.closed.push(order.orderId);
  order.status = status;
  order.updateTime = s.now;
  const b = balance(s, order.userId, order.reserveAsset);
  b.frozen -= order.reserved;
  b.available += order.reserved;
  order.reserved = 0n;
  s.openByClientId.delete(clientKey(order.userId, order.clientOrderId));
  s.openByUser.get(order.userId)?.delete(order.orderId);
  const list = order.orderListId === undefined ? undefined : s.lists.get(order.orderListId);
  if (list?.listOrderStatus !== "EXECUTING") return;
  if (isWorkingOrder(list, order)) s.pendingOrders.workingDone(s, list, status);
  else {
    legDone(s, list, status);
    s.pendingOrders.listChanged(list);
  }
}
