import { describe, expect, it } from "vitest";
import { RateLimiter, requestWeight } from "../src/rate-limit.ts";

describe("RateLimiter", () => {
  it("counts weight per address in fixed minute windows; a refused request counts nothing", () => {
    let now = 60_000 * 10 + 15_000;
    const limiter = new RateLimiter({ weightPerMinute: 10, ordersPer10s: 2 }, () => now);
    expect(limiter.request("a", 6)).toMatchObject({ allowed: true, used: 6 });
    expect(limiter.request("a", 5)).toMatchObject({ allowed: false, used: 6, retryAfter: 45 });
    expect(limiter.request("a", 4)).toMatchObject({ allowed: true, used: 10 });
    expect(limiter.request("b", 10)).toMatchObject({ allowed: true });
    now += 45_000;
    expect(limiter.request("a", 10)).toMatchObject({ allowed: true, used: 10 });
  });

  it("counts new orders per user in 10-second windows", () => {
    let now = 0;
    const limiter = new RateLimiter({ weightPerMinute: 10, ordersPer10s: 2 }, () => now);
    expect([1, 2, 3].map(() => limiter.newOrder(7).allowed)).toEqual([true, true, false]);
    expect(limiter.newOrder(8).allowed).toBe(true);
    now = 10_000;
    expect(limiter.newOrder(7).allowed).toBe(true);
  });

  it("weighs requests like Binance: depth by its limit, heavy listings more", () => {
    expect(requestWeight("GET", "/api/v3/depth", "limit=100")).toBe(5);
    expect(requestWeight("GET", "/api/v3/depth", "limit=5000")).toBe(250);
    expect(requestWeight("GET", "/api/v3/openOrders", "")).toBe(80);
    expect(requestWeight("GET", "/api/v3/openOrders", "symbol=BTCUSDT")).toBe(6);
    expect(requestWeight("POST", "/api/v3/order", "")).toBe(1);
  });
});
