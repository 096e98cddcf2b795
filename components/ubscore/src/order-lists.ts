import { fail, lotsToBaseUnits, notional } from "../../domain/src/index.ts";
import { type Command, CommandType, OrderType, Side, triggersAs } from "../../matching/src/index.ts";
import { unmatchedIds } from "./book-orders.ts";
import { checkOcoPrices, checkOrderFilters } from "./order-filters.ts";
import { type Admitted, freeze, openMarket, openOrderRecord, reservation } from "./orders.ts";
import { balance, type CoreState, clientKey, type Forwarded, isDone, MAX_SAFE, max, min } from "./state.ts";
import type { OrderList, OrderRecord, PlaceOco, PlaceOrder } from "./types.ts";

/**
 * Order lists (OCO): their admission, the one reservation a list holds for its legs, and what
 * becomes of it when a leg is done.
 */

/**
 * An OCO: its two legs checked as orders of their own (filters, client ids) and against
 * Binance's OCO rules, then one reservation for both, held by the list: what the costlier leg
 * may spend (a SELL's quantity; a BUY's notional at the higher leg's need).
 */
export function admitOco(s: CoreState, cmd: PlaceOco): Admitted {
  const market = openMarket(s, cmd);
  const legs = ocoLegs(cmd);
  const ids = legs.map((leg) => leg.clientOrderId);
  if (ids[0] === ids[1] || ids.some((id) => s.openByClientId.has(clientKey(cmd.userId, id))))
    fail("DUPLICATE_ORDER", "Duplicate order sent.");
  if (executingList(s, cmd.userId, cmd.listClientOrderId))
    fail("DUPLICATE_ORDER", "Order list's listClientOrderId is already in use.");
  for (const leg of legs) checkOrderFilters(market, leg);
  checkOcoPrices(cmd, s.trades[market.id]!.at(-1)?.priceTicks ?? 0);
  const needs = legs.map((leg) => reservation(s, market, leg));
  const amount = max(needs[0]!.amount, needs[1]!.amount);
  const asset = needs[0]!.asset;
  // Checked but for the balance, which freeze checks last: from there on the command changes state.
  freeze(s, cmd.time, balance(s, cmd.userId, asset), amount);
  const list: OrderList = {
    orderListId: s.nextOrderListId++,
    userId: cmd.userId,
    marketId: market.id,
    listClientOrderId: cmd.listClientOrderId,
    contingencyType: "OCO",
    orderIds: [s.nextOrderId, s.nextOrderId + 1],
    listStatusType: "EXEC_STARTED",
    listOrderStatus: "EXECUTING",
    transactionTime: cmd.time,
    updateTime: cmd.time,
    reserved: amount,
    reserveAsset: asset,
  };
  s.lists.set(list.orderListId, list);
  // The legs reserve nothing of their own while the list holds the one reservation.
  const [first, second] = legs.map((leg) => openOrderRecord(s, market, leg, 0n, asset, list.orderListId));
  const engineLeg = (o: OrderRecord) => ({
    orderType: o.type,
    tif: o.tif,
    priceTicks: o.priceTicks,
    stopPriceTicks: o.stopPriceTicks ?? 0,
  });
  const marketBuy = legs.some((leg) => triggersAs(leg.type) === OrderType.Market) && cmd.side === Side.Buy;
  const command: Command = {
    type: CommandType.PlaceOco,
    orderId: first!.orderId,
    userId: cmd.userId,
    side: cmd.side,
    qtyLots: cmd.qtyLots,
    quoteUnits: marketBuy ? Number(min(amount, MAX_SAFE)) : 0,
    stp: cmd.stp,
    legs: [engineLeg(first!), engineLeg(second!)],
  };
  return { market, command };
}

/** The user's executing list with this client id, if there is one. */
function executingList(s: CoreState, userId: number, listClientOrderId: string): OrderList | undefined {
  for (const list of s.lists.values())
    if (
      list.userId === userId &&
      list.listClientOrderId === listClientOrderId &&
      list.listOrderStatus === "EXECUTING"
    )
      return list;
  return undefined;
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

/** The order's list while it holds the legs' one reservation (both legs open). */
export function listHolding(s: CoreState, order: OrderRecord): OrderList | undefined {
  if (order.orderListId === undefined) return undefined;
  const list = s.lists.get(order.orderListId);
  return list && list.listOrderStatus === "EXECUTING" && list.reserved > 0n ? list : undefined;
}

/**
 * A leg of `list` is done, so the list is (Binance: ALL_DONE once one leg fills, triggers or
 * ends, the other expiring). The other leg, if still open, takes over the reservation, less
 * what it no longer needs (a limit BUY: its remaining quantity at its price; a running market
 * buy keeps its whole budget); else what is left is released.
 */
export function legDone(s: CoreState, list: OrderList, status: OrderRecord["status"]): void {
  list.updateTime = s.now;
  const open = list.orderIds.map((id) => s.orders.get(id)!).filter((o) => !isDone(o));
  const b = balance(s, list.userId, list.reserveAsset);
  if (open.length === 1 && list.reserved > 0n) {
    const o = open[0]!;
    const keep = min(legNeed(s, list, o), list.reserved);
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

/** What the list's remaining open leg still needs of the list's reservation. */
function legNeed(s: CoreState, list: OrderList, o: OrderRecord): bigint {
  const market = s.exchange.marketById(o.marketId)!;
  const left = o.origQtyLots - o.executedLots;
  if (o.side === Side.Sell) return lotsToBaseUnits(market, left);
  return triggersAs(o.type) === OrderType.Market ? list.reserved : notional(market, o.priceTicks, left);
}

/**
 * The market's OCOs as its book links them: both legs open and placed (their command has its
 * outcome; the legs of one still in flight go with it).
 */
export function ocoPairs(s: CoreState, marketId: number, pending: readonly Forwarded[]): [number, number][] {
  const unmatched = unmatchedIds(pending);
  const pairs: [number, number][] = [];
  for (const l of s.lists.values()) {
    if (l.marketId !== marketId || l.listOrderStatus !== "EXECUTING") continue;
    const [a, b] = l.orderIds as [number, number];
    const open = [a, b].every((id) => !isDone(s.orders.get(id)!) && !unmatched.has(id));
    if (open) pairs.push([a, b]);
  }
  return pairs.sort((x, y) => x[0] - y[0]);
}
