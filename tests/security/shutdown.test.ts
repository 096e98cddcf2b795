import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { EmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { freePort } from "../infra/ports.ts";
import { freshDataDir, newUser, restingBuy, startExchange } from "./harness.ts";
import { bourse } from "./processes.ts";

/**
 * Finding 5: a stop must end, whatever the clients did: WebSocket upgrades to paths no route
 * takes (what ccxt.pro and Binance's Python connector send), sockets left half-open in the middle
 * of a request, and subscribers that stopped reading. No test here waits on a clock: a stop that
 * hangs fails by the test's own timeout.
 */
const SMALL_GRACE = { gateway: { connections: { shutdownGraceMs: 500 } } };

/**
 * Upgrades as clients send them before they subscribe: to a path no route takes (the client
 * keeps its socket after the 404, as ws does), and to `/ws` and `/ws/` with no stream yet (left
 * open, never subscribing). Resolves once each has been answered.
 */
function strayUpgrades(url: string): Promise<unknown[]> {
  return Promise.all(
    ["/nope", "/ws", "/ws/"].map((path) => {
      const ws = new WebSocket(`${url.replace("http", "ws")}${path}`);
      ws.on("error", () => {});
      return new Promise((resolve) => {
        ws.once("unexpected-response", resolve);
        ws.once("open", resolve);
        ws.once("close", resolve);
      });
    }),
  );
}

/** A raw socket that sent `request` and then nothing, its write side ended (half-open) or not. */
function halfOpen(url: string, request: string, endWriting: boolean): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true }, () => {
      socket.write(request);
      if (endWriting) socket.end();
      socket.resume(); // reads (and drops) whatever comes, so its end is seen
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

/** A subscriber to the depth stream that never reads what it is sent. */
async function slowReader(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/ws/btcusdt@depth`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  (ws as unknown as { _socket: Socket })._socket.pause();
  return ws;
}

async function misbehave(exchange: EmbeddedExchange): Promise<Socket[]> {
  const url = exchange.tradingUrl;
  await strayUpgrades(url);
  await slowReader(url);
  const sockets = [
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n", false),
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n", true),
    await halfOpen(
      url,
      "GET /ws/btcusdt@trade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      true,
    ),
  ];
  // Traffic for the slow reader.
  const user = await newUser(exchange);
  for (let i = 0; i < 20; i++) await user.signed("POST", "/api/v3/order", restingBuy(`${30000 + i}`));
  return sockets;
}

describe("shutdown under hostile clients", () => {
  it("an embedded exchange closes with stray upgrades, half-open sockets and a slow reader connected", async () => {
    const exchange = await startExchange(await freshDataDir(), SMALL_GRACE);
    const sockets = await misbehave(exchange);
    await exchange.close();
    // Every client connection was ended by the server (half-open ones stay open on our side).
    await Promise.all(
      sockets.map((s) =>
        s.readableEnded || s.destroyed
          ? undefined
          : new Promise((resolve) => {
              s.once("end", resolve);
              s.once("close", resolve);
            }),
      ),
    );
    const refused = await fetch(`${exchange.tradingUrl}/api/v3/ping`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
  }, 30_000);

  it("`bourse start` exits 0 on SIGTERM after a stray upgrade to /ws and to /nope", async () => {
    const port = await freePort();
    const started = bourse("start", {
      BOURSE_DATA_DIR: await freshDataDir(),
      BOURSE_GATEWAY_PORT: String(port),
      BOURSE_ADMIN_PORT: String(await freePort()),
    });
    await started.ready;
    const url = `http://127.0.0.1:${port}`;
    await strayUpgrades(url);
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\n", true);
    const { code } = await started.stop();
    expect(code).toBe(0);
  }, 30_000);
});
