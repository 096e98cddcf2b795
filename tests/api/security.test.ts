import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { restingBuy } from "../security/harness.ts";
import { newUser, type User } from "../support/operator-api.ts";

/**
 * Isolation between users, rate limits, and what the logs may contain, on an exchange started
 * with small limits and logging captured.
 */
const TOKEN = "security-test-operator-token-0";
const LIMITS = { weightPerMinute: 400, ordersPer10s: 3 };
let exchange: EmbeddedExchange;
const logs: string[] = [];
const users: User[] = [];

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-security-"));
  const config = await loadConfig({
    overrides: {
      dataDir,
      demo: false,
      gateway: { port: 0, adminPort: 0, adminToken: TOKEN, rateLimit: LIMITS },
    },
  });
  const stream = new PassThrough();
  stream.on("data", (chunk) => logs.push(String(chunk)));
  exchange = await startEmbeddedExchange(config, stream);
  for (let i = 0; i < 2; i++) {
    users.push(await newUser({ adminUrl: exchange.adminUrl, tradingUrl: exchange.tradingUrl, token: TOKEN }));
  }
});

afterAll(async () => {
  await exchange.close();
});

describe("isolation between users", () => {
  it("a user can neither see nor cancel another user's orders", async () => {
    const [alice, mallory] = users;
    const placed = await alice!.signed<{ orderId: number }>(
      "POST",
      "/api/v3/order",
      restingBuy("50000", "alice-1"),
    );
    const { orderId } = placed.body;
    expect(
      (await mallory!.signed("GET", "/api/v3/order", { symbol: "BTCUSDT", orderId })).body,
    ).toMatchObject({ code: -2013 });
    expect(
      (await mallory!.signed("GET", "/api/v3/order", { symbol: "BTCUSDT", origClientOrderId: "alice-1" }))
        .body,
    ).toMatchObject({
      code: -2013,
    });
    expect(
      (await mallory!.signed("DELETE", "/api/v3/order", { symbol: "BTCUSDT", orderId })).body,
    ).toMatchObject({ code: -2011 });
    expect((await mallory!.signed("DELETE", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body).toMatchObject(
      { code: -2011 },
    );
    expect(
      (await mallory!.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body,
    ).toEqual([]);
    expect(
      (await mallory!.signed<unknown[]>("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" })).body,
    ).toEqual([]);
    const still = await alice!.signed<{ status: string }>("GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      orderId,
    });
    expect(still.body.status).toBe("NEW");
  });
});

describe("rate limits", () => {
  it("caps new orders per user per 10 s with 429, -1015 and Retry-After, and the refused order changes nothing", async () => {
    const [, bob] = users;
    // Until refused (a window boundary in between only delays it): at most two windows' worth.
    let accepted = 0;
    let refused: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 2 * (LIMITS.ordersPer10s + 1) && !refused; i++) {
      const reply = await bob!.signed("POST", "/api/v3/order", restingBuy(`${40000 + i}`));
      if (reply.status === 200) accepted++;
      else refused = reply;
    }
    expect(refused).toMatchObject({ status: 429, body: { code: -1015 } });
    expect(accepted).toBeGreaterThanOrEqual(LIMITS.ordersPer10s);
    const open = await bob!.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" });
    expect(open.body).toHaveLength(accepted);
  });

  it("caps request weight per minute with 429, -1003, Retry-After and the used weight in a header", async () => {
    let last: Response | undefined;
    for (let i = 0; i < 200 && last?.status !== 429; i++) {
      last = await fetch(`${exchange.tradingUrl}/api/v3/depth?symbol=BTCUSDT`);
      expect(Number(last.headers.get("x-mbx-used-weight-1m"))).toBeGreaterThan(0);
    }
    expect(last!.status).toBe(429);
    expect(await last!.json()).toMatchObject({ code: -1003 });
    const retryAfter = Number(last!.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });
});

describe("logs", () => {
  it("never contain a secret key, an API key or the operator token", async () => {
    expect(logs.length).toBeGreaterThan(10);
    const all = logs.join("");
    for (const user of users) {
      expect(all).not.toContain(user.credentials.secretKey);
      expect(all).not.toContain(user.credentials.apiKey);
    }
    expect(all).not.toContain(TOKEN);
  });
});
