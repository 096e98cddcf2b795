import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
} from "fastify";
import type { RequestAuthenticator, SignedRequest } from "./auth.ts";
import type { ApiKey } from "./keys.ts";
import { Params } from "./params.ts";
import type { OrderVerdict } from "./rate-limit.ts";

/**
 * One request to an endpoint, whichever door it came through (REST, or a WebSocket API frame):
 * each endpoint's handler is written once against this, so both doors share every rule (the
 * parameters, validation, errors, replay protection and weights).
 */
export interface ApiCall {
  /** A public (NONE) endpoint's parameters. */
  params(): Params;
  /** A SIGNED endpoint's key, parameters and what takes it once (auth.ts). */
  signed(): SignedRequest;
  /** A USER_STREAM endpoint's key (named, not signed) and its parameters. */
  keyed(): { key: ApiKey; params: Params };
  /** A new order's counts against the order limits, told as each door tells them. */
  orders(verdict: OrderVerdict): void;
  /** The request's log (lines name the request; a no-op unless request logs are on). */
  readonly log: FastifyBaseLogger;
}

export type Handler = (call: ApiCall) => Promise<unknown>;

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** Every endpoint by "METHOD /path": what the WebSocket API runs for its methods. */
export type Operations = ReadonlyMap<string, Handler>;

type Register = (path: string, options: { schema?: FastifySchema }, handler: Handler) => void;

/**
 * Routes registered on `app` over REST and recorded in `operations`: the same `get`/`post`/...
 * shape as fastify's, with a handler of an ApiCall.
 */
export function operationRoutes(
  app: FastifyInstance,
  auth: RequestAuthenticator,
  operations: Map<string, Handler>,
): Record<"get" | "post" | "put" | "delete", Register> {
  const register =
    (method: HttpMethod): Register =>
    (path, options, handler) => {
      operations.set(`${method} ${path}`, handler);
      app.route({
        method,
        url: path,
        ...options,
        handler: (req, reply) => handler(restCall(auth, req, reply)),
      });
    };
  return { get: register("GET"), post: register("POST"), put: register("PUT"), delete: register("DELETE") };
}

function restCall(auth: RequestAuthenticator, req: FastifyRequest, reply: FastifyReply): ApiCall {
  const body = typeof req.body === "string" ? req.body : "";
  return {
    params: () => new Params(rawQuery(req)),
    signed: () => auth.verify(req.headers["x-mbx-apikey"], rawQuery(req), body),
    // In the query string or a form body: Binance takes either (python-binance sends a body).
    keyed: () => ({ key: auth.apiKey(req.headers["x-mbx-apikey"]), params: new Params(rawQuery(req), body) }),
    orders: (verdict) => {
      void reply.headers(orderCountHeaders(verdict));
    },
    log: req.log,
  };
}

/** Binance's X-MBX-ORDER-COUNT-* headers (the day's only if that window counted the order). */
export function orderCountHeaders(verdict: OrderVerdict): Record<string, string> {
  return {
    "X-MBX-ORDER-COUNT-10S": String(verdict.count10s),
    ...(verdict.refusedBy === "10S" ? {} : { "X-MBX-ORDER-COUNT-1D": String(verdict.count1d) }),
  };
}

export function rawQuery(req: FastifyRequest): string {
  const i = req.url.indexOf("?");
  return i < 0 ? "" : req.url.slice(i + 1);
}
