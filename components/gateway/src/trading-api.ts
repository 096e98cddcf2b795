import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { HistoryReader } from "../../store/src/index.ts";
import type { UbsCoreView } from "../../ubscore/src/index.ts";
import { RequestAuthenticator } from "./auth.ts";
import type { CapCounter } from "./cap-counter.ts";
import { boundShutdown, type ConnectionLimits, connectionOptions } from "./connections.ts";
import { ENDPOINTS, requestWeight } from "./endpoints.ts";
import { errors } from "./errors.ts";
import type { FundingPort } from "./funding.ts";
import { installErrorHandling, loggerOptions, submitter } from "./http.ts";
import type { ApiKeyLookup } from "./keys.ts";
import { MarketStatistics } from "./market-data.ts";
import { installOpenApi } from "./openapi.ts";
import { registerEndpoints } from "./operations.ts";
import { RateLimiter, type RateLimits, weightRefusal } from "./rate-limit.ts";
import { installRequestMetrics } from "./request-metrics.ts";
import type { RouteContext } from "./route-context.ts";
import { installStreams, StreamHub, type StreamLimits } from "./streams.ts";
import { installWsApi } from "./ws-api.ts";

export interface TradingApiOptions {
  readonly rateLimits: RateLimits;
  /** Addresses or CIDR ranges of proxies whose X-Forwarded-For names the client. */
  readonly trustedProxies: readonly string[];
  readonly connections: ConnectionLimits;
  readonly websocket: StreamLimits;
  /** Where the WebSocket caps are counted; this API's own counts unless shared (gateway threads). */
  readonly caps?: CapCounter;
  readonly service: UbsCoreView;
  readonly funding: FundingPort;
  /** Orders and trades older than what UBSCore keeps in memory. */
  readonly history: HistoryReader;
  readonly keys: ApiKeyLookup;
  readonly maxBodyBytes: number;
  /** How long a change waits for UBSCore before the answer is -1007 (status unknown). */
  readonly backendTimeoutMs?: number;
  readonly clock?: () => number;
  /** Request logs (secrets redacted): off, to stdout, or to a stream. */
  readonly logger?: boolean | NodeJS.WritableStream;
}

/**
 * The trading API in Binance spot conventions. Public market data reads UBSCore's in-memory state;
 * every change goes through UBSCoreService.submit, which journals it before it takes effect.
 */
export function buildTradingApi(options: TradingApiOptions): FastifyInstance {
  const { service, keys } = options;
  const clock = options.clock ?? Date.now;
  const auth = new RequestAuthenticator(keys, clock);
  const app = Fastify({
    ...connectionOptions(options.connections),
    // X-Forwarded-For is believed only from these (an ingress, a load balancer): anyone else
    // could name any address and escape their own limits, or exhaust someone else's.
    trustProxy: options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
    bodyLimit: options.maxBodyBytes,
    logger: loggerOptions(options.logger, "gateway"),
    logController: new LogController({ requestIdLogLabel: "requestId" }),
  });
  boundShutdown(app, options.connections.shutdownGraceMs);
  // At the root, so that its hooks see every upgrade request, those no route takes included
  // (their sockets are closed after the 404, not left open for a stop to wait on).
  app.register(websocket, { options: { maxPayload: 4096 } });
  installErrorHandling(app, options.maxBodyBytes);
  installRequestMetrics(app);
  // Binance takes parameters as a query string or a form body, never JSON. Clients that label
  // every request JSON (Binance's Python connector) send an empty body with the parameters in
  // the query string: that is taken, as Binance takes it; a body of another type is refused
  // rather than ignored, so no parameter is silently dropped.
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) =>
    body === "" ? done(null, "") : done(errors.unsupportedMedia()),
  );
  // Order counts are UBSCore's (one count over every gateway), read from its state here.
  const limiter = new RateLimiter(
    options.rateLimits,
    (userId, now) => service.core.orderCounts.of(userId, now),
    clock,
  );
  installRateLimit(app, limiter, clock);
  // Route schemas document; the declared parameters are checked as each runs (so errors carry
  // Binance codes), and answers are sent as the handlers make them.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installOpenApi(
    app,
    "Bourse trading API",
    "Binance spot REST conventions: market data, signed trading, user data streams.",
    "apiKey",
  );
  const submit = submitter(options.backendTimeoutMs ?? 10_000);
  const stats = new MarketStatistics((id) => service.core.candlesOf(id));
  const hub = new StreamHub(service, stats, clock, options.websocket, options.caps);
  const ctx: RouteContext = {
    service,
    core: service.core,
    history: options.history,
    funding: options.funding,
    clock,
    limiter,
    submit,
    hub,
    stats,
  };
  app.register(async (api) => {
    installStreams(api, hub);
    const operations = registerEndpoints(api, auth, limiter, ENDPOINTS, ctx);
    installWsApi(api, {
      operations,
      hub,
      auth,
      limiter,
      clock,
      submit: (cmd) => submit(() => service.submit(cmd)),
    });
  });
  return app;
}

/** Weighs every request before it runs; over the limit it is refused with 429 and changes nothing. */
function installRateLimit(app: FastifyInstance, limiter: RateLimiter, clock: () => number): void {
  // A callback hook, not an async one: a promise per request for nothing asynchronous.
  app.addHook("onRequest", (req, reply, done) => {
    const q = req.url.indexOf("?");
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const verdict = limiter.request(
      req.ip,
      requestWeight(req.method, path, q < 0 ? "" : req.url.slice(q + 1)),
    );
    const refused = weightRefusal(verdict, limiter.limits, req.ip, clock());
    if (!verdict.banned) void reply.header("X-MBX-USED-WEIGHT-1M", String(verdict.used));
    done(refused);
  });
}
