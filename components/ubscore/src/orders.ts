import { fail, lotsToBaseUnits, type Market, notional } from "../../domain/src/index.ts";
import {
  type Command,
  CommandType,
  isTriggered,
  OrderType,
  Side,
  TimeInForce,
  triggersAs,
} from "../../matching/src/index.ts";
import { checkOrderFilters, quoteBudget } from "./order-filters.ts";
import { orderByClientId } from "./queries.ts";
import {
  balance,
  type CoreState,
  clientKey,
  insufficientBalance,
  isDone,
  isWaiting,
  MAX_SAFE,
  market as marketOf,
  min,
} from "./state.ts";
import type { AmendOrder, Balance, OrderRecord, PlaceOrder } from "./types.ts";

/**
 * Admission of order commands: each is checked whole against the filters, the user's funds and
 * open orders, and only then changes state (freezes, opens a record); what it asks of the book
 * comes back as an engine command, which the core runs on the market's book.
 */

/** An admitted command: the market whose book runs it, and what that book is told. */
export interface Admitted {
  readonly market: Market;
  readonly command: Command;
  /** An amend's new client order id, taken on when the book has done the amend. */
  readonly rename?: string;
}

export function admitOrder(s: CoreState, cmd: PlaceOrder): Admitted {
  const market = openMarket(s, cmd);
  if (s.openByClientId.has(clientKey(cmd.userId, cmd.clientOrderId)))
    fail("DUPLICATE_ORDER", "Duplicate order sent.");
  checkOrderFilters(market, cmd);
  const { asset, amount, budget, engineQty } = reservation(s, market, cmd);
  // Checked but for the balance, which freeze checks last: from there on the command changes state.
  freeze(s, cmd.time, balance(s, cmd.userId, asset), amount);
  const order = openOrderRecord(s, market, cmd, amount, asset);
  return { market, command: placeCommand(order, engineQty, budget) };
}

/** What the book is told to place for an open order: its terms, with the quantity and budget given. */
export function placeCommand(order: OrderRecord, qtyLots: number, budget: number): Command {
  return {
    type: CommandType.Place,
    orderId: order.orderId,
    userId: order.userId,
    side: order.side,
    orderType: order.type,
    tif: order.tif,
    priceTicks: order.priceTicks,
    qtyLots,
    quoteUnits: budget,
    stp: order.stp,
    ...(order.stopPriceTicks === undefined ? {} : { stopPriceTicks: order.stopPriceTicks }),
  };
}

/**
 * Freezes what a new order (or order list) reserves, once it is admitted: refused, changing
 * nothing, unless the balance holds it all.
 */
export function freeze(s: CoreState, time: number, b: Balance, amount: bigint): void {
  if (b.available < amount || amount <= 0n) insufficientBalance();
  s.now = time;
  b.available -= amount;
  b.frozen += amount;
}

/** The market a new order of a known user goes to, unless it is halted. */
export function openMarket(s: CoreState, cmd: { readonly symbol: string; readonly userId: number }): Market {
  const market = marketOf(s, cmd.symbol);
  s.balances.get(cmd.userId) ?? fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
  if (s.halted.has(market.id)) fail("MARKET_HALTED", `market ${market.symbol} is halted`);
  return market;
}

/** A new open order of `cmd` under the next order id, holding `reserved` (indexed as open). */
export function openOrderRecord(
  s: CoreState,
  market: Market,
  cmd: PlaceOrder,
  reserved: bigint,
  reserveAsset: number,
  orderListId?: number,
): OrderRecord {
  const marketLike = triggersAs(cmd.type) === OrderType.Market;
  const order: OrderRecord = {
    orderId: s.nextOrderId++,
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
  s.orders.set(order.orderId, order);
  s.openByClientId.set(clientKey(cmd.userId, cmd.clientOrderId), order.orderId);
  const users = s.openByUser.get(cmd.userId) ?? new Set<number>();
  s.openByUser.set(cmd.userId, users.add(order.orderId));
  return order;
}

/** What an order freezes, and the quantity and quote budget handed to the engine. */
export interface Reservation {
  readonly asset: number;
  readonly amount: bigint;
  readonly budget: number;
  readonly engineQty: number;
}

/**
 * What the order freezes (asset id and amount), and the quantity and quote budget handed to
 * the engine, chosen so that a market order can never spend or sell more than was frozen.
 * Fees come out of what each side receives (tradeAmounts): a buy freezes exactly what it may
 * spend, a sell exactly what it may sell.
 */
export function reservation(s: CoreState, market: Market, cmd: PlaceOrder): Reservation {
  return cmd.side === Side.Buy ? buyReservation(s, market, cmd) : sellReservation(s, market, cmd);
}

function buyReservation(s: CoreState, market: Market, cmd: PlaceOrder): Reservation {
  const quote = market.quote.id;
  // A triggered order freezes what the order it runs as would, from the moment it is accepted.
  if (triggersAs(cmd.type) !== OrderType.Market) {
    const n = notional(market, cmd.priceTicks, cmd.qtyLots);
    return { asset: quote, amount: n, budget: 0, engineQty: cmd.qtyLots };
  }
  // By quote amount (quoteOrderQty): spend up to that amount. By quantity: the worst case is
  // every lot at the market's maximum price; freeze what is available up to that, and let the
  // budget stop the order where the money ends.
  const available = balance(s, cmd.userId, quote).available;
  const amount =
    cmd.quoteUnits > 0n
      ? cmd.quoteUnits
      : min(notional(market, market.maxPriceTicks, cmd.qtyLots), available);
  return { asset: quote, amount, budget: Number(min(amount, MAX_SAFE)), engineQty: cmd.qtyLots };
}

function sellReservation(s: CoreState, market: Market, cmd: PlaceOrder): Reservation {
  const base = market.base.id;
  if (cmd.qtyLots > 0) {
    return { asset: base, amount: lotsToBaseUnits(market, cmd.qtyLots), budget: 0, engineQty: cmd.qtyLots };
  }
  // SELL MARKET by quote amount: sell at most what is available, until the amount is received.
  const lots = balance(s, cmd.userId, base).available / market.lotUnits;
  if (lots > MAX_SAFE) fail("OUT_OF_RANGE", "balance too large for one order");
  return { asset: base, amount: lots * market.lotUnits, budget: quoteBudget(cmd), engineQty: Number(lots) };
}

/** The user's open order in the market named by its id or, failing that, its client order id. */
function openOrder(
  s: CoreState,
  userId: number,
  market: Market,
  orderId?: number,
  clientOrderId?: string,
): OrderRecord {
  const order =
    orderId !== undefined
      ? s.orders.get(orderId)
      : clientOrderId !== undefined
        ? orderByClientId(s, userId, clientOrderId)
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
export function admitAmend(s: CoreState, cmd: AmendOrder): Admitted {
  const market = marketOf(s, cmd.symbol);
  const order = openOrder(s, cmd.userId, market, cmd.orderId, cmd.clientOrderId);
  if (isWaiting(order))
    fail("AMEND_REJECTED", "Order amend is not supported for an order waiting for its stop price.");
  if (order.orderListId !== undefined)
    fail("AMEND_REJECTED", "Order amend is not supported for an order of an order list.");
  checkNewQuantity(market, order, cmd.newQtyLots);
  const renamed = s.openByClientId.get(clientKey(cmd.userId, cmd.newClientOrderId));
  if (renamed !== undefined && renamed !== order.orderId) fail("AMEND_REJECTED", "Duplicate order sent.");
  // Two reduces in flight would each be computed from the same quantity: one at a time.
  const pending = s.remote[market.id]?.pending ?? [];
  if (pending.some((f) => f.command.type === CommandType.Reduce && f.command.orderId === order.orderId))
    fail("AMEND_REJECTED", "An amend of this order is still being processed.");
  s.now = cmd.time;
  const command: Command = {
    type: CommandType.Reduce,
    orderId: order.orderId,
    userId: cmd.userId,
    qtyLots: order.origQtyLots - cmd.newQtyLots,
  };
  return { market, command, rename: cmd.newClientOrderId };
}

/** An amend's new quantity: less than the order asks, more than it has executed, in LOT_SIZE. */
function checkNewQuantity(market: Market, order: OrderRecord, qty: number): void {
  if (!Number.isSafeInteger(qty) || qty <= 0) fail("INVALID_ARGUMENT", "newQty must be greater than 0.");
  if (qty === order.origQtyLots)
    fail("AMEND_REJECTED", "The requested action would change no state; rejecting");
  if (qty > order.origQtyLots) fail("AMEND_REJECTED", "Order amend (quantity increase) is not supported.");
  if (qty <= order.executedLots)
    fail("AMEND_REJECTED", "Order amend would leave nothing to execute: newQty must exceed executedQty.");
  if (qty < market.minQtyLots) fail("OUT_OF_RANGE", "Filter failure: LOT_SIZE");
}

export function admitCancel(
  s: CoreState,
  cmd: {
    readonly userId: number;
    readonly symbol: string;
    readonly time: number;
    readonly orderId?: number;
    readonly clientOrderId?: string;
  },
): Admitted {
  const market = marketOf(s, cmd.symbol);
  const order = openOrder(s, cmd.userId, market, cmd.orderId, cmd.clientOrderId);
  s.now = cmd.time;
  // A pending order is not in the book: cancelling it cancels its working order, and the list.
  const target =
    order.status === "PENDING_NEW" ? s.lists.get(order.orderListId!)!.orderIds[0]! : order.orderId;
  return { market, command: { type: CommandType.Cancel, orderId: target, userId: cmd.userId } };
}

export function admitCancelAll(
  s: CoreState,
  cmd: { readonly userId: number; readonly symbol: string; readonly time: number },
): Admitted {
  const market = marketOf(s, cmd.symbol);
  if (!hasOpenOrder(s, cmd.userId, market.id)) fail("UNKNOWN_ORDER", "Unknown order sent.");
  s.now = cmd.time;
  return { market, command: { type: CommandType.CancelAll, userId: cmd.userId } };
}

function hasOpenOrder(s: CoreState, userId: number, marketId: number): boolean {
  for (const id of s.openByUser.get(userId) ?? []) if (s.orders.get(id)!.marketId === marketId) return true;
  return false;
}
