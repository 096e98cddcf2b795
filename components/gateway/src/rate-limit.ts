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

/** Binance's interval names, in milliseconds. */
const INTERVAL_MS = { SECOND: 1000, MINUTE: 60_000, DAY: DAY_MS } as const;

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

export class RateLimiter {
  private readonly weight: FixedWindow;
  private readonly orders10s: FixedWindow;
  private readonly orders1d: FixedWindow;
  private readonly bans: Bans;

  constructor(
    readonly limits: RateLimits,
    private readonly clock: () => number = Date.now,
  ) {
    this.weight = windowOf(RULES.weight, limits);
    this.orders10s = windowOf(RULES.orders10s, limits);
    this.orders1d = windowOf(RULES.orders1d, limits);
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
    return [
      { ...this.describeRule(RULES.orders10s), count: this.orders10s.usedBy(String(userId), now) },
      { ...this.describeRule(RULES.orders1d), count: this.orders1d.usedBy(String(userId), now) },
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
