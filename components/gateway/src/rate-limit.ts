import type { BourseError } from "../../domain/src/index.ts";
import { DAY_MS, type OrderCount } from "../../ubscore/src/index.ts";
import { ApiError } from "./errors.ts";

/**
 * Binance-style limits, in fixed windows: request weight per client address per minute, and new
 * orders per user per ten seconds and per day (those UBSCore counts: see RateLimiter). A request over a limit is refused (429 with
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

/** A user's new orders in the order limits' windows, and which window refused one, if one did. */
export interface OrderVerdict {
  readonly refusedBy?: "10S" | "1D";
  readonly count10s: number;
  readonly count1d: number;
}

/** A user's new orders in the windows current at `now`, as UBSCore counts them (see OrderCounts). */
export type OrderCountSource = (userId: number, now: number) => OrderCount;

const FIRST_BAN_MS = 2 * 60_000;
const LONGEST_BAN_MS = 3 * 24 * 3_600_000;

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

/** Binance's interval names, in milliseconds. */
const INTERVAL_MS = { SECOND: 1000, MINUTE: 60_000, DAY: DAY_MS } as const;

/** Binance's X-MBX-ORDER-COUNT-* headers (the day's only if that window counted the order). */
export function orderCountHeaders(verdict: OrderVerdict): Record<string, string> {
  return {
    "X-MBX-ORDER-COUNT-10S": String(verdict.count10s),
    ...(verdict.refusedBy === "10S" ? {} : { "X-MBX-ORDER-COUNT-1D": String(verdict.count1d) }),
  };
}

/** One limit as Binance describes it in exchangeInfo.rateLimits, with where its size is configured. */
interface LimitRule {
  readonly rateLimitType: "REQUEST_WEIGHT" | "ORDERS";
  readonly interval: keyof typeof INTERVAL_MS;
  readonly intervalNum: number;
  readonly limit: (limits: RateLimits) => number;
}

/**
 * The limits, each written once: the windows the limiter counts in and exchangeInfo.rateLimits
 * both come from this table (the weight a request counts comes from its endpoint's declaration).
 */
const RULES = {
  weight: {
    rateLimitType: "REQUEST_WEIGHT",
    interval: "MINUTE",
    intervalNum: 1,
    limit: (l) => l.weightPerMinute,
  },
  orders10s: { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: (l) => l.ordersPer10s },
  orders1d: { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: (l) => l.ordersPerDay },
} as const satisfies Record<string, LimitRule>;

function windowOf(rule: LimitRule, limits: RateLimits): FixedWindow {
  return new FixedWindow(INTERVAL_MS[rule.interval] * rule.intervalNum, rule.limit(limits));
}

/**
 * The request weight, counted here per client address (it protects this gateway), and the order
 * limits, counted by UBSCore per user over every gateway (it refuses an order past them; this
 * reports the counts in Binance's headers and shapes the refusal).
 */
export class RateLimiter {
  private readonly weight: FixedWindow;
  private readonly bans: Bans;

  constructor(
    readonly limits: RateLimits,
    private readonly orderCounts: OrderCountSource,
    private readonly clock: () => number = Date.now,
  ) {
    this.weight = windowOf(RULES.weight, limits);
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

  /** `userId`'s new orders in the current windows (after its order was taken or refused). */
  orders(userId: number): OrderVerdict {
    const { tenSeconds, day } = this.orderCounts(userId, this.clock());
    return { count10s: tenSeconds, count1d: day };
  }

  /**
   * UBSCore's refusal of an order past a limit (TOO_MANY_ORDERS, its message naming the limit) as
   * Binance answers it: 429 -1015, with the counts and the seconds until the full window ends.
   */
  orderRefusal(userId: number, refused: BourseError): ApiError {
    const now = this.clock();
    const { count10s, count1d } = this.orders(userId);
    const refusedBy = count10s >= this.limits.ordersPer10s ? "10S" : "1D";
    const rule = refusedBy === "10S" ? RULES.orders10s : RULES.orders1d;
    const size = INTERVAL_MS[rule.interval] * rule.intervalNum;
    const retryAfter = Math.ceil((size - (now % size)) / 1000);
    return new ApiError(429, -1015, refused.message, {
      ...orderCountHeaders({ refusedBy, count10s, count1d }),
      "Retry-After": String(retryAfter),
    });
  }

  /** `rateLimit/order`: the order limits with what `userId` has used of each, counting nothing. */
  orderUsage(userId: number) {
    const { count10s, count1d } = this.orders(userId);
    return [
      { ...this.describeRule(RULES.orders10s), count: count10s },
      { ...this.describeRule(RULES.orders1d), count: count1d },
    ];
  }

  /** exchangeInfo's rateLimits, in Binance's shape: the request weight, then the order limits. */
  describe(): RateLimitView[] {
    return [RULES.weight, RULES.orders10s, RULES.orders1d].map((rule) => this.describeRule(rule));
  }

  private describeRule({ rateLimitType, interval, intervalNum, limit }: LimitRule): RateLimitView {
    return { rateLimitType, interval, intervalNum, limit: limit(this.limits) };
  }
}

export interface RateLimitView {
  readonly rateLimitType: string;
  readonly interval: string;
  readonly intervalNum: number;
  readonly limit: number;
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
