import type { Market } from "../../domain/src/index.ts";
import { lotsToQuantity, quantityToLots, ticksToPrice } from "../../domain/src/index.ts";
import { EventType, isTriggered, type OrderType } from "../../matching/src/index.ts";
import type { StoredOrder } from "../../store/src/index.ts";
import type { OrderRecord } from "../../ubscore/src/index.ts";
import { checkOrderFilters } from "../../ubscore/src/index.ts";
import {
  DECIMAL,
  limit,
  newClientOrderId,
  newOrderParams,
  orderId,
  origClientOrderId,
  requiredSymbol,
  symbol,
} from "./common-params.ts";
import { endpoint } from "./endpoint.ts";
import { ApiError, errors, toApiError } from "./errors.ts";
import { newOrderView, orderView } from "./format.ts";
import { clientOrderIdOrRandom, readNewOrder } from "./new-order.ts";
import { feeRate, field, marketOf, type RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";

/** Placing, querying and cancelling orders (Binance's TRADE and USER_DATA order endpoints). */

/** Errors of a change UBSCore refuses: a filter (-1013), funds or a halt (-2010), precision (-1111). */
const ORDER_REFUSALS = [-1013, -1111, -1106, -2010];

const placeOrder = endpoint({
  method: "POST",
  path: "/api/v3/order",
  summary: "Place an order",
  security: "TRADE",
  params: newOrderParams,
  weight: 1,
  orderCount: 1,
  ws: "order.place",
  response: s.newOrder,
  errors: ORDER_REFUSALS,
  handler: async ({ args, key, once, call }, ctx: RouteContext) => {
    const {
      market: m,
      order: place,
      respType,
    } = readNewOrder(args, ctx.core.exchange, key.userId, ctx.clock());
    // Not `{ ...place, ...once }`: two spreads made V8 build a new hidden class per order (~6 µs on Node 20).
    const { order } = await ctx.submit(() => ctx.service.submit(Object.assign({}, place, once)));
    // The request's log line names the order it made (a no-op unless request logs are on).
    call.log.info({ orderId: order!.orderId, status: order!.status }, "order placed");
    if (order!.status === "REJECTED") throw refusal(order!.type);
    return newOrderView(m, order!, respType);
  },
});

/** Why the book refused a new order: a post-only one would take, a triggered one would go off at once. */
const refusal = (type: OrderType) => (isTriggered(type) ? errors.wouldTrigger() : errors.wouldTake());

const testOrder = endpoint({
  method: "POST",
  path: "/api/v3/order/test",
  summary: "Check an order as placing it would (parameters and filters), without placing it",
  security: "TRADE",
  params: {
    ...newOrderParams,
    computeCommissionRates: {
      type: "enum",
      values: ["true", "false"],
      default: "false",
      description: "true: answer the commission rates",
    },
  },
  weight: 1,
  ws: "order.test",
  response: s.empty,
  errors: ORDER_REFUSALS,
  handler: async ({ args, key }, ctx: RouteContext) => {
    const { market: m, order } = readNewOrder(args, ctx.core.exchange, key.userId, ctx.clock());
    try {
      checkOrderFilters(m, order);
    } catch (e) {
      throw toApiError(e);
    }
    if (args.computeCommissionRates === "false") return {};
    const none = feeRate(0n);
    return {
      standardCommissionForOrder: { maker: feeRate(m.makerFeePpm), taker: feeRate(m.takerFeePpm) },
      specialCommissionForOrder: { maker: none, taker: none },
      taxCommissionForOrder: { maker: none, taker: none },
      discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: "BNB", discount: none },
    };
  },
});

/** An existing order is named by `orderId` or `origClientOrderId` (at least one). */
const orderRef = { symbol: requiredSymbol, orderId, origClientOrderId } as const;

const queryOrder = endpoint({
  method: "GET",
  path: "/api/v3/order",
  summary: "Query an order",
  security: "USER_DATA",
  params: orderRef,
  oneOf: ["origClientOrderId", "orderId"],
  weight: 4,
  ws: "order.status",
  response: s.order,
  errors: [-2013],
  handler: async ({ args, key }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    return orderView(m, await findOrder(ctx, key.userId, m, args));
  },
});

/** An order UBSCore still holds, else one from the history store. */
async function findOrder(
  ctx: RouteContext,
  userId: number,
  m: Market,
  { orderId, origClientOrderId }: { orderId?: number; origClientOrderId?: string },
): Promise<OrderRecord | StoredOrder> {
  const { core, history } = ctx;
  const recent =
    orderId !== undefined ? core.order(orderId) : core.orderByClientId(userId, origClientOrderId!);
  // Until UBSCore has forgotten an order, what it does not hold does not exist.
  const order =
    recent ??
    (!core.hasForgottenOrders()
      ? undefined
      : orderId !== undefined
        ? await history.order(orderId)
        : await history.orderByClientId(userId, m.id, origClientOrderId!));
  if (!order || order.userId !== userId || order.marketId !== m.id) throw errors.noSuchOrder();
  return order;
}

/** Cancels one order; its view with the client id it was placed under. */
async function cancel(
  ctx: RouteContext,
  m: Market,
  ref: { userId: number; orderId?: number; clientOrderId?: string },
  once: { signature: Uint8Array; validUntil: number },
) {
  const { order } = await ctx.submit(
    () =>
      ctx.service.submit({
        kind: "cancel",
        userId: ref.userId,
        symbol: m.symbol,
        orderId: ref.orderId,
        clientOrderId: ref.orderId === undefined ? ref.clientOrderId : undefined,
        time: ctx.clock(),
        ...once,
      }),
    errors.cancelRejected,
  );
  const asked = askedOrder(ctx, order!, ref);
  return { ...orderView(m, asked), origClientOrderId: asked.clientOrderId };
}

/** The order a cancel named: an OTO's pending order is cancelled by cancelling its working order. */
function askedOrder(
  ctx: RouteContext,
  order: OrderRecord,
  ref: { orderId?: number; clientOrderId?: string },
): OrderRecord {
  if (order.orderListId === undefined) return order;
  const ids = ctx.core.orderList(order.orderListId)?.orderIds ?? [];
  const named = ids
    .map((id) => ctx.core.order(id))
    .find((o) =>
      ref.orderId !== undefined ? o?.orderId === ref.orderId : o?.clientOrderId === ref.clientOrderId,
    );
  return named ?? order;
}

const cancelOrder = endpoint({
  method: "DELETE",
  path: "/api/v3/order",
  summary: "Cancel an order",
  security: "TRADE",
  params: {
    ...orderRef,
    newClientOrderId: { type: "string", description: "Accepted; Bourse keeps the order's own id" },
  },
  oneOf: ["origClientOrderId", "orderId"],
  weight: 1,
  ws: "order.cancel",
  response: s.cancelledOrder,
  errors: [-2011],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    return cancel(
      ctx,
      m,
      { userId: key.userId, orderId: args.orderId, clientOrderId: args.origClientOrderId },
      once,
    );
  },
});

const openOrders = endpoint({
  method: "GET",
  path: "/api/v3/openOrders",
  summary: "Open orders",
  security: "USER_DATA",
  params: { symbol },
  weight: (q) => (q.has("symbol") ? 6 : 80),
  ws: "openOrders.status",
  response: s.arr(s.order),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const { core } = ctx;
    const m = args.symbol === undefined ? undefined : marketOf(ctx, args.symbol);
    return core.openOrders(key.userId, m?.id).map((o) => orderView(core.exchange.marketById(o.marketId)!, o));
  },
});

const cancelOpenOrders = endpoint({
  method: "DELETE",
  path: "/api/v3/openOrders",
  summary: "Cancel all open orders on a market",
  security: "TRADE",
  params: { symbol: requiredSymbol },
  weight: 1,
  ws: "openOrders.cancelAll",
  response: s.arr(s.cancelledOrder),
  errors: [-2011],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const { orders, listOrders } = await ctx.submit(
      () =>
        ctx.service.submit({
          kind: "cancelAll",
          userId: key.userId,
          symbol: m.symbol,
          time: ctx.clock(),
          ...once,
        }),
      errors.cancelRejected,
    );
    // OTO lists' pending orders, cancelled with their working orders (not in the book's events).
    const pending = (listOrders ?? []).flatMap((c) => {
      const o = c.execution === "CANCELED" ? ctx.core.order(c.orderId) : undefined;
      return o ? [o] : [];
    });
    return [...orders!, ...pending]
      .sort((a, b) => a.orderId - b.orderId)
      .map((o) => ({ ...orderView(m, o), origClientOrderId: o.clientOrderId }));
  },
});

const unknownOrder = () => new ApiError(400, -2038, "Unknown order sent.");

/**
 * Lowers an open order's quantity where it stands in its queue (UBSCore's journaled `amend`, a
 * Reduce in the book), answered as Binance answers it.
 */
const amendKeepPriority = endpoint({
  method: "PUT",
  path: "/api/v3/order/amend/keepPriority",
  summary: "Reduce an open order's quantity, keeping its place in the queue",
  security: "TRADE",
  params: {
    ...orderRef,
    newClientOrderId: {
      ...newClientOrderId,
      description: "The order's client order id after the amend (default: a random one)",
    },
    newQty: {
      type: "string",
      pattern: DECIMAL,
      required: true,
      description: "The order's new quantity: below it, above its executed quantity",
    },
  },
  oneOf: ["origClientOrderId", "orderId"],
  weight: 4,
  ws: "order.amend.keepPriority",
  response: s.obj({ transactTime: s.int, executionId: s.int, amendedOrder: s.amendedOrder }),
  errors: [-1013, -2038],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const newQtyLots = field("newQty", () => quantityToLots(m, args.newQty));
    const renamed = clientOrderIdOrRandom(args.newClientOrderId);
    const { core } = ctx;
    // The id it has now, for the answer's origClientOrderId (the amend may rename it).
    const before =
      args.orderId !== undefined
        ? core.order(args.orderId)
        : core.orderByClientId(key.userId, args.origClientOrderId!);
    const origClientOrderId = before?.clientOrderId ?? args.origClientOrderId ?? "";
    const time = ctx.clock();
    const result = await ctx.submit(
      () =>
        ctx.service.submit({
          kind: "amend",
          userId: key.userId,
          symbol: m.symbol,
          orderId: args.orderId,
          clientOrderId: args.orderId === undefined ? args.origClientOrderId : undefined,
          newClientOrderId: renamed,
          newQtyLots,
          time,
          ...once,
        }),
      unknownOrder,
    );
    if (result.error) throw result.error.code === "UNKNOWN_ORDER" ? unknownOrder() : toApiError(result.error);
    const amended = result.events.find((e) => e.type === EventType.Amended);
    return {
      transactTime: time,
      executionId: amended?.seq ?? 0,
      amendedOrder: amendedOrderView(m, result.order!, origClientOrderId),
    };
  },
});

/** Binance's `amendedOrder`: the order as the amend left it, and the client order id it had. */
function amendedOrderView(m: Market, o: OrderRecord, origClientOrderId: string) {
  const v = orderView(m, o);
  return {
    symbol: v.symbol,
    orderId: v.orderId,
    orderListId: v.orderListId,
    origClientOrderId,
    clientOrderId: v.clientOrderId,
    price: ticksToPrice(m, o.priceTicks),
    qty: lotsToQuantity(m, o.origQtyLots),
    executedQty: v.executedQty,
    preventedQty: lotsToQuantity(m, 0),
    quoteOrderQty: v.origQuoteOrderQty,
    cumulativeQuoteQty: v.cummulativeQuoteQty,
    status: v.status,
    timeInForce: v.timeInForce,
    type: v.type,
    side: v.side,
    workingTime: v.workingTime,
    selfTradePreventionMode: v.selfTradePreventionMode,
  };
}

/** Binance's order/amendments: an order's amends (keepPriority), oldest first. */
const orderAmendments = endpoint({
  method: "GET",
  path: "/api/v3/order/amendments",
  summary: "An order's amends (keepPriority), oldest first",
  security: "USER_DATA",
  params: {
    symbol: requiredSymbol,
    orderId: { ...orderId, required: true },
    fromExecutionId: { type: "integer", min: 0, description: "The first amend to list, by its executionId" },
    limit: limit(1000, 500),
  },
  weight: 4,
  ws: "order.amendments",
  response: s.arr(s.amendment),
  errors: [-2013],
  handler: async ({ args, key }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const order = await findOrder(ctx, key.userId, m, args);
    // The history store keeps an order's last state, not its amends: those of an order UBSCore
    // has forgotten are not listed.
    const amendments = "amendments" in order ? (order.amendments ?? []) : [];
    return amendments
      .filter((a) => args.fromExecutionId === undefined || a.executionId >= args.fromExecutionId)
      .slice(0, args.limit)
      .map((a) => ({
        symbol: m.symbol,
        orderId: order.orderId,
        executionId: a.executionId,
        origClientOrderId: a.origClientOrderId,
        newClientOrderId: a.newClientOrderId,
        origQty: lotsToQuantity(m, a.origQtyLots),
        newQty: lotsToQuantity(m, a.newQtyLots),
        time: a.time,
      }));
  },
});

type Attempt = { ok: true; view: unknown } | { ok: false; error: ApiError };

const attempt = <T>(run: Promise<T>, view: (value: T) => Attempt): Promise<Attempt> =>
  run.then(view, (e: unknown) => ({ ok: false as const, error: toApiError(e) }));

const cancelReplace = endpoint({
  method: "POST",
  path: "/api/v3/order/cancelReplace",
  summary: "Cancel an order and place a new one (cancelReplaceMode STOP_ON_FAILURE or ALLOW_FAILURE)",
  security: "TRADE",
  params: {
    cancelReplaceMode: {
      type: "enum",
      values: ["STOP_ON_FAILURE", "ALLOW_FAILURE"],
      required: true,
      description: "STOP_ON_FAILURE or ALLOW_FAILURE",
    },
    cancelOrderId: orderId,
    cancelOrigClientOrderId: origClientOrderId,
    cancelNewClientOrderId: { type: "string", description: "Accepted; Bourse keeps the order's own id" },
    ...newOrderParams,
  },
  oneOf: ["cancelOrigClientOrderId", "cancelOrderId"],
  weight: 1,
  orderCount: 1,
  ws: "order.cancelReplace",
  response: s.obj({
    cancelResult: s.str,
    newOrderResult: s.str,
    cancelResponse: s.empty,
    newOrderResponse: s.empty,
  }),
  errors: [...ORDER_REFUSALS, -2011, -2021, -2022],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const {
      market: m,
      order: place,
      respType,
    } = readNewOrder(args, ctx.core.exchange, key.userId, ctx.clock());
    // The request is taken once, by its first command: a replay is refused whatever the mode.
    const ref = {
      userId: key.userId,
      orderId: args.cancelOrderId,
      clientOrderId: args.cancelOrigClientOrderId,
    };
    const cancelled = await attempt(cancel(ctx, m, ref, once), (view) => ({ ok: true, view }));
    if (!cancelled.ok && (cancelled.error.code === -1021 || args.cancelReplaceMode === "STOP_ON_FAILURE")) {
      if (cancelled.error.code === -1021) throw cancelled.error;
      throw cancelReplaceFailure(-2022, "Order cancel-replace failed.", cancelled, undefined);
    }
    const placed = await attempt(
      ctx.submit(() => ctx.service.submit(place)),
      ({ order }) =>
        order!.status === "REJECTED"
          ? { ok: false, error: refusal(order!.type) }
          : { ok: true, view: newOrderView(m, order!, respType) },
    );
    if (cancelled.ok && placed.ok) {
      const views = { cancelResponse: cancelled.view, newOrderResponse: placed.view };
      return { cancelResult: "SUCCESS", newOrderResult: "SUCCESS", ...views };
    }
    const partly = cancelled.ok || placed.ok;
    const msg = partly ? "Order cancel-replace partially failed." : "Order cancel-replace failed.";
    throw cancelReplaceFailure(partly ? -2021 : -2022, msg, cancelled, placed);
  },
});

/**
 * Binance's answer when either half of a cancel-replace failed: each half's result, with the
 * error of a half that failed and the view of one that succeeded (HTTP 409 if one did, else 400).
 */
function cancelReplaceFailure(
  code: number,
  msg: string,
  cancel: Attempt,
  place: Attempt | undefined,
): ApiError {
  const result = (a: Attempt | undefined) =>
    a === undefined ? "NOT_ATTEMPTED" : a.ok ? "SUCCESS" : "FAILURE";
  const response = (a: Attempt | undefined) =>
    a === undefined ? null : a.ok ? a.view : { code: a.error.code, msg: a.error.message };
  const data = {
    cancelResult: result(cancel),
    newOrderResult: result(place),
    cancelResponse: response(cancel),
    newOrderResponse: response(place),
  };
  return new ApiError(cancel.ok || place?.ok ? 409 : 400, code, msg, {}, { data });
}

export const orderEndpoints = [
  placeOrder,
  testOrder,
  queryOrder,
  cancelOrder,
  cancelReplace,
  amendKeepPriority,
  orderAmendments,
  openOrders,
  cancelOpenOrders,
];
