import { ApiError } from "./errors.ts";

/**
 * Binance-style limits, in fixed windows: request weight per client address per minute, and new
 * orders per user per ten seconds and per day. A request over a limit is refused (429 with
 * Retry-After) and counts nothing; an address that keeps sending after its 429s is banned (418
 * with Retry-After), for twice as long at each new ban, as Binance does (2 minutes up to 3 days).
 * Used weight and order counts are reported in Binance's X-MBX-* headers.
 */
export interface RateLimits {
  readonly weightPerMinute: number;
  readonly ordersPer10s: number;
  readonly ordersPerDay: number;
  /** Requests refused with 429 in one window after which the address is banned. */
  readonly banAfterRefusals: number;
}

export interface Verdict {
  readonly allowed: boolean;
  readonly used: number;
  /** Seconds until the window (or the ban) that refused the request ends. */
  readonly retryAfter: number;
  /** Refused because the address is banned (418), not merely over the limit (429). */
  readonly banned?: boolean;
}

export interface OrderVerdict {
  readonly allowed: boolean;
  /** Which window refused it: "10S" or "1D". */
  readonly refusedBy?: "10S" | "1D";
  readonly count10s: number;
  readonly count1d: number;
  readonly retryAfter: number;
}

const FIRST_BAN_MS = 2 * 60_000;
const LONGEST_BAN_MS = 3 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

class FixedWindow {
  private windowStart = 0;
  private readonly used = new Map<string, number>();

  constructor(
    private readonly size: number,
    readonly limit: number,
  ) {}

  take(key: string, amount: number, now: number): Verdict {
    this.roll(now);
    const used = (this.used.get(key) ?? 0) + amount;
    const retryAfter = Math.ceil((this.windowStart + this.size - now) / 1000);
    if (used > this.limit) return { allowed: false, used: used - amount, retryAfter };
    this.used.set(key, used);
    return { allowed: true, used, retryAfter };
  }

  /** What `key` has used in the current window. */
  usedBy(key: string, now: number): number {
    this.roll(now);
    return this.used.get(key) ?? 0;
  }

  /** Gives back what `take` counted (a request a later window refused). */
  giveBack(key: string, amount: number, now: number): void {
    this.roll(now);
    const used = this.used.get(key);
    if (used !== undefined) this.used.set(key, used - amount);
  }

  private roll(now: number): void {
    const start = now - (now % this.size);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used.clear();
    }
  }
}

/** Addresses that ignored their 429s: banned until a time, with the bans they already had. */
class Bans {
  private readonly refusals = new FixedWindow(60_000, Number.MAX_SAFE_INTEGER);
  private readonly banned = new Map<string, { until: number; count: number }>();

  constructor(private readonly afterRefusals: number) {}

  /** Seconds the address is still banned for, or 0. */
  remaining(address: string, now: number): number {
    const ban = this.banned.get(address);
    if (!ban || ban.until <= now) return 0;
    return Math.ceil((ban.until - now) / 1000);
  }

  /** Counts a 429; past the threshold, bans the address (twice as long as its previous ban). */
  refused(address: string, now: number): void {
    if (this.refusals.take(address, 1, now).used <= this.afterRefusals) return;
    const previous = this.banned.get(address);
    const count = previous && now - previous.until < DAY_MS ? previous.count + 1 : 1;
    const length = Math.min(FIRST_BAN_MS * 2 ** (count - 1), LONGEST_BAN_MS);
    this.banned.set(address, { until: now + length, count });
    // Bans a day past their end are forgotten: the map holds the recent offenders only.
    for (const [a, ban] of this.banned) if (now - ban.until > DAY_MS) this.banned.delete(a);
  }
}

export class RateLimiter {
  private readonly weight: FixedWindow;
  private readonly orders10s: FixedWindow;
  private readonly orders1d: FixedWindow;
  private readonly bans: Bans;

  constructor(
    readonly limits: RateLimits,
    private readonly clock: () => number = Date.now,
  ) {
    this.weight = new FixedWindow(60_000, limits.weightPerMinute);
    this.orders10s = new FixedWindow(10_000, limits.ordersPer10s);
    this.orders1d = new FixedWindow(DAY_MS, limits.ordersPerDay);
    this.bans = new Bans(limits.banAfterRefusals);
  }

  request(address: string, weight: number): Verdict {
    const now = this.clock();
    const banned = this.bans.remaining(address, now);
    if (banned > 0) return { allowed: false, used: 0, retryAfter: banned, banned: true };
    const verdict = this.weight.take(address, weight, now);
    if (!verdict.allowed) this.bans.refused(address, now);
    return verdict;
  }

  /** A new order of `userId`: counted in both windows, or in neither if either refuses it. */
  newOrder(userId: number): OrderVerdict {
    const now = this.clock();
    const key = String(userId);
    const short = this.orders10s.take(key, 1, now);
    const long = short.allowed ? this.orders1d.take(key, 1, now) : undefined;
    if (long && !long.allowed) this.orders10s.giveBack(key, 1, now);
    const allowed = short.allowed && long!.allowed;
    return {
      allowed,
      refusedBy: !short.allowed ? "10S" : !long!.allowed ? "1D" : undefined,
      count10s: short.allowed && !allowed ? short.used - 1 : short.used,
      count1d: long?.used ?? 0,
      retryAfter: !short.allowed ? short.retryAfter : (long?.retryAfter ?? 0),
    };
  }

  /** `rateLimit/order`: the order limits with what `userId` has used of each, counting nothing. */
  orderUsage(userId: number) {
    const now = this.clock();
    const [tenSeconds, day] = this.describe().filter((l) => l.rateLimitType === "ORDERS");
    return [
      { ...tenSeconds!, count: this.orders10s.usedBy(String(userId), now) },
      { ...day!, count: this.orders1d.usedBy(String(userId), now) },
    ];
  }

  /** exchangeInfo's rateLimits, in Binance's shape. */
  describe(): { rateLimitType: string; interval: string; intervalNum: number; limit: number }[] {
    return [
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: this.limits.weightPerMinute,
      },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: this.limits.ordersPer10s },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: this.limits.ordersPerDay },
    ];
  }
}

/** Binance's error for a request the weight limit refused (418 if banned, else 429), or undefined. */
export function weightRefusal(
  verdict: Verdict,
  limits: RateLimits,
  ip: string,
  now: number,
): ApiError | undefined {
  const retryAfter = { "Retry-After": String(verdict.retryAfter) };
  if (verdict.banned) {
    const until = new Date(now + verdict.retryAfter * 1000).toISOString();
    return new ApiError(
      418,
      -1003,
      `Way too many requests; IP(${ip}) banned until ${until}. Please use the websocket for live updates to avoid bans.`,
      retryAfter,
    );
  }
  if (verdict.allowed) return undefined;
  return new ApiError(
    429,
    -1003,
    `Too many requests; current limit is ${limits.weightPerMinute} request weight per minute. Please use the websocket for live updates to avoid polling the API.`,
    retryAfter,
  );
}

/** Request weights, after Binance's: cheap calls 1-4, heavy ones 20+, depth by its limit. */
export function requestWeight(method: string, path: string, rawQuery: string): number {
  // Parsed only by the routes whose weight depends on it: most requests carry none of it.
  const query = () => new URLSearchParams(rawQuery);
  const route = `${method} ${path}`;
  switch (route) {
    case "GET /api/v3/depth": {
      const limit = Number(query().get("limit") ?? 100);
      return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    case "GET /api/v3/rateLimit/order":
      return 40;
    case "GET /api/v3/historicalTrades":
      return 25;
    case "POST /sapi/v3/asset/getUserAsset":
      return 5;
    case "GET /api/v3/exchangeInfo":
    case "GET /api/v3/account":
    case "GET /api/v3/account/commission":
    case "GET /api/v3/allOrders":
    case "GET /api/v3/myTrades":
      return 20;
    case "GET /api/v3/openOrders":
      return query().has("symbol") ? 6 : 80;
    case "GET /api/v3/ticker/24hr": {
      const n = symbolCount(query());
      return n === undefined ? 80 : n <= 20 ? 2 : n <= 100 ? 40 : 80;
    }
    case "GET /api/v3/ticker":
    case "GET /api/v3/ticker/tradingDay":
      return Math.min(200, 4 * (symbolCount(query()) ?? 1));
    case "GET /api/v3/ticker/bookTicker":
    case "GET /api/v3/ticker/price":
      return query().has("symbol") ? 2 : 4;
    case "GET /api/v3/klines":
    case "GET /api/v3/uiKlines":
    case "GET /api/v3/trades":
    case "GET /api/v3/avgPrice":
      return 2;
    case "GET /api/v3/order":
    case "GET /api/v3/aggTrades":
    case "PUT /api/v3/order/amend/keepPriority":
      return 4;
    default:
      return 1;
  }
}

/** How many markets a request names (`symbol`: one; `symbols`: its list), undefined for all of them. */
function symbolCount(query: URLSearchParams): number | undefined {
  if (query.has("symbol")) return 1;
  const list = query.get("symbols");
  return list ? list.split(",").length : undefined;
}
