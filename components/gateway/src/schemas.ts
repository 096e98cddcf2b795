/**
 * JSON schemas of the answers, for the OpenAPI document (endpoint.ts `response`). They say what
 * every answer holds for certain (the fuzz suite checks each answer against them); a field a
 * client may see beyond them is allowed.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

export const str: JsonSchema = { type: "string" };
export const int: JsonSchema = { type: "integer" };
export const bool: JsonSchema = { type: "boolean" };
/** A decimal as Binance writes one: a string, signed where it is a change. */
export const dec: JsonSchema = { type: "string", pattern: "^-?\\d+(\\.\\d+)?$" };

/** An object with these fields, all of them present. */
export function obj(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: "object", properties, required: Object.keys(properties) };
}

export function arr(items: JsonSchema): JsonSchema {
  return { type: "array", items };
}

/** One view for `symbol`, a list of them for `symbols` or for every market. */
export function oneOrMany(item: JsonSchema): JsonSchema {
  return { anyOf: [item, arr(item)] };
}

export const empty: JsonSchema = { type: "object" };

/** Every refusal: Binance's `{code, msg}`, with a code among those the endpoint declares. */
export function errorSchema(codes: readonly number[]): JsonSchema {
  return {
    description: `A Binance error: code one of ${codes.join(", ")}`,
    ...obj({ code: { type: "integer", enum: codes }, msg: str }),
  };
}

const ORDER_STATUS = {
  type: "string",
  enum: [
    "NEW",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "REJECTED",
    "EXPIRED",
    "EXPIRED_IN_MATCH",
    "PENDING_NEW",
  ],
};

const orderIds = { symbol: str, orderId: int, orderListId: int, clientOrderId: str };

/** An order as queried (GET order, openOrders, allOrders). */
export const order = obj({
  ...orderIds,
  price: dec,
  origQty: dec,
  executedQty: dec,
  cummulativeQuoteQty: dec,
  status: ORDER_STATUS,
  timeInForce: str,
  type: str,
  side: str,
  time: int,
  updateTime: int,
  isWorking: bool,
  origQuoteOrderQty: dec,
  selfTradePreventionMode: str,
});

/** A cancelled order: the order with the client id it was placed under. */
export const cancelledOrder = { allOf: [order, obj({ origClientOrderId: str })] };

/** A new order, as ACK, RESULT or FULL (each the one before with more fields). */
export const newOrder = obj({ ...orderIds, transactTime: int });

/** An order as an amend (keepPriority) left it, with the client order id it had before. */
export const preventedMatch = obj({
  symbol: str,
  preventedMatchId: int,
  takerOrderId: int,
  makerSymbol: str,
  makerOrderId: int,
  tradeGroupId: int,
  selfTradePreventionMode: str,
  price: dec,
  makerPreventedQuantity: dec,
  transactTime: int,
});

export const amendment = obj({
  symbol: str,
  orderId: int,
  executionId: int,
  origClientOrderId: str,
  newClientOrderId: str,
  origQty: dec,
  newQty: dec,
  time: int,
});

export const amendedOrder = obj({
  ...orderIds,
  origClientOrderId: str,
  price: dec,
  qty: dec,
  executedQty: dec,
  preventedQty: dec,
  quoteOrderQty: dec,
  cumulativeQuoteQty: dec,
  status: ORDER_STATUS,
  timeInForce: str,
  type: str,
  side: str,
  workingTime: int,
  selfTradePreventionMode: str,
});

export const fill = obj({ price: dec, qty: dec, commission: dec, commissionAsset: str, tradeId: int });

export const publicTrade = obj({
  id: int,
  price: dec,
  qty: dec,
  quoteQty: dec,
  time: int,
  isBuyerMaker: bool,
  isBestMatch: bool,
});

export const myTrade = obj({
  symbol: str,
  id: int,
  orderId: int,
  orderListId: int,
  price: dec,
  qty: dec,
  quoteQty: dec,
  commission: dec,
  commissionAsset: str,
  time: int,
  isBuyer: bool,
  isMaker: bool,
  isBestMatch: bool,
});

export const aggTrade = obj({ a: int, p: dec, q: dec, f: int, l: int, T: int, m: bool, M: bool });

/** A candle: Binance's array of open time, prices, volumes, close time and counts. */
export const kline = { type: "array", minItems: 12, maxItems: 12 };

const miniTicker = {
  symbol: str,
  openPrice: dec,
  highPrice: dec,
  lowPrice: dec,
  lastPrice: dec,
  volume: dec,
  quoteVolume: dec,
  openTime: int,
  closeTime: int,
  firstId: int,
  lastId: int,
  count: int,
};

const fullTicker = { ...miniTicker, priceChange: dec, priceChangePercent: dec, weightedAvgPrice: dec };

/** A window ticker, MINI or FULL. */
export const windowTicker = { anyOf: [obj(fullTicker), obj(miniTicker)] };

export const ticker24h = {
  anyOf: [
    obj({
      ...fullTicker,
      prevClosePrice: dec,
      lastQty: dec,
      bidPrice: dec,
      bidQty: dec,
      askPrice: dec,
      askQty: dec,
    }),
    obj(miniTicker),
  ],
};

export const rateLimit = obj({ rateLimitType: str, interval: str, intervalNum: int, limit: int });

/** Maker and taker rates (and Binance's buyer and seller ones, always zero here). */
export const rates = obj({ maker: dec, taker: dec });
export const sidedRates = obj({ maker: dec, taker: dec, buyer: dec, seller: dec });
export const discount = obj({
  enabledForAccount: bool,
  enabledForSymbol: bool,
  discountAsset: str,
  discount: dec,
});

/** A balance in a wallet, as the wallet endpoints list them. */
export const walletBalance = obj({
  asset: str,
  free: dec,
  locked: dec,
  freeze: dec,
  withdrawing: dec,
  btcValuation: str,
});
