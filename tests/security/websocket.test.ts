import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { User } from "./harness.ts";
import { embeddedTarget, processesTarget, type Target, userOf } from "./targets.ts";

/**
 * Finding 6 (and the listen keys of 8) on both layouts: slow readers dropped, listen-key caps and
 * expiry, slow header senders. Limits are small here so that each is reached with a handful of
 * connections; order rate limits are out of the way of the load that fills a slow reader's
 * buffer. The stream, connection and message caps are in attacks.test.ts.
 */
const LIMITS = {
  maxConnectionsPerIp: 4,
  maxConnectionsPerUser: 2,
  maxStreamsPerConnection: 3,
  maxStreamsPerIp: 5,
  maxMessagesPerSecond: 3,
  maxBufferedBytes: 64 * 1024,
  maxListenKeysPerUser: 2,
  listenKeyTtlMs: 3_000,
};
const OVERRIDES = {
  gateway: {
    websocket: LIMITS,
    // Short, for the slow header sender to be cut off soon, but not so short that the slow
    // reader's bursts of 200 orders (each a new request on a busy two-core machine running other
    // suites beside) miss it: 500 ms did, once, in a CI trial (408s).
    connections: { headerTimeoutMs: 2_000 },
    rateLimit: { weightPerMinute: 10_000_000, ordersPer10s: 1_000_000, ordersPerDay: 100_000_000 },
  },
};

/**
 * The layout under test, its first user and every WebSocket opened on it, set by each layout's
 * beforeAll (the layouts run one after the other).
 */
let target: Target;
let alice: User;
const open: WebSocket[] = [];

interface Outcome {
  readonly opened: boolean;
  readonly messages: string[];
  readonly closeCode?: number;
}

/** Connects to `path`; resolves once it is open and settled (refused connections close at once). */
function stream(path: string): Promise<{ ws: WebSocket; outcome: Outcome }> {
  const ws = new WebSocket(`${target.gatewayUrls[0]!.replace("http", "ws")}${path}`);
  open.push(ws);
  const outcome: { opened: boolean; messages: string[]; closeCode?: number } = {
    opened: false,
    messages: [],
  };
  ws.on("message", (m) => outcome.messages.push(String(m)));
  ws.on("error", () => {});
  return new Promise((resolve) => {
    ws.once("close", (code) => {
      outcome.closeCode = code;
      resolve({ ws, outcome });
    });
    // A connection that is kept gets no message at open; one refused gets its error first.
    ws.once("open", () => {
      outcome.opened = true;
      setImmediate(() => ws.ping());
      ws.once("pong", () => resolve({ ws, outcome }));
    });
  });
}

const closed = (ws: WebSocket) =>
  ws.readyState === ws.CLOSED
    ? Promise.resolve()
    : new Promise<void>((resolve) => ws.once("close", () => resolve()));

function slowReaders(): void {
  it("drops a subscriber that stopped reading; one that reads gets every message", async () => {
    // Depth diffs and trades: a sell that sweeps many resting buys sends a trade per fill.
    const streams = "/stream?streams=btcusdt@depth/btcusdt@trade";
    const bob = await userOf(target, { BTC: "1000" });
    const slow = await stream(streams);
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const fast = await stream(streams);
    let fastBytes = 0;
    fast.ws.on("message", (m) => {
      fastBytes += (m as Buffer).length;
    });
    const ok = (r: { status: number; body: unknown }) => expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Rounds of 200 resting buys at new prices (each moves the book), then one sell sweeping
    // them (200 trades), through the gateway's API, until twice what the kernel's socket
    // buffers hold on loopback (about 4 MB) has been sent: the gateway's own buffer for the
    // slow reader passes its limit.
    while (fastBytes < 8 * 1024 * 1024) {
      const placed = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          alice.signed("POST", "/api/v3/order", {
            symbol: "BTCUSDT",
            side: "BUY",
            type: "LIMIT",
            timeInForce: "GTC",
            quantity: "0.001",
            price: (10_000 + i).toFixed(2),
          }),
        ),
      );
      placed.forEach(ok);
      ok(
        await bob.signed("POST", "/api/v3/order", {
          symbol: "BTCUSDT",
          side: "SELL",
          type: "MARKET",
          quantity: "0.2",
        }),
      );
    }
    const slowClosed = new Promise<number>((resolve) => slow.ws.once("close", resolve));
    socket.resume();
    expect(await slowClosed).toBeOneOf([1006, 1008]);
    expect(slow.outcome.messages.length).toBeLessThan(fast.outcome.messages.length);
    expect(fast.ws.readyState).toBe(fast.ws.OPEN);
    fast.ws.close();
    await closed(fast.ws);
  }, 600_000);
}

function listenKeys(): void {
  const userStream = (user: User, method: "POST" | "PUT" | "DELETE", listenKey?: string) =>
    fetch(`${target.gatewayUrls[0]}/api/v3/userDataStream${listenKey ? `?listenKey=${listenKey}` : ""}`, {
      method,
      headers: { "X-MBX-APIKEY": user.credentials.apiKey },
    }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as { listenKey?: string; code?: number },
    }));

  it("caps listen keys per user (the newest comes back) and user data connections per user", async () => {
    const bob = await userOf(target);
    const first = (await userStream(bob, "POST")).body.listenKey!;
    const second = (await userStream(bob, "POST")).body.listenKey!;
    expect(second).not.toBe(first);
    expect((await userStream(bob, "POST")).body.listenKey).toBe(second);
    const a = await stream(`/ws/${first}`);
    const b = await stream(`/ws/${second}`);
    expect([a.outcome.closeCode, b.outcome.closeCode]).toEqual([undefined, undefined]);
    const c = await stream(`/ws/${second}`);
    expect(JSON.parse(c.outcome.messages[0]!)).toMatchObject({ msg: /2 user data connections per user/ });
    a.ws.close();
    b.ws.close();
  });

  it("expires a listen key not kept alive: its stream is told, then closed, and the key is gone", async () => {
    const carol = await userOf(target);
    const key = (await userStream(carol, "POST")).body.listenKey!;
    const { ws, outcome } = await stream(`/ws/${key}`);
    await closed(ws);
    expect(outcome.closeCode).toBe(4001);
    expect(JSON.parse(outcome.messages.at(-1)!)).toMatchObject({ e: "listenKeyExpired", listenKey: key });
    expect(await userStream(carol, "PUT", key)).toMatchObject({ status: 400, body: { code: -1125 } });
  });
}

function slowHeaderSenders(): void {
  it("are cut off once the header timeout has passed", async () => {
    const { hostname, port } = new URL(target.gatewayUrls[0]!);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n");
    let answer = "";
    socket.on("data", (d) => {
      answer += String(d);
    });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("close", resolve));
    expect(answer).toMatch(/^HTTP\/1.1 408|^$/);
  });
}

describe.each([
  ["the embedded exchange", embeddedTarget],
  ["the multi-process layout", processesTarget],
])("WebSocket hygiene on %s", (_name, start) => {
  beforeAll(async () => {
    target = await start(OVERRIDES);
    alice = await userOf(target, { USDT: "100000000" });
  }, 600_000);

  afterAll(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await target?.stop();
  });

  describe("slow readers", slowReaders);
  describe("listen keys", listenKeys);
  describe("slow header senders", slowHeaderSenders);
});
