/**
 * Binance-style limits, in fixed windows: request weight per client address per minute, and new
 * orders per user per ten seconds. A request over a limit is refused (429 with Retry-After) and
 * counts nothing; the used weight is reported in X-MBX-USED-WEIGHT-1M like Binance does.
 */
export interface RateLimits {
  readonly weightPerMinute: number;
  readonly ordersPer10s: number;
}

export interface Verdict {
  readonly allowed: boolean;
  readonly used: number;
  /** Seconds until the window that refused the request ends. */
  readonly retryAfter: number;
}

class FixedWindow {
  private windowStart = 0;
  private readonly used = new Map<string, number>();

  constructor(
    private readonly size: number,
    readonly limit: number,
  ) {}

  take(key: string, amount: number, now: number): Verdict {
    const start = now - (now % this.size);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used.clear();
    }
    const used = (this.used.get(key) ?? 0) + amount;
    const retryAfter = Math.ceil((start + this.size - now) / 1000);
    if (used > this.limit) return { allowed: false, used: used - amount, retryAfter };
    this.used.set(key, used);
    return { allowed: true, used, retryAfter };
  }
}

export class RateLimiter {
  private readonly weight: FixedWindow;
  private readonly orders: FixedWindow;

  constructor(
    readonly limits: RateLimits,
    private readonly clock: () => number = Date.now,
  ) {
    this.weight = new FixedWindow(60_000, limits.weightPerMinute);
    this.orders = new FixedWindow(10_000, limits.ordersPer10s);
  }

  request(address: string, weight: number): Verdict {
    return this.weight.take(address, weight, this.clock());
  }

  newOrder(userId: number): Verdict {
    return this.orders.take(String(userId), 1, this.clock());
  }
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
    case "GET /api/v3/exchangeInfo":
    case "GET /api/v3/account":
    case "GET /api/v3/allOrders":
    case "GET /api/v3/myTrades":
      return 20;
    case "GET /api/v3/openOrders":
      return query().has("symbol") ? 6 : 80;
    case "GET /api/v3/ticker/24hr":
      return query().has("symbol") ? 2 : 80;
    case "GET /api/v3/klines":
    case "GET /api/v3/trades":
    case "GET /api/v3/ticker/bookTicker":
    case "GET /api/v3/ticker/price":
      return 2;
    case "GET /api/v3/order":
      return 4;
    default:
      return 1;
  }
}
