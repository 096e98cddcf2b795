import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { BourseError } from "../../domain/src/index.ts";
import type { Health } from "./health.ts";
import { metricsRegistry } from "./registry.ts";

/**
 * A component's observability listener: `/metrics` (Prometheus exposition), `/livez` and
 * `/readyz`, read-only (GET and HEAD), on an address of its own so that it can be opened to the
 * scraper and the kubelet and to nobody else (a NetworkPolicy on Kubernetes; loopback by
 * default). It holds no secret and takes no input: counts, positions and reasons only.
 */
export interface ObservabilityServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveObservability(listen: string, health: Health): Promise<ObservabilityServer> {
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at);
  const port = Number(listen.slice(at + 1));
  const server = createServer((req, res) => void answer(req, res, health));
  // Scrapes and probes are short: a slow or idle client is cut off rather than held.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL"
          ? new BourseError("INVALID_CONFIG", `cannot serve metrics on ${listen}: ${e.code}`)
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, health: Health): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") return reply(res, 405, "text/plain", "GET only\n");
  const path = (req.url ?? "/").split("?")[0];
  switch (path) {
    case "/metrics": {
      const registry = metricsRegistry();
      return reply(res, 200, registry.contentType, await registry.metrics());
    }
    case "/livez":
      return status(res, health.notLive());
    case "/readyz":
      return status(res, health.notReady());
    default:
      return reply(res, 404, "text/plain", "not found\n");
  }
}

function status(res: ServerResponse, failing: Record<string, string>): void {
  const ok = Object.keys(failing).length === 0;
  reply(
    res,
    ok ? 200 : 503,
    "application/json",
    `${JSON.stringify(ok ? { status: "ok" } : { status: "failing", failing })}\n`,
  );
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
