import type { Market } from "../../domain/src/index.ts";
import { priceToTicks, quantityToLots } from "../../domain/src/index.ts";
import { EventType, OrderType, RejectReason, TimeInForce, triggersAs } from "../../matching/src/index.ts";
import { pageOf } from "../../store/src/index.ts";
import type { OrderList, OrderRecord, PlaceOco } from "../../ubscore/src/index.ts";
import {
  DECIMAL,
  endTime,
  limit,
  newClientOrderId,
  newOrderParams,
  requiredSymbol,
  startTime,
} from "./common-params.ts";
import { type Args, endpoint } from "./endpoint.ts";
import { ApiError, errors } from "./errors.ts";
import { newOrderView, ORDER_TYPE, type RespType, SIDE, STP, TIF } from "./format.ts";
import { clientOrderIdOrRandom } from "./new-order.ts";
import { field, marketOf, type RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";

/** Binance's order lists: OCOs placed, queried and cancelled (orderList endpoints). */

const LEG_TYPES = [
  "STOP_LOSS_LIMIT",
  "STOP_LOSS",
  "LIMIT_MAKER",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
] as const;

/** One leg's parameters (`above...` or `below...`), as Binance names them. */
function legParams<const P extends "above" | "below">(leg: P) {
  return {
    [`${leg}Type`]: {
      type: "enum",
      values: LEG_TYPES,
      required: true,
      error: errors.invalidOrderType,
      description: `The ${leg} order's type: ${LEG_TYPES.join(", ")}`,
      example: leg === "above" ? "LIMIT_MAKER" : "STOP_LOSS_LIMIT",
    },
    [`${leg}ClientOrderId`]: { ...newClientOrderId, description: `The ${leg} order's client order id` },
    [`${leg}Price`]: {
      type: "string",
      pattern: DECIMAL,
      description: `The ${leg} order's limit price: LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT only`,
    },
    [`${leg}StopPrice`]: {
      type: "string",
      pattern: DECIMAL,
      description: `The ${leg} order's stop price: STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT) only`,
    },
    [`${leg}TimeInForce`]: {
      type: "enum",
      values: ["GTC", "IOC", "FOK"],
      error: errors.invalidTif,
      description: `The ${leg} order's time in force: STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT only, required there`,
    },
  } as {
    [K in `${P}Type`]: {
      type: "enum";
      values: typeof LEG_TYPES;
      required: true;
      error: () => ApiError;
      description: string;
    };
  } & { [K in `${P}ClientOrderId`]: typeof newClientOrderId } & {
    [K in `${P}Price` | `${P}StopPrice`]: { type: "string"; pattern: string; description: string };
  } & {
    [K in `${P}TimeInForce`]: {
      type: "enum";
      values: readonly ["GTC", "IOC", "FOK"];
      error: () => ApiError;
      description: string;
    };
  };
}

const ocoParams = {
  symbol: requiredSymbol,
  listClientOrderId: { ...newClientOrderId, description: "The list's client id (default: a random one)" },
  side: newOrderParams.side,
  quantity: { ...newOrderParams.quantity, required: true, description: "Both orders' quantity" },
  ...legParams("above"),
  ...legParams("below"),
  newOrderRespType: newOrderParams.newOrderRespType,
  selfTradePreventionMode: newOrderParams.selfTradePreventionMode,
} as const;

type OcoArgs = Args<typeof ocoParams>;

/** A leg's type, prices and time in force, checked the Binance way (-1102 missing, -1106 not taken). */
function readLeg(args: OcoArgs, m: Market, leg: "above" | "below") {
  const type = ORDER_TYPE[args[`${leg}Type`]];
  const runsAs = triggersAs(type);
  const price = args[`${leg}Price`];
  const stop = args[`${leg}StopPrice`];
  const tif = args[`${leg}TimeInForce`];
  const named = (p: string) => `${leg}${p}`;
  if (runsAs === OrderType.Market && price !== undefined) throw errors.notRequired(named("Price"));
  if (runsAs !== OrderType.Limit && tif !== undefined) throw errors.notRequired(named("TimeInForce"));
  if (type === OrderType.LimitMaker && stop !== undefined) throw errors.notRequired(named("StopPrice"));
  const ticks = (name: string, value: string | undefined) =>
    field("price", () => priceToTicks(m, value ?? errors.mandatory(named(name)).throwSelf()));
  return {
    [`${leg}ClientOrderId`]: clientOrderIdOrRandom(args[`${leg}ClientOrderId`]),
    [`${leg}Type`]: type,
    [`${leg}Tif`]:
      runsAs === OrderType.Limit
        ? TIF[tif ?? errors.mandatory(named("TimeInForce")).throwSelf()]
        : runsAs === OrderType.Market
          ? TimeInForce.IOC
          : TimeInForce.GTC,
    [`${leg}PriceTicks`]: runsAs === OrderType.Market ? 0 : ticks("Price", price),
    [`${leg}StopPriceTicks`]: type === OrderType.LimitMaker ? 0 : ticks("StopPrice", stop),
  };
}

const listIds = {
  orderListId: s.int,
  contingencyType: s.str,
  listStatusType: s.str,
  listOrderStatus: s.str,
  listClientOrderId: s.str,
  transactionTime: s.int,
  symbol: s.str,
  orders: s.arr(s.obj({ symbol: s.str, orderId: s.int, clientOrderId: s.str })),
};
const orderListSchema = s.obj(listIds);
const orderListWithReports = s.obj({ ...listIds, orderReports: s.arr(s.obj({ orderId: s.int })) });

/** Binance's order list: its status and its orders' ids (GET orderList, allOrderList, openOrderList). */
function orderListView(ctx: RouteContext, list: OrderList) {
  const m = ctx.core.exchange.marketById(list.marketId)!;
  return {
    orderListId: list.orderListId,
    contingencyType: list.contingencyType,
    listStatusType: list.listStatusType,
    listOrderStatus: list.listOrderStatus,
    listClientOrderId: list.listClientOrderId,
    transactionTime: list.transactionTime,
    symbol: m.symbol,
    orders: list.orderIds.map((orderId) => ({
      symbol: m.symbol,
      orderId,
      clientOrderId: ctx.core.order(orderId)?.clientOrderId ?? "",
    })),
  };
}

/** An order of a list as placing or cancelling the list reports it (as of its last change). */
function legReport(m: Market, o: OrderRecord, respType: RespType = "RESULT") {
  return { ...newOrderView(m, o, respType), transactTime: o.updateTime };
}

const placeOco = endpoint({
  method: "POST",
  path: "/api/v3/orderList/oco",
  summary: "Place an OCO: two orders, the first to fill or trigger expiring the other",
  security: "TRADE",
  params: ocoParams,
  weight: 1,
  orderCount: 2,
  ws: "orderList.place.oco",
  response: orderListWithReports,
  errors: [-1013, -1106, -1111, -2010],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const cmd: PlaceOco = {
      kind: "placeOco",
      userId: key.userId,
      symbol: m.symbol,
      listClientOrderId: clientOrderIdOrRandom(args.listClientOrderId),
      side: SIDE[args.side],
      qtyLots: field("quantity", () => quantityToLots(m, args.quantity)),
      stp: STP[args.selfTradePreventionMode],
      time: ctx.clock(),
      ...(readLeg(args, m, "above") as Pick<PlaceOco, `above${string}` & keyof PlaceOco>),
      ...(readLeg(args, m, "below") as Pick<PlaceOco, `below${string}` & keyof PlaceOco>),
      ...once,
    } as PlaceOco;
    const result = await ctx.submit(() => ctx.service.submit(cmd));
    const { orders, orderList, events } = result;
    if (orders!.some((o) => o.status === "REJECTED")) {
      const refused = events.find((e) => e.type === EventType.Rejected);
      throw refused?.type === EventType.Rejected && refused.reason === RejectReason.WouldTriggerImmediately
        ? errors.wouldTrigger()
        : errors.wouldTake();
    }
    return {
      ...orderListView(ctx, orderList!),
      orderReports: orders!.map((o) => legReport(m, o, args.newOrderRespType ?? "RESULT")),
    };
  },
});

/** The user's list named by `orderListId` or, failing that, its client id. */
function findList(
  ctx: RouteContext,
  userId: number,
  ref: { orderListId?: number; listClientOrderId?: string },
): OrderList | undefined {
  const list =
    ref.orderListId !== undefined
      ? ctx.core.orderList(ref.orderListId)
      : ctx.core.orderListByClientId(userId, ref.listClientOrderId!);
  return list?.userId === userId ? list : undefined;
}

const listId = { type: "integer", description: "The order list's id", min: 1 } as const;

const queryOrderList = endpoint({
  method: "GET",
  path: "/api/v3/orderList",
  summary: "Query an order list",
  security: "USER_DATA",
  params: {
    orderListId: listId,
    origClientOrderId: { type: "string", description: "The list's client id (listClientOrderId)" },
  },
  oneOf: ["orderListId", "origClientOrderId"],
  weight: 4,
  ws: "orderList.status",
  response: orderListSchema,
  errors: [-2013],
  handler: async ({ args, key }, ctx: RouteContext) => {
    const list = findList(ctx, key.userId, {
      orderListId: args.orderListId,
      listClientOrderId: args.origClientOrderId,
    });
    if (!list) throw new ApiError(400, -2013, "Order list does not exist.");
    return orderListView(ctx, list);
  },
});

const cancelOrderList = endpoint({
  method: "DELETE",
  path: "/api/v3/orderList",
  summary: "Cancel an order list (both its orders)",
  security: "TRADE",
  params: {
    symbol: requiredSymbol,
    orderListId: listId,
    listClientOrderId: { type: "string", description: "The list's client id" },
    newClientOrderId: { type: "string", description: "Accepted; Bourse keeps the list's own id" },
  },
  oneOf: ["orderListId", "listClientOrderId"],
  weight: 1,
  ws: "orderList.cancel",
  response: orderListWithReports,
  errors: [-2011],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const list = findList(ctx, key.userId, args);
    const open = list?.listOrderStatus === "EXECUTING" && list.marketId === m.id ? list : undefined;
    if (!open) throw new ApiError(400, -2011, "Unknown order list sent.");
    // Cancelling either order cancels both (the book keeps them linked).
    const { order } = await ctx.submit(
      () =>
        ctx.service.submit({
          kind: "cancel",
          userId: key.userId,
          symbol: m.symbol,
          orderId: open.orderIds[0],
          time: ctx.clock(),
          ...once,
        }),
      errors.cancelRejected,
    );
    const legs = open.orderIds.map((id) => ctx.core.order(id) ?? order!);
    return {
      ...orderListView(ctx, open),
      orderReports: legs.map((o) => ({ ...legReport(m, o), origClientOrderId: o.clientOrderId })),
    };
  },
});

const allOrderLists = endpoint({
  method: "GET",
  path: "/api/v3/allOrderList",
  summary: "Your order lists",
  security: "USER_DATA",
  params: {
    fromId: { type: "integer", description: "The first order list id to return (inclusive)" },
    startTime,
    endTime,
    limit: limit(1000, 500),
  },
  weight: 20,
  ws: "allOrderLists",
  response: s.arr(orderListSchema),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const lists = ctx.core
      .orderLists(key.userId)
      .filter(
        (l) =>
          (args.startTime === undefined || l.transactionTime >= args.startTime) &&
          (args.endTime === undefined || l.transactionTime <= args.endTime),
      );
    const page = { fromId: args.fromId, limit: args.limit };
    return pageOf(lists, (l) => l.orderListId, page).map((l) => orderListView(ctx, l));
  },
});

const openOrderLists = endpoint({
  method: "GET",
  path: "/api/v3/openOrderList",
  summary: "Your open order lists",
  security: "USER_DATA",
  params: {},
  weight: 6,
  ws: "openOrderLists.status",
  response: s.arr(orderListSchema),
  handler: async ({ key }, ctx: RouteContext) =>
    ctx.core.orderLists(key.userId, true).map((l) => orderListView(ctx, l)),
});

export const orderListEndpoints = [placeOco, queryOrderList, cancelOrderList, allOrderLists, openOrderLists];
