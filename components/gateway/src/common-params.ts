import type { ParamSpec } from "./endpoint.ts";
import { errors } from "./errors.ts";

/** Parameters several endpoints take, declared once (endpoint.ts). */
export const symbol = {
  type: "string",
  description: "Market symbol",
  pattern: "^[A-Z0-9]{4,20}$",
  example: "BTCUSDT",
} as const satisfies ParamSpec;

export const requiredSymbol = { ...symbol, required: true } as const satisfies ParamSpec;

export const symbols = {
  type: "symbols",
  description: 'Several markets, as a JSON array: ["BTCUSDT","ETHUSDT"] (not with symbol)',
  example: '["BTCUSDT","ETHUSDT"]',
} as const satisfies ParamSpec;

/** How many entries to return: 1 to `max`, `fallback` if not sent. */
export function limit<const M extends number, const F extends number>(max: M, fallback: F) {
  return {
    type: "integer",
    description: `How many entries to return (default ${fallback}, at most ${max})`,
    min: 1,
    max,
    default: fallback,
  } as const satisfies ParamSpec;
}

export const fromId = { type: "integer", description: "The first id to return (inclusive)" } as const;
export const startTime = { type: "integer", description: "From this time (ms since the epoch)" } as const;
export const endTime = { type: "integer", description: "Up to this time (ms since the epoch)" } as const;
export const orderId = { type: "integer", description: "Exchange order id", min: 1 } as const;
export const origClientOrderId = {
  type: "string",
  description: "Client order id given at placement",
} as const satisfies ParamSpec;

export const DECIMAL = "^\\d{1,20}(\\.\\d{1,20})?$";

export const newClientOrderId = {
  type: "string",
  pattern: "^[a-zA-Z0-9\\-_.]{1,36}$",
  description: "Unique among your open orders",
} as const satisfies ParamSpec;

/** What a new order takes (POST order, order/test, cancelReplace's new order). */
export const newOrderParams = {
  symbol: requiredSymbol,
  side: {
    type: "enum",
    values: ["BUY", "SELL"],
    required: true,
    error: errors.invalidSide,
    description: "Order side",
    example: "BUY",
  },
  type: {
    type: "enum",
    values: [
      "LIMIT",
      "MARKET",
      "LIMIT_MAKER",
      "STOP_LOSS",
      "STOP_LOSS_LIMIT",
      "TAKE_PROFIT",
      "TAKE_PROFIT_LIMIT",
    ],
    required: true,
    error: errors.invalidOrderType,
    description: "Order type",
    example: "LIMIT",
  },
  timeInForce: {
    type: "enum",
    values: ["GTC", "IOC", "FOK"],
    error: errors.invalidTif,
    description: "LIMIT, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT only, and required there",
    example: "GTC",
  },
  quantity: {
    type: "string",
    pattern: DECIMAL,
    description: "Base quantity (multiple of LOT_SIZE stepSize)",
    example: "0.01",
  },
  quoteOrderQty: {
    type: "string",
    pattern: DECIMAL,
    description: "MARKET only: quote amount to spend or receive",
  },
  price: {
    type: "string",
    pattern: DECIMAL,
    description: "Limit price (multiple of PRICE_FILTER tickSize); not for MARKET, STOP_LOSS, TAKE_PROFIT",
    example: "60000",
  },
  stopPrice: {
    type: "string",
    pattern: DECIMAL,
    description:
      "STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT) only, and required there: the last trade price that sets the order off",
  },
  trailingDelta: {
    type: "integer",
    description: "Trailing stops: not supported (-2010)",
  },
  newClientOrderId,
  newOrderRespType: {
    type: "enum",
    values: ["ACK", "RESULT", "FULL"],
    description: "Response detail (default FULL; ACK for LIMIT_MAKER)",
  },
  selfTradePreventionMode: {
    type: "enum",
    values: ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    default: "NONE",
    description: "What happens when the order would trade with your own",
  },
} as const satisfies Record<string, ParamSpec>;

/** What a signed request carries besides its parameters (read by auth.ts). */
export const signing = {
  timestamp: {
    type: "integer",
    required: true,
    description: "Request time in ms since the epoch (signed endpoints)",
    example: 1_764_000_000_000,
  },
  recvWindow: {
    type: "integer",
    description: "Milliseconds the request stays valid after timestamp (default 5000, max 60000)",
    min: 1,
    max: 60_000,
    example: 5000,
  },
  signature: {
    type: "string",
    required: true,
    description: "HMAC-SHA256 of the query string + body, hex (or Ed25519, base64)",
    pattern: "^[0-9a-fA-F]{64}$",
    example: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
  },
} as const satisfies Record<string, ParamSpec>;
