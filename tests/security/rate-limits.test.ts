import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/index.ts";
import { sign } from "../../components/gateway/src/index.ts";
import { freshDataDir, newUser, restingBuy, startExchange, stateOf, type User } from "./harness.ts";

/**
 * Finding 7, what clients are told: the limits in exchangeInfo, the order counts in X-MBX-*
 * headers. Buckets per client behind a trusted proxy, X-Forwarded-For ignored from anyone else,
 * 418 bans and refused orders, in both layouts, are in attacks.test.ts.
 */
const LIMITS = { weightPerMinute: 60, ordersPer10s: 2, ordersPerDay: 1_000, banAfterRefusals: 3 };
let proxied: EmbeddedExchange;

beforeAll(async () => {
  proxied = await startExchange(await freshDataDir(), {
    gateway: { rateLimit: LIMITS, trustedProxies: ["127.0.0.1"] },
  });
});

afterAll(async () => {
  await proxied.close();
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
