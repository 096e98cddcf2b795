import { fail, lotsToBaseUnits, notional } from "../../domain/src/index.ts";
import { type Command, CommandType, OrderType, Side, triggersAs } from "../../matching/src/index.ts";
import { unmatchedIds } from "./book-orders.ts";
import { checkOcoPrices, checkOrderFilters } from "./order-filters.ts";
import { type Admitted, freeze, openMarket, openOrderRecord, placeCommand, reservation } from "./orders.ts";
import {
  balance,
  type CoreState,
  clientKey,
  type Forwarded,
  inBook,
  isDone,
  MAX_SAFE,
  max,
  min,
} from "./state.ts";
import type { OrderList, OrderRecord, PlaceOco, PlaceOrder, PlaceOto } from "./types.ts";

/**
 * Order lists (OCO, OTO, OTOCO): their admission, the one reservation a list holds for an OCO's
 * legs, and what becomes of it when a leg is done (an OTO's pending orders: pending-orders.ts).
 */

/**
 * An OCO: its two legs checked as orders of their own (filters, client ids) and against
 * Binance's OCO rules, then one reservation for both, held by the list: what the costlier leg
 * may spend (a SELL's quantity; a BUY's notional at the higher leg's need).
 */
export function admitOco(s: CoreState, cmd: PlaceOco): Admitted {
  const market = openMarket(s, cmd);
  const legs = ocoLegs(cmd);
  checkListIds(s, cmd.userId, cmd.listClientOrderId, legs);
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

/**
 * An OTO or OTOCO: each order checked as an order of its own (filters, client ids), an OTOCO's
 * pending pair as an OCO; the working order's funds frozen and the working order placed. The
 * pending orders wait in UBSCore (PENDING_NEW, reserving nothing) until it fills: pending-orders.ts.
 */
export function admitOto(s: CoreState, cmd: PlaceOto): Admitted {
  const market = openMarket(s, cmd);
  checkOtoTypes(cmd);
  const orders = otoOrders(cmd);
  const [working, ...pending] = orders as [PlaceOrder, ...PlaceOrder[]];
  checkListIds(s, cmd.userId, cmd.listClientOrderId, orders);
  // An OPO's pending quantity is known once the working order fills: its filters are checked then.
  for (const o of orders)
    checkOrderFilters(market, isOpo(cmd) && o !== working ? { ...o, qtyLots: working.qtyLots } : o);
  if (pending.length === 2) checkOcoPrices(pendingPair(cmd), s.trades[market.id]!.at(-1)?.priceTicks ?? 0);
  const { asset, amount } = reservation(s, market, working);
  // Checked but for the balance, which freeze checks last: from there on the command changes state.
  freeze(s, cmd.time, balance(s, cmd.userId, asset), amount);
  const pendingAsset = cmd.pendingSide === Side.Buy ? market.quote.id : market.base.id;
  const list: OrderList = {
    orderListId: s.nextOrderListId++,
    userId: cmd.userId,
    marketId: market.id,
    listClientOrderId: cmd.listClientOrderId,
    contingencyType: "OTO",
    orderIds: orders.map((_, i) => s.nextOrderId + i),
    listStatusType: "EXEC_STARTED",
    listOrderStatus: "EXECUTING",
    transactionTime: cmd.time,
    updateTime: cmd.time,
    reserved: 0n,
    reserveAsset: pendingAsset,
    ...(isOpo(cmd) ? { opo: true as const } : {}),
  };
  s.lists.set(list.orderListId, list);
  const order = openOrderRecord(s, market, working, amount, asset, list.orderListId);
  for (const p of pending)
    openOrderRecord(s, market, p, 0n, pendingAsset, list.orderListId).status = "PENDING_NEW";
  s.pendingOrders.placed(list);
  return { market, command: placeCommand(order, order.origQtyLots, 0) };
}

/** A new list's client ids: its orders' distinct and not open, its own not of an executing list. */
function checkListIds(
  s: CoreState,
  userId: number,
  listClientOrderId: string,
  orders: readonly PlaceOrder[],
): void {
  const ids = new Set(orders.map((o) => o.clientOrderId));
  if (ids.size < orders.length || [...ids].some((id) => s.openByClientId.has(clientKey(userId, id))))
    fail("DUPLICATE_ORDER", "Duplicate order sent.");
  if (executingList(s, userId, listClientOrderId))
    fail("DUPLICATE_ORDER", "Order list's listClientOrderId is already in use.");
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

/** An OTO's orders as the orders they are: the working order, then the pending one(s) (above, below). */
export function otoOrders(cmd: PlaceOto): PlaceOrder[] {
  const order = (
    clientOrderId: string,
    side: Side,
    type: OrderType,
    tif: PlaceOrder["tif"],
    priceTicks: number,
    qtyLots: number,
    stopPriceTicks?: number,
  ): PlaceOrder => ({
    kind: "place",
    userId: cmd.userId,
    symbol: cmd.symbol,
    clientOrderId,
    side,
    type,
    tif,
    priceTicks,
    qtyLots,
    quoteUnits: 0n,
    stp: cmd.stp,
    time: cmd.time,
    ...(stopPriceTicks === undefined ? {} : { stopPriceTicks }),
  });
  const pending = (at: "pending" | "pendingBelow") =>
    order(
      cmd[`${at}ClientOrderId`]!,
      cmd.pendingSide,
      cmd[`${at}Type`]!,
      cmd[`${at}Tif`]!,
      cmd[`${at}PriceTicks`]!,
      cmd.pendingQtyLots,
      cmd[`${at}StopPriceTicks`],
    );
  const working = order(
    cmd.workingClientOrderId,
    cmd.workingSide,
    cmd.workingType,
    cmd.workingTif,
    cmd.workingPriceTicks,
    cmd.workingQtyLots,
  );
  return isOtoco(cmd)
    ? [working, pending("pending"), pending("pendingBelow")]
    : [working, pending("pending")];
}

export function isOtoco(cmd: PlaceOto): boolean {
  return cmd.pendingBelowType !== undefined;
}

/** How many orders a list places, as Binance's order limits count them. */
export function listOrderCount(cmd: PlaceOco | PlaceOto): number {
  return cmd.kind === "placeOto" && isOtoco(cmd) ? 3 : 2;
}

/**
 * Binance's rules of an OTO that need no state: the working order LIMIT or LIMIT_MAKER; the
 * pending one any type (a MARKET one by quantity: this command has no quoteOrderQty); an
 * OTOCO's pair every field present, and as an OCO (see checkOcoPrices, applied to `asOco`).
 */
export function checkOtoTypes(cmd: PlaceOto): void {
  if (cmd.workingType !== OrderType.Limit && cmd.workingType !== OrderType.LimitMaker)
    fail("INVALID_ARGUMENT", "The working order of an order list is LIMIT or LIMIT_MAKER.");
  const below = [
    cmd.pendingBelowClientOrderId,
    cmd.pendingBelowTif,
    cmd.pendingBelowPriceTicks,
    cmd.pendingBelowStopPriceTicks,
  ];
  if (below.some((v) => (v === undefined) !== !isOtoco(cmd)))
    fail("INVALID_ARGUMENT", "An OTOCO's below order has every field; an OTO has none.");
  if (isOpo(cmd) && (cmd.workingSide !== Side.Buy || cmd.pendingSide !== Side.Sell))
    fail("INVALID_ARGUMENT", "An OPO's working order is a BUY, its pending order(s) SELL.");
}

/** Binance's One Pays the Other (OPO, OPOCO): the pending order sells what the working order buys. */
export function isOpo(cmd: PlaceOto): boolean {
  return cmd.pendingQtyLots === 0;
}

/** An OTOCO's pending pair as the OCO it becomes (its price rules are an OCO's). */
export function pendingPair(cmd: PlaceOto): PlaceOco {
  return {
    kind: "placeOco",
    userId: cmd.userId,
    symbol: cmd.symbol,
    listClientOrderId: cmd.listClientOrderId,
    side: cmd.pendingSide,
    qtyLots: cmd.pendingQtyLots,
    stp: cmd.stp,
    time: cmd.time,
    aboveClientOrderId: cmd.pendingClientOrderId,
    aboveType: cmd.pendingType,
    aboveTif: cmd.pendingTif,
    abovePriceTicks: cmd.pendingPriceTicks,
    aboveStopPriceTicks: cmd.pendingStopPriceTicks,
    belowClientOrderId: cmd.pendingBelowClientOrderId!,
    belowType: cmd.pendingBelowType!,
    belowTif: cmd.pendingBelowTif!,
    belowPriceTicks: cmd.pendingBelowPriceTicks!,
    belowStopPriceTicks: cmd.pendingBelowStopPriceTicks!,
  };
}

/** Is the order the working order of an OTO list (whose end decides the pending orders' fate)? */
export function isWorkingOrder(list: OrderList, order: OrderRecord): boolean {
  return list.contingencyType === "OTO" && list.orderIds[0] === order.orderId;
}

/**
 * The OCO pair of a list as the book links them: an OCO's legs, an OTOCO's pending legs (once
 * placed); an OTO has none.
 */
export function linkedPair(list: OrderList): [number, number] | undefined {
  if (list.contingencyType === "OCO") return list.orderIds as [number, number];
  return list.orderIds.length === 3 ? [list.orderIds[1]!, list.orderIds[2]!] : undefined;
}

/** The order's list while it holds the legs' one reservation (both legs open). */
export function listHolding(s: CoreState, order: OrderRecord): OrderList | undefined {
  if (order.orderListId === undefined) return undefined;
  const list = s.lists.get(order.orderListId);
  // An OPO list's reservation is what its working order bought, not what that order spends.
  if (!list || isWorkingOrder(list, order)) return undefined;
  return list.listOrderStatus === "EXECUTING" && list.reserved > 0n ? list : undefined;
}

/**
 * A leg of `list` is done, so the list is (Binance: ALL_DONE once one leg fills, triggers or
 * ends, the other expiring). The other leg, if still open, takes over the reservation, less
 * what it no longer needs (a limit BUY: its remaining quantity at its price; a running market
 * buy keeps its whole budget); else what is left is released.
 */
export function legDone(s: CoreState, list: OrderList, status: OrderRecord["status"]): void {
  list.updateTime = s.now;
  // An OTO's working order may be forgotten already (retention): only open orders matter here.
  const open = list.orderIds.flatMap((id) => {
    const o = s.orders.get(id);
    return o && !isDone(o) ? [o] : [];
  });
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
    const pair = linkedPair(l);
    if (l.marketId !== marketId || l.listOrderStatus !== "EXECUTING" || !pair) continue;
    const [a, b] = pair;
    const open = [a, b].every((id) => inBook(s.orders.get(id)!) && !unmatched.has(id));
    if (open) pairs.push([a, b]);
  }
  return pairs.sort((x, y) => x[0] - y[0]);
}
