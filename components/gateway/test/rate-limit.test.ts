import { describe, expect, it } from "vitest";
import { BourseError } from "../../domain/src/index.ts";
import { OrderCounts } from "../../ubscore/src/index.ts";
import { requestWeight } from "../src/endpoints.ts";
import { RateLimiter } from "../src/rate-limit.ts";

const LIMITS = { weightPerMinute: 10, ordersPer10s: 2, ordersPerDay: 5, banAfterRefusals: 3 };
const NO_ORDERS = () => ({ tenSeconds: 0, day: 0 });

describe("RateLimiter", () => {
  it("counts weight per address in fixed minute windows; a refused request counts nothing", () => {
    let now = 60_000 * 10 + 15_000;
    const limiter = new RateLimiter(LIMITS, NO_ORDERS, () => now);
    expect(limiter.request("a", 6)).toMatchObject({ allowed: true, used: 6 });
    expect(limiter.request("a", 5)).toMatchObject({ allowed: false, used: 6, retryAfter: 45 });
    expect(limiter.request("a", 4)).toMatchObject({ allowed: true, used: 10 });
    expect(limiter.request("b", 10)).toMatchObject({ allowed: true });
    now += 45_000;
    expect(limiter.request("a", 10)).toMatchObject({ allowed: true, used: 10 });
  });

  it("bans an address that keeps sending after its 429s, twice as long each time, then lets it back", () => {
    let now = 0;
    const limiter = new RateLimiter(LIMITS, NO_ORDERS, () => now);
    const bannedFor = () => {
      limiter.request("a", 10);
      for (let i = 0; i <= LIMITS.banAfterRefusals; i++)
        expect(limiter.request("a", 1).banned).toBeUndefined();
      const verdict = limiter.request("a", 1);
      expect(verdict).toMatchObject({ allowed: false, banned: true });
      expect(limiter.request("b", 1).allowed).toBe(true);
      return verdict.retryAfter;
    };
    expect(bannedFor()).toBe(120);
    now += 120_000;
    expect(bannedFor()).toBe(240);
    now += 240_000;
    expect(limiter.request("a", 1).allowed).toBe(true);
  });

  it("describes its limits as Binance's exchangeInfo does", () => {
    expect(new RateLimiter(LIMITS, NO_ORDERS).describe()).toEqual([
      { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 10 },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 2 },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 5 },
    ]);
  });

  it("answers rateLimit/order and refuses orders with UBSCore's counts, as Binance says them", () => {
    let now = 0;
    const counts = new OrderCounts();
    const limiter = new RateLimiter(
      LIMITS,
      (userId, at) => counts.of(userId, at),
      () => now,
    );
    counts.count(7, now);
    counts.count(7, now);
    now = 4_000;
    const refused = limiter.orderRefusal(7, new BourseError("TOO_MANY_ORDERS", "Too many new orders"));
    expect(refused).toMatchObject({ httpStatus: 429, code: -1015, message: "Too many new orders" });
    expect(refused.headers).toEqual({ "X-MBX-ORDER-COUNT-10S": "2", "Retry-After": "6" });
    now = 10_000; // the next 10-second window: the day still counts both orders
    const [, tenSeconds, day] = limiter.describe();
    expect(limiter.orderUsage(7)).toEqual([
      { ...tenSeconds, count: 0 },
      { ...day, count: 2 },
    ]);
    expect(limiter.orders(7)).toEqual({ count10s: 0, count1d: 2 });
  });

  it("weighs requests like Binance: depth by its limit, heavy listings more", () => {
    expect(requestWeight("GET", "/api/v3/depth", "limit=100")).toBe(5);
    expect(requestWeight("GET", "/api/v3/depth", "limit=5000")).toBe(250);
    expect(requestWeight("GET", "/api/v3/openOrders", "")).toBe(80);
    expect(requestWeight("GET", "/api/v3/openOrders", "symbol=BTCUSDT")).toBe(6);
    expect(requestWeight("POST", "/api/v3/order", "")).toBe(1);
    const list = (n: number) =>
      `symbols=${encodeURIComponent(JSON.stringify(Array.from({ length: n }, (_, i) => `S${i}USDT`)))}`;
    expect(requestWeight("GET", "/api/v3/ticker/24hr", "symbol=BTCUSDT")).toBe(2);
    expect(requestWeight("GET", "/api/v3/ticker/24hr", list(20))).toBe(2);
    expect(requestWeight("GET", "/api/v3/ticker/24hr", list(21))).toBe(40);
    expect(requestWeight("GET", "/api/v3/ticker/24hr", "")).toBe(80);
    expect(requestWeight("GET", "/api/v3/ticker", list(3))).toBe(12);
    expect(requestWeight("GET", "/api/v3/ticker", list(60))).toBe(200);
    expect(requestWeight("GET", "/api/v3/ticker/price", list(2))).toBe(4);
    expect(requestWeight("GET", "/api/v3/aggTrades", "symbol=BTCUSDT")).toBe(4);
  });
});
