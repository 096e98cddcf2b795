import type { FastifyInstance } from "fastify";
import { gatewayMetrics } from "../../observability/src/index.ts";

/**
 * Every request's latency (fastify's own measure, from the request's arrival to the reply's
 * end), by route (the route's pattern, or `unmatched`), method and outcome (ok, rejected: 4xx,
 * error: 5xx): the rate and latency of each endpoint, orders included (route /api/v3/order).
 * Label values come from the routes this API defines, never from a URL.
 */
export function installRequestMetrics(app: FastifyInstance): void {
  const { requests } = gatewayMetrics();
  // A callback hook, not an async one: a promise per request for nothing asynchronous.
  app.addHook("onResponse", (req, reply, done) => {
    const status = reply.statusCode;
    requests.observe(
      {
        route: req.routeOptions.url ?? "unmatched",
        method: req.method,
        outcome: status >= 500 ? "error" : status >= 400 ? "rejected" : "ok",
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
