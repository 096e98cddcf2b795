import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { FastifyHttpOptions, FastifyInstance } from "fastify";

/**
 * What any client may do to a port's connections, bounded: headers and requests that arrive too
 * slowly are cut off by Node's HTTP server, and a stop ends every connection within a grace
 * period, whatever state its client left it in (a stray WebSocket upgrade, a half-open socket,
 * a reader that stopped reading).
 */
export interface ConnectionLimits {
  readonly headerTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly shutdownGraceMs: number;
}

/** Fastify's server options for these limits. */
export function connectionOptions(limits: ConnectionLimits): FastifyHttpOptions<Server> {
  return {
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headerTimeoutMs),
    http: {
      headersTimeout: limits.headerTimeoutMs,
      // How often Node looks for connections past those timeouts (30 s by default).
      connectionsCheckingInterval: Math.min(1_000, limits.headerTimeoutMs),
    },
  };
}

/**
 * Tracks every socket of the app's server (upgraded ones leave Node's own bookkeeping), and once
 * a close has begun gives them `graceMs` to finish before destroying what is left: a close that
 * waited for the clients could wait forever.
 */
export function boundShutdown(app: FastifyInstance, graceMs: number): void {
  const sockets = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  app.addHook("preClose", (done) => {
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    timer.unref();
    app.server.once("close", () => clearTimeout(timer));
    done();
  });
}
