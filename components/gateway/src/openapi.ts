import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema } from "fastify";

/**
 * OpenAPI documents generated from the routes' schemas, served as /openapi.json with a browsable
 * UI at /docs. On the trading API the schemas describe parameters for people and tools; the
 * checking itself is done by `Params` so that every failure carries its Binance code.
 */
export function installOpenApi(
  app: FastifyInstance,
  title: string,
  description: string,
  security: "apiKey" | "bearer",
): void {
  app.register(swagger, {
    openapi: {
      info: { title, description, version: "0.1.0" },
      components: {
        securitySchemes:
          security === "apiKey"
            ? { apiKey: { type: "apiKey", in: "header", name: "X-MBX-APIKEY" } }
            : { bearer: { type: "http", scheme: "bearer" } },
      },
    },
  });
  app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}

type Param = {
  type: "string" | "integer";
  description: string;
  enum?: readonly string[];
  pattern?: string;
  /** Shown in the docs, and sent by API fuzzers as their first, valid case. */
  example?: string | number;
  minimum?: number;
  maximum?: number;
};
const DECIMAL = "^\\d{1,20}(\\.\\d{1,20})?$";

const p = {
  symbol: { type: "string", description: "Market symbol", pattern: "^[A-Z0-9]{4,20}$", example: "BTCUSDT" },
  symbols: {
    type: "string",
    description: 'Several markets, as a JSON array: ["BTCUSDT","ETHUSDT"] (not with symbol)',
    example: '["BTCUSDT","ETHUSDT"]',
  },
  limit: { type: "integer", description: "How many entries to return" },
  fromId: { type: "integer", description: "The first id to return (inclusive)" },
  orderId: { type: "integer", description: "Exchange order id" },
  origClientOrderId: { type: "string", description: "Client order id given at placement" },
  timestamp: {
    type: "integer",
    description: "Request time in ms since the epoch (signed endpoints)",
    example: 1_764_000_000_000,
  },
  recvWindow: {
    type: "integer",
    description: "Milliseconds the request stays valid after timestamp (default 5000, max 60000)",
    minimum: 1,
    maximum: 60_000,
    example: 5000,
  },
  signature: {
    type: "string",
    description: "HMAC-SHA256 of the query string + body, hex",
    pattern: "^[0-9a-fA-F]{64}$",
    example: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
  },
} satisfies Record<string, Param>;

function params(properties: Record<string, Param>, required: string[]) {
  return { type: "object", properties, required };
}

const SIGNED = { timestamp: p.timestamp, recvWindow: p.recvWindow, signature: p.signature };

/** Documentation of a public GET endpoint. */
export function publicDoc(
  summary: string,
  properties: Record<string, Param> = {},
  required: string[] = [],
): FastifySchema {
  return { summary, tags: ["market data"], querystring: params(properties, required) };
}

/** Documentation of a SIGNED endpoint; parameters in the query string, or the form body for POST. */
export function signedDoc(
  summary: string,
  properties: Record<string, Param>,
  required: string[],
  inBody = false,
): FastifySchema {
  const schema = params({ ...properties, ...SIGNED }, [...required, "timestamp", "signature"]);
  return {
    summary,
    tags: ["trading"],
    security: [{ apiKey: [] }],
    ...(inBody ? { consumes: ["application/x-www-form-urlencoded"], body: schema } : { querystring: schema }),
  } as FastifySchema;
}

export const orderParams: Record<string, Param> = {
  symbol: p.symbol,
  side: { type: "string", enum: ["BUY", "SELL"], description: "Order side", example: "BUY" },
  type: {
    type: "string",
    enum: ["LIMIT", "MARKET", "LIMIT_MAKER"],
    description: "Order type",
    example: "LIMIT",
  },
  timeInForce: {
    type: "string",
    enum: ["GTC", "IOC", "FOK"],
    description: "Required for LIMIT",
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
    description: "Limit price (multiple of PRICE_FILTER tickSize)",
    example: "60000",
  },
  newClientOrderId: {
    type: "string",
    pattern: "^[a-zA-Z0-9\\-_.]{1,36}$",
    description: "Unique among your open orders",
  },
  newOrderRespType: { type: "string", enum: ["ACK", "RESULT", "FULL"], description: "Response detail" },
  selfTradePreventionMode: {
    type: "string",
    enum: ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    description: "What happens when the order would trade with your own",
  },
};

export const docParams = p;
