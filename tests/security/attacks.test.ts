import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TEST_GATEWAY_THREADS } from "../support/gateway-threads.ts";
import {
  admin,
  capturedOrder,
  fileModes,
  notPrivate,
  type Overrides,
  restingBuy,
  type User,
} from "./harness.ts";
import { endedByServer, hostileClients } from "./hostile-clients.ts";
import {
  embeddedTarget,
  observe,
  processesTarget,
  type Target,
  unchangedBy,
  userOf,
  via,
} from "./targets.ts";

/**
 * Issue 18's public-side findings (2-8), one attack table played against both layouts: the
 * embedded exchange and the multi-process one (two `bourse gateway`s, `bourse ubscore`, `bourse
 * matching` and `bourse settlement` over Aeron IPC, Kafka and Cassandra, all real). Each attack is
 * refused with a clear error, and afterwards nothing changed: every user's balances and open
 * orders (through every gateway), the markets' status, reconcile without a difference, and an
 * offline replay of the journal equal to what the exchange serves.
 *
 * Clients come from distinct loopback addresses where a per-address limit is under attack
 * (127.0.0.2 is the trusted proxy, 127.0.0.3 an untrusted peer, 127.0.0.1x the stream caps), so
 * one attack's bucket is not the next one's.
 */
const TRUSTED_PROXY = "127.0.0.2";
const UNTRUSTED = "127.0.0.3";
const LIMITS = {
  gateway: {
    trustedProxies: [TRUSTED_PROXY],
    rateLimit: { ordersPer10s: 20, banAfterRefusals: 3 },
    websocket: {
      maxConnectionsPerIp: 4,
      maxStreamsPerConnection: 3,
      maxStreamsPerIp: 5,
      maxMessagesPerSecond: 3,
      maxListenKeysPerUser: 2,
    },
    connections: { shutdownGraceMs: 500 },
  },
};

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: { code?: number; msg?: string } & Record<string, unknown>;
}

/** A GET from the loopback address `from` (the kernel's choice of port). */
function getFrom(from: string, url: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, localAddress: from }, (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += String(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const alreadyReceived = { status: 400, body: { code: -1021, msg: /already received/ } };

/**
 * The layout under attack and its first user, set by each layout's beforeAll (the layouts run one
 * after the other).
 */
let target: Target;
let alice: User;

function replaysAndRestarts(): void {
  it("finding 2: a captured order replayed with its signature's hex in another letter case, on every gateway", async () => {
    const { payload, signature } = capturedOrder(alice, "case");
    expect((await alice.raw("POST", "/api/v3/order", `${payload}&signature=${signature}`)).status).toBe(200);
    const letter = signature.search(/[a-f]/);
    const spellings = [
      signature.toUpperCase(),
      signature.slice(0, letter) + signature[letter]!.toUpperCase() + signature.slice(letter + 1),
    ];
    await unchangedBy(target, async () => {
      for (let i = 0; i < target.gatewayUrls.length; i++) {
        for (const spelled of spellings) {
          const replay = await via(target, i, alice).raw(
            "POST",
            "/api/v3/order",
            `${payload}&signature=${spelled}`,
          );
          expect(replay).toMatchObject(alreadyReceived);
        }
      }
    });
  });

  it("finding 3: a captured order replayed on another gateway, after a gateway restart and after a UBSCore restart", async () => {
    const last = target.gatewayUrls.length - 1;
    const { payload, signature } = capturedOrder(alice, "restarts");
    const captured = `${payload}&signature=${signature}`;
    expect((await via(target, last, alice).raw("POST", "/api/v3/order", captured)).status).toBe(200);
    const replayEverywhere = async () => {
      for (let i = 0; i < target.gatewayUrls.length; i++) {
        expect(await via(target, i, alice).raw("POST", "/api/v3/order", captured)).toMatchObject(
          alreadyReceived,
        );
      }
    };
    await unchangedBy(target, async () => {
      await replayEverywhere();
      expect(await target.stopGateway(0)).toBe(0);
      await target.startGateway(0);
      await replayEverywhere();
      await target.restartUbsCore();
      await replayEverywhere();
    });
  }, 180_000);

  it("finding 4: a second UBSCore on the same data directory is refused, naming the one that holds it", async () => {
    await unchangedBy(target, async () => {
      const refusal = await target.secondWriter();
      expect(refusal).toMatch(
        new RegExp(
          `DATA_DIR_IN_USE: data directory .* is in use by another bourse ubscore \\(pid ${target.writerPid()}\\)`,
        ),
      );
    });
  });

  it("finding 5: a gateway stops cleanly, within its grace, with stray upgrades, half-open sockets and a slow reader connected", async () => {
    await unchangedBy(target, async () => {
      const url = target.gatewayUrls[0]!;
      const sockets = await hostileClients(url);
      // Traffic for the slow reader that leaves the books as they were: orders placed, then cancelled.
      for (let i = 0; i < 10; i++) {
        const placed = await alice.signed<{ orderId: number }>(
          "POST",
          "/api/v3/order",
          restingBuy(`${20000 + i}`),
        );
        expect(placed.status).toBe(200);
        const orderId = placed.body.orderId;
        expect((await alice.signed("DELETE", "/api/v3/order", { symbol: "BTCUSDT", orderId })).status).toBe(
          200,
        );
      }
      expect(await target.stopGateway(0)).toBe(0);
      await endedByServer(sockets);
      await target.startGateway(0);
    });
  }, 120_000);
}

/** A WebSocket from `from` to gateway `i`: resolves once kept (open and answering a ping) or closed. */
function stream(i: number, from: string, path: string) {
  const ws = new WebSocket(`${target.gatewayUrls[i]!.replace("http", "ws")}${path}`, {
    localAddress: from,
  });
  const messages: string[] = [];
  ws.on("message", (m) => messages.push(String(m)));
  ws.on("error", () => {});
  return new Promise<{ ws: WebSocket; messages: string[]; closeCode?: number }>((resolve) => {
    ws.once("close", (closeCode) => resolve({ ws, messages, closeCode }));
    ws.once("open", () => {
      setImmediate(() => ws.ping());
      ws.once("pong", () => resolve({ ws, messages }));
    });
  });
}
const refusedFor = (msg: RegExp) => ({ closeCode: 1008, messages: [expect.stringMatching(msg)] });

function streamCaps(): void {
  it("finding 6: streams and connections over the caps, and a flood of messages, refused on every gateway", async () => {
    await unchangedBy(target, async () => {
      for (let i = 0; i < target.gatewayUrls.length; i++) {
        const from = `127.0.0.${10 + i}`;
        const tooWide = await stream(
          i,
          from,
          "/stream?streams=btcusdt@depth/btcusdt@trade/ethusdt@trade/ethusdt@depth",
        );
        expect(tooWide).toMatchObject(refusedFor(/"code":-1003.*3 streams per connection/));
        const wide = await stream(i, from, "/stream?streams=btcusdt@depth/btcusdt@trade/ethusdt@trade");
        expect(wide.closeCode).toBeUndefined();
        const overStreams = await stream(
          i,
          from,
          "/stream?streams=ethusdt@depth/btcusdt@bookTicker/ethusdt@bookTicker",
        );
        expect(overStreams).toMatchObject(refusedFor(/5 streams per address/));
        await new Promise((resolve) => {
          wide.ws.once("close", resolve);
          wide.ws.close();
        });
        const kept = [];
        for (let n = 0; n < LIMITS.gateway.websocket.maxConnectionsPerIp; n++) {
          kept.push(await stream(i, from, "/ws/btcusdt@trade"));
          expect(kept.at(-1)!.closeCode).toBeUndefined();
        }
        expect(await stream(i, from, "/ws/btcusdt@trade")).toMatchObject(
          refusedFor(/4 connections per address/),
        );
        const flooding = kept.at(-1)!.ws;
        const closed = new Promise((resolve) => flooding.once("close", resolve));
        for (let n = 0; n < 4 * LIMITS.gateway.websocket.maxMessagesPerSecond; n++) {
          flooding.send('{"method":"LIST_SUBSCRIPTIONS","id":1}');
        }
        expect(await closed).toBe(1008);
        for (const { ws } of kept) ws.terminate();
      }
    });
  });
}

/** `GET /api/v3/depth` at its heaviest (weight 250) from `from`, naming `forwardedFor`. */
const heavyDepth = (i: number, from: string, forwardedFor: string) =>
  getFrom(from, `${target.gatewayUrls[i]}/api/v3/depth?symbol=BTCUSDT&limit=5000`, {
    "X-Forwarded-For": forwardedFor,
  });
async function exhaust(i: number, from: string, forwardedFor: string): Promise<Reply> {
  for (let n = 0; n < 100; n++) {
    const res = await heavyDepth(i, from, forwardedFor);
    if (res.status !== 200) return res;
  }
  throw new Error("never refused");
}

function rateLimits(): void {
  it("finding 7: request weight per client behind the trusted proxy, X-Forwarded-For ignored from anyone else, 418 bans", async () => {
    await unchangedBy(target, async () => {
      for (let i = 0; i < target.gatewayUrls.length; i++) {
        // Behind the proxy one client over its limit leaves the others alone...
        expect(await exhaust(i, TRUSTED_PROXY, "198.51.100.1")).toMatchObject({
          status: 429,
          body: { code: -1003 },
        });
        expect((await heavyDepth(i, TRUSTED_PROXY, "198.51.100.2")).status).toBe(200);
        // ...and one that keeps sending after its 429s is banned.
        let res = await heavyDepth(i, TRUSTED_PROXY, "198.51.100.1");
        for (let n = 0; n < LIMITS.gateway.rateLimit.banAfterRefusals && res.status === 429; n++) {
          res = await heavyDepth(i, TRUSTED_PROXY, "198.51.100.1");
        }
        expect(res).toMatchObject({ status: 418, body: { code: -1003, msg: /banned until/ } });
        expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(60);
        // A peer that is not a proxy cannot name another address to escape its bucket.
        expect((await exhaust(i, UNTRUSTED, "198.51.100.3")).status).toBe(429);
        expect(await heavyDepth(i, UNTRUSTED, "198.51.100.4")).toMatchObject({
          status: 429,
          body: { code: -1003 },
        });
      }
    });
  });

  it("finding 7: new orders over the count per user, over every gateway together, are refused with 429 -1015 and place nothing", async () => {
    const carol = await userOf(target);
    const limit = LIMITS.gateway.rateLimit.ordersPer10s;
    // IOC buys far below the market: those let through expire at once, so only the refusals could change anything.
    const ioc = (n: number) => ({ ...restingBuy(String(20_000 + n)), timeInForce: "IOC" });
    await unchangedBy(target, async () => {
      // More than two windows' worth at once, spread over the gateways: a window's edge inside the
      // burst still leaves refusals, and each gateway alone sees less than twice the limit.
      const burst = 2 * limit + 5;
      const gateways = target.gatewayUrls.length;
      const replies = await Promise.all(
        Array.from({ length: burst }, (_, n) =>
          via(target, n % gateways, carol).signed("POST", "/api/v3/order", ioc(n)),
        ),
      );
      const refused = replies.filter((r) => r.status !== 200);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused)
        expect(r).toMatchObject({
          status: 429,
          body: { code: -1015, msg: /^Too many new orders; current limit is/ },
        });
      // One count per user, whichever gateway took the order: no 10-second window holds more.
      const taken = replies.filter((r) => r.status === 200).map((r) => r.body as { transactTime: number });
      const perWindow = new Map<number, number>();
      for (const { transactTime } of taken) {
        const w = Math.floor(transactTime / 10_000);
        perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
      }
      for (const orders of perWindow.values()) expect(orders).toBeLessThanOrEqual(limit);
      for (const o of taken) expect(o).toMatchObject({ status: "EXPIRED" });
    });
  });
}

function keysFilesAndOperatorApi(): void {
  it("finding 8: listen keys capped per user across gateways (the newest comes back)", async () => {
    const dave = await userOf(target);
    const listenKey = (i: number) =>
      fetch(`${target.gatewayUrls[i]}/api/v3/userDataStream`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": dave.credentials.apiKey },
      }).then(async (res) => ((await res.json()) as { listenKey: string }).listenKey);
    const last = target.gatewayUrls.length - 1;
    const keys = [await listenKey(0), await listenKey(last)];
    expect(new Set(keys).size).toBe(2);
    await unchangedBy(target, async () => {
      for (let i = 0; i < target.gatewayUrls.length; i++) expect(await listenKey(i)).toBe(keys[1]);
    });
  });

  it("finding 8: everything under the data directory is the exchange user's alone (0700, 0600)", async () => {
    const found = await fileModes(target.dataDir);
    expect(found.some((f) => f.path.includes("journal") && !f.dir)).toBe(true);
    expect(found.filter(notPrivate)).toEqual([]);
  });

  it("finding 8: operator API bodies taken as sent (no coercion, no unknown property dropped), unknown users a 404", async () => {
    const post = (path: string, body: unknown) => admin(target.adminUrl, "POST", path, body);
    const userId = alice.userId;
    const malformed: [unknown, RegExp][] = [
      [{ userId: String(userId), asset: "USDT", amount: "5" }, /body\.userId must be integer/],
      [{ userId, asset: "USDT", amount: "5", memo: "x" }, /unknown property 'memo'/],
      [{ userId, asset: "USDT", amuont: "5" }, /amount|amuont/],
    ];
    const unknownUser: [string, unknown][] = [
      ["/admin/v1/deposits", { userId: 999, asset: "USDT", amount: "5" }],
      ["/admin/v1/deposits", { userId: 999, asset: "USDT", amount: "5", wallet: "FUNDING" }],
      ["/admin/v1/withdrawals", { userId: 999, asset: "USDT", amount: "5" }],
      ["/admin/v1/users/999/api-keys", undefined],
    ];
    await unchangedBy(target, async () => {
      for (const [body, msg] of malformed) {
        expect(await post("/admin/v1/deposits", body)).toMatchObject({
          status: 400,
          body: { code: -1102, msg },
        });
      }
      expect(await post("/admin/v1/users", { label: 5 })).toMatchObject({
        status: 400,
        body: { code: -1102 },
      });
      for (const [path, body] of unknownUser) {
        expect(await post(path, body)).toMatchObject({
          status: 404,
          body: { code: -1000, msg: "Unknown user." },
        });
      }
    });
  });

  it("finding 8: a retried deposit (Spot and Funding) is paid once, before and after UBSCore restarts; its id with other terms is a 409", async () => {
    const spot = { userId: alice.userId, asset: "ETH", amount: "1.5", depositId: "chain-tx-spot" };
    const funding = { ...spot, asset: "USDT", depositId: "chain-tx-funding", wallet: "FUNDING" };
    const post = (body: unknown) => admin(target.adminUrl, "POST", "/admin/v1/deposits", body);
    for (const deposit of [spot, funding]) {
      expect(await post(deposit)).toMatchObject({ status: 200, body: { free: "1.50000000" } });
    }
    expect(await post(spot)).toMatchObject({ status: 200, body: { repeated: true } });
    await unchangedBy(target, async () => {
      for (const deposit of [spot, funding]) {
        expect(await post(deposit)).toMatchObject({ status: 200, body: { free: "1.50000000" } });
      }
      expect(await post({ ...spot, amount: "2" })).toMatchObject({ status: 409 });
      await target.restartUbsCore();
      expect(await post(spot)).toMatchObject({ status: 200, body: { repeated: true } });
      expect(await post(funding)).toMatchObject({ status: 200, body: { free: "1.50000000" } });
    });
  }, 180_000);

  it("finding 8: concurrent user creations each get their own id", async () => {
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => admin(target.adminUrl, "POST", "/admin/v1/users", {})),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(replies.map((r) => r.body.userId)).size).toBe(8);
    await observe(target);
  });
}

describe.each([
  ["the embedded exchange", embeddedTarget],
  [
    `the embedded exchange on ${TEST_GATEWAY_THREADS} gateway thread(s)`,
    (overrides: Overrides) =>
      embeddedTarget({
        ...overrides,
        gateway: { ...(overrides.gateway as Overrides), threads: TEST_GATEWAY_THREADS },
      }),
  ],
  ["the multi-process layout", processesTarget],
])("attacks on %s", (_name, start) => {
  beforeAll(async () => {
    target = await start(LIMITS);
    alice = await userOf(target, { USDT: "100000", BTC: "1" });
    // A resting order and a trade: there is something in the books and the ledger to disturb.
    const bob = await userOf(target, { BTC: "1" });
    expect((await alice.signed("POST", "/api/v3/order", restingBuy("30000"))).status).toBe(200);
    const sell = { ...restingBuy("30000"), side: "SELL", quantity: "0.0005" };
    expect(
      (await via(target, target.gatewayUrls.length - 1, bob).signed("POST", "/api/v3/order", sell)).status,
    ).toBe(200);
  }, 600_000);

  afterAll(async () => {
    await target?.stop();
  });

  describe("replayed orders, a second UBSCore and a gateway's stop", replaysAndRestarts);
  describe("WebSocket caps", streamCaps);
  describe("rate limits", rateLimits);
  describe("listen keys, the data directory and the operator API", keysFilesAndOperatorApi);
});
