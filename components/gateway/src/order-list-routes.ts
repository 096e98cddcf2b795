import type { Market } from "../../domain/src/index.ts";
import { priceToTicks, quantityToLots } from "../../domain/src/index.ts";
import {
  EventType,
  isTriggered,
  OrderType,
  RejectReason,
  TimeInForce,
  triggersAs,
} from "../../matching/src/index.ts";
import { pageOf } from "../../store/src/index.ts";
import type { CommandResult, OrderList, OrderRecord, PlaceOco, PlaceOto } from "../../ubscore/src/index.ts";
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

/** One leg's parameters (`above...`, `below...`, an OTOCO's `pendingAbove...`), as Binance names them. */
function legParams<const P extends string>(leg: P) {
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

/**
 * An order's terms from its `<prefix>Type`, `<prefix>Price`, `<prefix>StopPrice`,
 * `<prefix>TimeInForce` and `<prefix>ClientOrderId`, checked the Binance way (-1102 missing,
 * -1106 sent where the type takes none). Prices in ticks, 0 where the type has none.
 */
function readTerms(args: object, m: Market, prefix: string) {
  const a = args as Record<string, string | undefined>;
  const named = (p: string) => `${prefix}${p}`;
  const type = ORDER_TYPE[a[named("Type")] as keyof typeof ORDER_TYPE];
  const runsAs = triggersAs(type);
  const [price, stop, tif] = [a[named("Price")], a[named("StopPrice")], a[named("TimeInForce")]];
  if (runsAs === OrderType.Market && price !== undefined) throw errors.notRequired(named("Price"));
  if (runsAs !== OrderType.Limit && tif !== undefined) throw errors.notRequired(named("TimeInForce"));
  if (!isTriggered(type) && stop !== undefined) throw errors.notRequired(named("StopPrice"));
  const ticks = (name: string, value: string | undefined) =>
    field("price", () => priceToTicks(m, value ?? errors.mandatory(named(name)).throwSelf()));
  return {
    clientOrderId: clientOrderIdOrRandom(a[named("ClientOrderId")]),
    type,
    tif:
      runsAs === OrderType.Limit
        ? TIF[(tif ?? errors.mandatory(named("TimeInForce")).throwSelf()) as keyof typeof TIF]
        : runsAs === OrderType.Market
          ? TimeInForce.IOC
          : TimeInForce.GTC,
    priceTicks: runsAs === OrderType.Market ? 0 : ticks("Price", price),
    stopPriceTicks: isTriggered(type) ? ticks("StopPrice", stop) : 0,
  };
}

/** An OCO leg's terms under the command's names for that leg. */
function readLeg(args: OcoArgs, m: Market, leg: "above" | "below") {
  const t = readTerms(args, m, leg);
  return {
    [`${leg}ClientOrderId`]: t.clientOrderId,
    [`${leg}Type`]: t.type,
    [`${leg}Tif`]: t.tif,
    [`${leg}PriceTicks`]: t.priceTicks,
    [`${leg}StopPriceTicks`]: t.stopPriceTicks,
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
    const { orders, orderList } = result;
    refuseRejected(result, orders!);
    return {
      ...orderListView(ctx, orderList!),
      orderReports: orders!.map((o) => legReport(m, o, args.newOrderRespType ?? "RESULT")),
    };
  },
});

/** A list whose orders the book rejected at once (a LIMIT_MAKER that would take, a stop already reached): -2010. */
function refuseRejected(result: CommandResult, orders: readonly OrderRecord[]): void {
  if (!orders.some((o) => o.status === "REJECTED")) return;
  const refused = result.events.find((e) => e.type === EventType.Rejected);
  throw refused?.type === EventType.Rejected && refused.reason === RejectReason.WouldTriggerImmediately
    ? errors.wouldTrigger()
    : errors.wouldTake();
}

/** The working order's parameters, shared by OTO and OTOCO. */
const workingParams = {
  workingType: {
    type: "enum",
    values: ["LIMIT", "LIMIT_MAKER"],
    required: true,
    error: errors.invalidOrderType,
    description: "The working order's type: LIMIT or LIMIT_MAKER",
    example: "LIMIT",
  },
  workingSide: { ...newOrderParams.side, description: "The working order's side" },
  workingClientOrderId: { ...newClientOrderId, description: "The working order's client order id" },
  workingPrice: {
    type: "string",
    pattern: DECIMAL,
    required: true,
    description: "The working order's limit price",
    example: "60000",
  },
  workingQuantity: {
    ...newOrderParams.quantity,
    required: true,
    description: "The working order's quantity",
  },
  workingTimeInForce: {
    ...newOrderParams.timeInForce,
    description: "The working order's time in force: LIMIT only, and required there",
  },
} as const;

const listHead = {
  symbol: requiredSymbol,
  listClientOrderId: { ...newClientOrderId, description: "The list's client id (default: a random one)" },
  newOrderRespType: newOrderParams.newOrderRespType,
  selfTradePreventionMode: newOrderParams.selfTradePreventionMode,
} as const;

const pendingSideParam = {
  pendingSide: { ...newOrderParams.side, description: "The pending order(s)' side" },
} as const;

const pendingQuantityParam = {
  pendingQuantity: {
    ...newOrderParams.quantity,
    required: true,
    description: "The pending order(s)' quantity",
  },
} as const;

const pendingOrderParams = {
  pendingType: {
    ...newOrderParams.type,
    description: "The pending order's type: any (a MARKET one by quantity)",
    example: "LIMIT_MAKER",
  },
  pendingClientOrderId: { ...newClientOrderId, description: "The pending order's client order id" },
  pendingPrice: {
    type: "string",
    pattern: DECIMAL,
    description: "The pending order's limit price: not for MARKET, STOP_LOSS, TAKE_PROFIT",
  },
  pendingStopPrice: {
    type: "string",
    pattern: DECIMAL,
    description:
      "The pending order's stop price: STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT) only, required there",
  },
  pendingTimeInForce: {
    ...newOrderParams.timeInForce,
    description:
      "The pending order's time in force: LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT only, required there",
  },
} as const;

const pendingPairParams = { ...legParams("pendingAbove"), ...legParams("pendingBelow") } as const;

const head = { ...listHead, ...workingParams, ...pendingSideParam } as const;
const otoParams = { ...head, ...pendingQuantityParam, ...pendingOrderParams } as const;
const otocoParams = { ...head, ...pendingQuantityParam, ...pendingPairParams } as const;
// One Pays the Other: no pending quantity, the working order's purchase is it.
const opoParams = { ...head, ...pendingOrderParams } as const;
const opocoParams = { ...head, ...pendingPairParams } as const;

/**
 * What every OTO-kind list shares: the list, the working order, the pending side and quantity
 * (none for an OPO: 0, what the working order buys).
 */
function otoHead(
  args: Args<typeof head> & { pendingQuantity?: string },
  m: Market,
  userId: number,
  ctx: RouteContext,
) {
  const working = readTerms(args, m, "working");
  const quantity = args.pendingQuantity;
  return {
    kind: "placeOto" as const,
    userId,
    symbol: m.symbol,
    listClientOrderId: clientOrderIdOrRandom(args.listClientOrderId),
    stp: STP[args.selfTradePreventionMode],
    time: ctx.clock(),
    workingClientOrderId: working.clientOrderId,
    workingType: working.type,
    workingSide: SIDE[args.workingSide],
    workingTif: working.tif,
    workingPriceTicks: working.priceTicks,
    workingQtyLots: field("quantity", () => quantityToLots(m, args.workingQuantity)),
    pendingSide: SIDE[args.pendingSide],
    pendingQtyLots: quantity === undefined ? 0 : field("quantity", () => quantityToLots(m, quantity)),
  };
}

/** An OTO's (OPO's) one pending order. */
function pendingOne(args: object, m: Market) {
  const pending = readTerms(args, m, "pending");
  return {
    pendingClientOrderId: pending.clientOrderId,
    pendingType: pending.type,
    pendingTif: pending.tif,
    pendingPriceTicks: pending.priceTicks,
    pendingStopPriceTicks: pending.stopPriceTicks,
  };
}

/** An OTOCO's (OPOCO's) pending pair: above, then below. */
function pendingTwo(args: object, m: Market) {
  const [above, below] = [readTerms(args, m, "pendingAbove"), readTerms(args, m, "pendingBelow")];
  return {
    pendingClientOrderId: above.clientOrderId,
    pendingType: above.type,
    pendingTif: above.tif,
    pendingPriceTicks: above.priceTicks,
    pendingStopPriceTicks: above.stopPriceTicks,
    pendingBelowClientOrderId: below.clientOrderId,
    pendingBelowType: below.type,
    pendingBelowTif: below.tif,
    pendingBelowPriceTicks: below.priceTicks,
    pendingBelowStopPriceTicks: below.stopPriceTicks,
  };
}

/**
 * Places an OTO-kind list and answers as Binance: the list, and each order as placing left it
 * (the pending ones PENDING_NEW unless the working order filled at once and placed them).
 */
async function placeOtoList(
  ctx: RouteContext,
  input: { args: Args<typeof head> & { pendingQuantity?: string }; key: { userId: number }; once: object },
  pending: (args: object, m: Market) => object,
) {
  const { args, key, once } = input;
  const m = marketOf(ctx, args.symbol);
  const cmd = { ...otoHead(args, m, key.userId, ctx), ...pending(args, m), ...once } as PlaceOto;
  const result = await ctx.submit(() => ctx.service.submit(cmd));
  // The working order rejected (a LIMIT_MAKER that would take): the list is done, the request refused.
  refuseRejected(result, [result.order!]);
  const list = ctx.core.orderList(result.order!.orderListId!)!;
  const orders = list.orderIds.map((id) => ctx.core.order(id)!);
  return {
    ...orderListView(ctx, list),
    orderReports: orders.map((o) => legReport(m, o, args.newOrderRespType ?? "RESULT")),
  };
}

const LIST_ERRORS = [-1013, -1102, -1106, -1111, -2010];

const placeOto = endpoint({
  method: "POST",
  path: "/api/v3/orderList/oto",
  summary: "Place an OTO: a working order, and a pending order placed once the working order is fully filled",
  security: "TRADE",
  params: otoParams,
  weight: 1,
  orderCount: 2,
  ws: "orderList.place.oto",
  response: orderListWithReports,
  errors: LIST_ERRORS,
  handler: async (input, ctx: RouteContext) => placeOtoList(ctx, input, pendingOne),
});

const placeOtoco = endpoint({
  method: "POST",
  path: "/api/v3/orderList/otoco",
  summary: "Place an OTOCO: a working order, and a pending OCO pair placed once it is fully filled",
  security: "TRADE",
  params: otocoParams,
  weight: 1,
  orderCount: 3,
  ws: "orderList.place.otoco",
  response: orderListWithReports,
  errors: LIST_ERRORS,
  handler: async (input, ctx: RouteContext) => placeOtoList(ctx, input, pendingTwo),
});

const placeOpo = endpoint({
  method: "POST",
  path: "/api/v3/orderList/opo",
  summary:
    "Place an OPO: a working BUY, and a pending SELL of what it bought, placed once it is fully filled",
  security: "TRADE",
  params: opoParams,
  weight: 1,
  orderCount: 2,
  ws: "orderList.place.opo",
  response: orderListWithReports,
  errors: LIST_ERRORS,
  handler: async (input, ctx: RouteContext) => placeOtoList(ctx, input, pendingOne),
});

const placeOpoco = endpoint({
  method: "POST",
  path: "/api/v3/orderList/opoco",
  summary:
    "Place an OPOCO: a working BUY, and a pending OCO pair selling what it bought, once it is fully filled",
  security: "TRADE",
  params: opocoParams,
  weight: 1,
  orderCount: 3,
  ws: "orderList.place.opoco",
  response: orderListWithReports,
  errors: LIST_ERRORS,
  handler: async (input, ctx: RouteContext) => placeOtoList(ctx, input, pendingTwo),
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
const OPEN = new Set(["NEW", "PARTIALLY_FILLED", "PENDING_NEW"]);

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
    // Cancelling any open order of a list cancels the list: an OCO's legs are linked in the book,
    // an OTO's pending orders end with their working order (and a placed one ends the list).
    const first = open.orderIds.find((id) => OPEN.has(ctx.core.order(id)?.status ?? ""));
    const { order } = await ctx.submit(
      () =>
        ctx.service.submit({
          kind: "cancel",
          userId: key.userId,
          symbol: m.symbol,
          orderId: first,
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

export const orderListEndpoints = [
  placeOco,
  placeOto,
  placeOtoco,
  placeOpo,
  placeOpoco,
  queryOrderList,
  cancelOrderList,
  allOrderLists,
  openOrderLists,
];
