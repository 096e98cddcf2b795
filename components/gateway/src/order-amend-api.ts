import type { Market } from "../../domain/src/market.ts";
import { lotsToQuantity, quantityToLots, ticksToPrice } from "../../domain/src/market.ts";
import { EventType } from "../../matching/src/protocol.ts";
import type { UbsCoreView } from "../../ubscore/src/service.ts";
import type { OrderRecord } from "../../ubscore/src/types.ts";
import { ApiError, toApiError } from "./errors.ts";
import { orderView } from "./format.ts";
import { docParams as d, signedDoc } from "./openapi.ts";
import type { operationRoutes } from "./operations.ts";
import { field, newClientOrderId, orderRef, type Submitter } from "./trading-api.ts";

type Routes = ReturnType<typeof operationRoutes>;

/**
 * `PUT /api/v3/order/amend/keepPriority`: lowers an open order's quantity where it stands in its
 * queue (UBSCore's journaled `amend`, a Reduce in the book), answered as Binance answers it.
 */
export function amendRoutes(api: Routes, service: UbsCoreView, clock: () => number, submit: Submitter): void {
  api.put(
    "/api/v3/order/amend/keepPriority",
    {
      schema: signedDoc(
        "Reduce an open order's quantity, keeping its place in the queue",
        {
          symbol: d.symbol,
          orderId: d.orderId,
          origClientOrderId: d.origClientOrderId,
          newClientOrderId: {
            type: "string",
            description: "The order's client order id after the amend (default: a random one)",
          },
          newQty: {
            type: "string",
            description: "The order's new quantity: below it, above its executed quantity",
          },
        },
        ["symbol", "newQty"],
      ),
    },
    async (call) => {
      const { key, params, once } = call.signed();
      const m = service.core.exchange.market(params.required("symbol")) ?? invalidSymbol();
      const { orderId, clientOrderId } = orderRef(params);
      const newQtyLots = field("newQty", () => quantityToLots(m, params.required("newQty")));
      const renamed = newClientOrderId(params);
      params.done();
      // The id it has now, for the answer's origClientOrderId (the amend may rename it).
      const core = service.core;
      const before =
        orderId !== undefined ? core.order(orderId) : core.orderByClientId(key.userId, clientOrderId!);
      const origClientOrderId = before?.clientOrderId ?? clientOrderId ?? "";
      const time = clock();
      const result = await submit(
        () =>
          service.submit({
            kind: "amend",
            userId: key.userId,
            symbol: m.symbol,
            orderId,
            clientOrderId: orderId === undefined ? clientOrderId : undefined,
            newClientOrderId: renamed,
            newQtyLots,
            time,
            ...once,
          }),
        unknownOrder,
      );
      if (result.error)
        throw result.error.code === "UNKNOWN_ORDER" ? unknownOrder() : toApiError(result.error);
      const amended = result.events.find((e) => e.type === EventType.Amended);
      return {
        transactTime: time,
        executionId: amended?.seq ?? 0,
        amendedOrder: amendedOrderView(m, result.order!, origClientOrderId),
      };
    },
  );
}

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

const unknownOrder = () => new ApiError(400, -2038, "Unknown order sent.");

function invalidSymbol(): never {
  throw new ApiError(400, -1121, "Invalid symbol.");
}
