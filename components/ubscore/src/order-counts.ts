import { BourseError } from "../../domain/src/index.ts";

/** Binance's order limits: new orders per user per ten seconds and per (UTC) day. */
export interface OrderLimits {
  readonly ordersPer10s: number;
  readonly ordersPerDay: number;
}

/** A user's new orders in the windows current at some time. */
export interface OrderCount {
  readonly tenSeconds: number;
  readonly day: number;
}

export const TEN_SECONDS_MS = 10_000;
export const DAY_MS = 24 * 3_600_000;

/** [start of the 10 s window, orders in it, start of the day, orders in it]. */
type Windows = [number, number, number, number];

/**
 * The new orders of each user in Binance's two fixed windows, counted by UBSCore from the signed
 * orders it journals: every gateway submits there, so a user's count is one count, whichever
 * gateway each order came through, and it is state like any other (replayed, in snapshots, on
 * every replica). Time is the commands' own; the horizon (the latest seen) never goes back, so
 * replay counts the same, and a gateway whose clock lags cannot reopen a closed window.
 */
export class OrderCounts {
  private readonly byUser = new Map<number, Windows>();
  private horizon = 0;

  /** Counts `orders` new orders (an order list's count each) of `userId` submitted at `time`. */
  count(userId: number, time: number, orders = 1): void {
    if (time > this.horizon) this.horizon = time;
    const [tenStart, tenCount, dayStart, dayCount] = this.current(userId, this.horizon);
    this.byUser.set(userId, [tenStart, tenCount + orders, dayStart, dayCount + orders]);
  }

  /** What `userId` has ordered in the windows current at `time` (or at the horizon, if later). */
  of(userId: number, time: number): OrderCount {
    const [, tenSeconds, , day] = this.current(userId, Math.max(time, this.horizon));
    return { tenSeconds, day };
  }

  /** For snapshots: the horizon, and each user's windows still current at it. */
  entries(): { horizon: number; users: [number, ...Windows][] } {
    const day = windowStart(this.horizon, DAY_MS);
    const users: [number, ...Windows][] = [];
    for (const [userId, w] of this.byUser) if (w[2] === day) users.push([userId, ...w]);
    return { horizon: this.horizon, users };
  }

  static restore(saved: ReturnType<OrderCounts["entries"]> | undefined): OrderCounts {
    const counts = new OrderCounts();
    if (!saved) return counts; // a snapshot from before UBSCore counted orders
    counts.horizon = saved.horizon;
    for (const [userId, ...w] of saved.users) counts.byUser.set(userId, w);
    return counts;
  }

  /** The user's windows at `time`: a window that has ended counts from zero. */
  private current(userId: number, time: number): Windows {
    const tenStart = windowStart(time, TEN_SECONDS_MS);
    const dayStart = windowStart(time, DAY_MS);
    const w = this.byUser.get(userId);
    return [tenStart, w && w[0] === tenStart ? w[1] : 0, dayStart, w && w[2] === dayStart ? w[3] : 0];
  }
}

function windowStart(time: number, size: number): number {
  return time - (time % size);
}

/**
 * UBSCore's gate on new orders, before they are journaled: an order that would take its user past
 * a limit is refused (TOO_MANY_ORDERS) and never journaled, so it changes nothing and replay,
 * whatever the limits are then, counts exactly what was taken. Orders admitted but not yet applied
 * (a group commit in flight) count as taken, so a burst cannot pass the limit together.
 */
export class OrderAdmission {
  private readonly pending = new Map<number, number>();

  constructor(
    private readonly limits: OrderLimits,
    private readonly counts: OrderCounts,
  ) {}

  /**
   * Holds `orders` new orders (an order list's count each) of `userId` at `time` against the
   * limits; `release` once they are applied or refused.
   */
  hold(userId: number, time: number, orders = 1): { release(): void } {
    const pending = this.pending.get(userId) ?? 0;
    const { tenSeconds, day } = this.counts.of(userId, time);
    if (tenSeconds + pending + orders > this.limits.ordersPer10s)
      throw refusal(this.limits.ordersPer10s, "TEN_SECONDS");
    if (day + pending + orders > this.limits.ordersPerDay) throw refusal(this.limits.ordersPerDay, "DAY");
    this.pending.set(userId, pending + orders);
    return {
      release: () => {
        const left = (this.pending.get(userId) ?? orders) - orders;
        if (left === 0) this.pending.delete(userId);
        else this.pending.set(userId, left);
      },
    };
  }
}

/** Binance's message for -1015, naming the window that refused. */
function refusal(limit: number, interval: "TEN_SECONDS" | "DAY"): BourseError {
  return new BourseError(
    "TOO_MANY_ORDERS",
    `Too many new orders; current limit is ${limit} orders per ${interval}.`,
  );
}
