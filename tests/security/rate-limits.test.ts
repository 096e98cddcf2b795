import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { sign } from "../../components/gateway/src/keys.ts";
import { freshDataDir, newUser, restingBuy, startExchange, stateOf, type User } from "./harness.ts";

/**
 * Finding 7: limits per client, as Binance keeps them. Behind a trusted proxy each client has
 * its own bucket (X-Forwarded-For); from anyone else that header is ignored. A client that keeps
 * sending after its 429s is banned with 418; the limits are published in exchangeInfo and the
 * counts in X-MBX-* headers.
 */
const LIMITS = { weightPerMinute: 60, ordersPer10s: 2, ordersPerDay: 1_000, banAfterRefusals: 3 };
let direct: EmbeddedExchange;
let proxied: EmbeddedExchange;

beforeAll(async () => {
  direct = await startExchange(await freshDataDir(), { gateway: { rateLimit: LIMITS } });
  proxied = await startExchange(await freshDataDir(), {
    gateway: { rateLimit: LIMITS, trustedProxies: ["127.0.0.1"] },
  });
});

afterAll(async () => {
  await direct.close();
  await proxied.close();
});

/** `GET /api/v3/depth` (weight 5) as the client `forwardedFor`, as a proxy would pass it on. */
const depth = (exchange: EmbeddedExchange, forwardedFor: string) =>
  fetch(`${exchange.tradingUrl}/api/v3/depth?symbol=BTCUSDT`, {
    headers: { "X-Forwarded-For": forwardedFor },
  });

/** Requests until one is refused; that one. */
async function exhaust(exchange: EmbeddedExchange, forwardedFor: string): Promise<Response> {
  for (let i = 0; i <= LIMITS.weightPerMinute * 2; i++) {
    const res = await depth(exchange, forwardedFor);
    if (res.status !== 200) return res;
  }
  throw new Error("never refused");
}

describe("client addresses", () => {
  it("behind a trusted proxy: one client over its limit leaves the others alone", async () => {
    const refused = await exhaust(proxied, "198.51.100.1");
    expect(refused.status).toBe(429);
    expect((await depth(proxied, "198.51.100.2")).status).toBe(200);
  });

  it("from an untrusted peer: X-Forwarded-For is ignored, whatever address it names", async () => {
    const refused = await exhaust(direct, "198.51.100.1");
    expect(refused.status).toBe(429);
    const renamed = await depth(direct, "198.51.100.2");
    expect(renamed.status).toBe(429);
    expect(await renamed.json()).toMatchObject({ code: -1003 });
  });
});

describe("escalation", () => {
  it("bans with 418 and Retry-After a client that keeps sending after its 429s; others go on", async () => {
    let res = await exhaust(proxied, "198.51.100.7");
    expect(res.status).toBe(429);
    for (let i = 0; i < LIMITS.banAfterRefusals + 1 && res.status === 429; i++)
      res = await depth(proxied, "198.51.100.7");
    expect(res.status).toBe(418);
    expect(await res.json()).toMatchObject({ code: -1003, msg: /banned until/ });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(60);
    expect((await depth(proxied, "198.51.100.8")).status).toBe(200);
  });
});

describe("what clients are told", () => {
  it("exchangeInfo lists the limits", async () => {
    const res = await fetch(`${proxied.tradingUrl}/api/v3/exchangeInfo`, {
      headers: { "X-Forwarded-For": "198.51.100.30" },
    });
    const info = (await res.json()) as {
      rateLimits: unknown[];
    };
    expect(info.rateLimits).toEqual([
      { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 60 },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 2 },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 1_000 },
    ]);
  });

  it("orders carry X-MBX-ORDER-COUNT-10S and -1D; over the limit, 429 -1015 and nothing placed", async () => {
    const user: User = await newUser(proxied);
    const place = (price: string) => {
      const payload = new URLSearchParams({ ...restingBuy(price), timestamp: String(Date.now()) }).toString();
      return fetch(`${proxied.tradingUrl}/api/v3/order`, {
        method: "POST",
        headers: {
          "X-MBX-APIKEY": user.credentials.apiKey,
          "content-type": "application/x-www-form-urlencoded",
          "X-Forwarded-For": "198.51.100.20",
        },
        body: `${payload}&signature=${sign(user.credentials.secretKey, payload)}`,
      });
    };
    const first = await place("30000");
    expect(first.status).toBe(200);
    expect(Number(first.headers.get("x-mbx-order-count-10s"))).toBeGreaterThanOrEqual(1);
    expect(first.headers.get("x-mbx-order-count-1d")).toBe("1");
    let refused: Response | undefined;
    for (let i = 0; i < 2 * LIMITS.ordersPer10s + 1 && !refused; i++) {
      const res = await place(`${30001 + i}`);
      if (res.status !== 200) refused = res;
    }
    expect(refused!.status).toBe(429);
    expect(await refused!.json()).toMatchObject({ code: -1015 });
    const before = stateOf(proxied);
    expect((await place("31000")).status).toBe(429);
    expect(stateOf(proxied)).toBe(before);
  });
});
