import { randomBytes } from "node:crypto";
import type { ExchangeDefinition, Market } from "../../domain/src/index.ts";
import { checkClientOrderId, priceToTicks, quantityToLots, quoteToUnits } from "../../domain/src/index.ts";
import { isTriggered, OrderType, TimeInForce, triggersAs } from "../../matching/src/index.ts";
import type { PlaceOrder } from "../../ubscore/src/index.ts";
import type { newOrderParams } from "./common-params.ts";
import type { Args } from "./endpoint.ts";
import { errors } from "./errors.ts";
import { ORDER_TYPE, type RespType, SIDE, STP, TIF } from "./format.ts";
import { field, invalidSymbol } from "./route-context.ts";

/**
 * The order a new-order request describes (POST order, order/test and cancelReplace alike),
 * checked the Binance way: what its type needs must be sent, and what it does not take must not.
 */
export function readNewOrder(
  args: Args<typeof newOrderParams>,
  exchange: ExchangeDefinition,
  userId: number,
  time: number,
): { market: Market; order: PlaceOrder; respType: RespType } {
  const m = exchange.market(args.symbol) ?? invalidSymbol();
  const type = ORDER_TYPE[args.type];
  // A triggered order runs as a MARKET or LIMIT order, and takes that order's parameters.
  const runsAs = triggersAs(type);
  const { quantity, quoteOrderQty } = args;
  notFor(runsAs !== OrderType.Limit, "timeInForce", args.timeInForce);
  notFor(type !== OrderType.Market, "quoteOrderQty", quoteOrderQty);
  notFor(runsAs === OrderType.Market, "price", args.price);
  const tif =
    runsAs === OrderType.Limit
      ? TIF[args.timeInForce ?? errors.mandatory("timeInForce").throwSelf()]
      : runsAs === OrderType.Market
        ? TimeInForce.IOC
        : TimeInForce.GTC;
  const stopPriceTicks = readStopPrice(args, m, type);
  if (type === OrderType.Market && (quantity === undefined) === (quoteOrderQty === undefined)) {
    throw errors.eitherMandatory("quantity", "quoteOrderQty");
  }
  if (type !== OrderType.Market && quantity === undefined) throw errors.mandatory("quantity");
  const priceTicks =
    runsAs === OrderType.Market
      ? 0
      : field("price", () => priceToTicks(m, args.price ?? errors.mandatory("price").throwSelf()));
  const clientOrderId = clientOrderIdOrRandom(args.newClientOrderId);
  return {
    market: m,
    order: {
      kind: "place",
      userId,
      symbol: m.symbol,
      clientOrderId,
      side: SIDE[args.side],
      type,
      tif,
      priceTicks,
      qtyLots: quantity === undefined ? 0 : field("quantity", () => quantityToLots(m, quantity)),
      quoteUnits:
        quoteOrderQty === undefined ? 0n : field("quoteOrderQty", () => quoteToUnits(m, quoteOrderQty)),
      stp: STP[args.selfTradePreventionMode],
      time,
      ...(stopPriceTicks === undefined ? {} : { stopPriceTicks }),
    },
    respType: args.newOrderRespType ?? (type === OrderType.LimitMaker ? "ACK" : "FULL"),
  };
}

/** A triggered order's `stopPrice` (required), in ticks; no other order takes one, nor `trailingDelta`. */
function readStopPrice(
  args: Pick<Args<typeof newOrderParams>, "stopPrice" | "trailingDelta">,
  m: Market,
  type: OrderType,
): number | undefined {
  if (args.trailingDelta !== undefined) throw errors.noTrailingStop();
  const { stopPrice } = args;
  notFor(!isTriggered(type), "stopPrice", stopPrice);
  if (stopPrice === undefined && isTriggered(type)) throw errors.mandatory("stopPrice");
  return stopPrice === undefined ? undefined : field("stopPrice", () => priceToTicks(m, stopPrice));
}

/** The client order id sent, checked, or one drawn at random as Binance does. */
export function clientOrderIdOrRandom(sent: string | undefined): string {
  return field("newClientOrderId", () =>
    checkClientOrderId(sent ?? `bourse-${randomBytes(11).toString("hex")}`),
  );
}

/** A parameter the order's type does not take: Binance's -1106, never silently ignored. */
function notFor(applies: boolean, name: string, value: unknown): void {
  if (applies && value !== undefined) throw errors.notRequired(name);
}
