import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isBourseError } from "../../domain/src/index.ts";
import type { RequestAuthenticator, SignedRequest } from "./auth.ts";
import { type DeclaredEndpoint, type EndpointSpec, readArgs, type Security } from "./endpoint.ts";
import type { ApiKey } from "./keys.ts";
import { routeSchema } from "./openapi.ts";
import { Params } from "./params.ts";
import { type OrderVerdict, orderCountHeaders, type RateLimiter } from "./rate-limit.ts";

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

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** A declared endpoint ready to run, from whichever door: what the WebSocket API runs for its methods. */
export interface Operation {
  readonly spec: EndpointSpec;
  readonly run: (call: ApiCall) => Promise<unknown>;
}

/** The endpoints the WebSocket API serves, by its method names (an endpoint's `ws`). */
export type Operations = ReadonlyMap<string, Operation>;

/**
 * Registers each declared endpoint on `app` (its OpenAPI operation derived from the declaration)
 * and returns those the WebSocket API serves. Every request runs the same steps: the caller is
 * identified as the endpoint's security type asks, a new order is counted against the order
 * limits, the declared parameters are read (anything else sent is refused), then the handler runs.
 */
export function registerEndpoints<C>(
  app: FastifyInstance,
  auth: RequestAuthenticator,
  limiter: RateLimiter,
  endpoints: readonly DeclaredEndpoint<C>[],
  ctx: C,
): Operations {
  const operations = new Map<string, Operation>();
  for (const spec of endpoints) {
    const run = (call: ApiCall) => runEndpoint(spec, call, ctx, limiter);
    if (spec.ws) operations.set(spec.ws, { spec, run });
    app.route({
      method: spec.method,
      url: spec.path,
      schema: routeSchema(spec),
      handler: (req, reply) => run(new RestCall(auth, req, reply)),
    });
  }
  return operations;
}

async function runEndpoint<C>(
  spec: DeclaredEndpoint<C>,
  call: ApiCall,
  ctx: C,
  limiter: RateLimiter,
): Promise<unknown> {
  const caller = identify(spec.security, call);
  const args = readArgs(spec, caller.params);
  // Named field by field: `{ ...caller, args, call }` made V8 build a new hidden class per request
  // (a spread followed by new properties: 2 - 7 µs on Node 20, a few percent of an order).
  const input = { key: caller.key, params: caller.params, once: caller.once, args, call };
  if (!spec.orderCount || !caller.key) return spec.handler(input as never, ctx);
  return placing(caller.key.userId, () => spec.handler(input as never, ctx), call, limiter);
}

/**
 * Runs an endpoint that places an order, and tells the user's order counts as UBSCore has
 * them once it has (taken or refused it); past a limit, UBSCore refused it unjournaled: 429 -1015.
 */
async function placing(
  userId: number,
  run: () => Promise<unknown>,
  call: ApiCall,
  limiter: RateLimiter,
): Promise<unknown> {
  try {
    const answer = await run();
    call.orders(limiter.orders(userId));
    return answer;
  } catch (e) {
    if (isBourseError(e, "TOO_MANY_ORDERS")) throw limiter.orderRefusal(userId, e);
    call.orders(limiter.orders(userId));
    throw e;
  }
}

/** The caller as the security type names it, with the parameters left to read. */
function identify(
  security: Security,
  call: ApiCall,
): { params: Params; key?: ApiKey; once?: SignedRequest["once"] } {
  switch (security) {
    case "NONE":
      return { params: call.params() };
    case "USER_STREAM":
      return call.keyed();
    case "USER_DATA":
    case "TRADE":
      return call.signed();
  }
}

/** A REST request as an ApiCall: methods, not closures made for each request. */
class RestCall implements ApiCall {
  readonly log: FastifyBaseLogger;

  constructor(
    private readonly auth: RequestAuthenticator,
    private readonly req: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {
    this.log = req.log;
  }

  params(): Params {
    return new Params(rawQuery(this.req));
  }

  signed(): SignedRequest {
    return this.auth.verify(this.req.headers["x-mbx-apikey"], rawQuery(this.req), this.body());
  }

  keyed(): { key: ApiKey; params: Params } {
    // In the query string or a form body: Binance takes either (python-binance sends a body).
    return {
      key: this.auth.apiKey(this.req.headers["x-mbx-apikey"]),
      params: new Params(rawQuery(this.req), this.body()),
    };
  }

  orders(verdict: OrderVerdict): void {
    void this.reply.headers(orderCountHeaders(verdict));
  }

  private body(): string {
    return typeof this.req.body === "string" ? this.req.body : "";
  }
}

export function rawQuery(req: FastifyRequest): string {
  const i = req.url.indexOf("?");
  return i < 0 ? "" : req.url.slice(i + 1);
}
