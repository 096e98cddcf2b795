import { connect, type Socket } from "node:net";
import WebSocket from "ws";

/**
 * Clients that a stop must not wait for (finding 5): stray WebSocket upgrades, sockets left
 * half-open in the middle of a request, subscribers that stopped reading.
 */

/**
 * Upgrades as clients send them before they subscribe: to a path no route takes (the client
 * keeps its socket after the 404, as ws does), and to `/ws` and `/ws/` with no stream yet (left
 * open, never subscribing). Resolves once each has been answered.
 */
export function strayUpgrades(url: string): Promise<unknown[]> {
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
export function halfOpen(url: string, request: string, endWriting: boolean): Promise<Socket> {
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
export async function slowReader(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/ws/btcusdt@depth`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  (ws as unknown as { _socket: Socket })._socket.pause();
  return ws;
}

/** All of them at once against `url`: resolves with the half-open sockets. */
export async function hostileClients(url: string): Promise<Socket[]> {
  await strayUpgrades(url);
  await slowReader(url);
  return [
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n", false),
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n", true),
    await halfOpen(
      url,
      "GET /ws/btcusdt@trade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      true,
    ),
  ];
}

/** Resolves once the server has ended every one of `sockets` (half-open ones stay open on our side). */
export function endedByServer(sockets: Socket[]): Promise<unknown> {
  return Promise.all(
    sockets.map((s) =>
      s.readableEnded || s.destroyed
        ? undefined
        : new Promise((resolve) => {
            s.once("end", resolve);
            s.once("close", resolve);
          }),
    ),
  );
}
