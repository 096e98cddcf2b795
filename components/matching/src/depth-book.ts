import type { Depth, DepthLevel } from "./engine.ts";
import { EventType, type MatchingEvent, Side } from "./protocol.ts";

/** What market data reads of a book: its levels and the update id they are consistent with. */
export interface BookView {
  readonly lastSeq: number;
  depth(limit?: number): Depth;
}

/**
 * The aggregate book (total lots per price) of a market whose engine runs elsewhere, kept from
 * the engine's events: each `BookLevel` carries a level's new total (0 = gone), and every event's
 * `seq` moves the update id. UBSCore keeps one per market when matching is its own process, so
 * the depth endpoints and streams read the same levels the engine holds.
 */
export class DepthBook implements BookView {
  lastSeq: number;
  /** Per side, prices ordered so that the best is LAST (bids ascending, asks descending). */
  private readonly prices: [number[], number[]] = [[], []];
  private readonly totals: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];

  constructor(lastSeq = 0, levels: Iterable<{ side: Side } & DepthLevel> = []) {
    this.lastSeq = lastSeq;
    for (const l of levels) this.set(l.side, l.priceTicks, l.totalLots);
  }

  apply(events: readonly MatchingEvent[]): void {
    for (const e of events) {
      if (e.type === EventType.BookLevel) this.set(e.side, e.priceTicks, e.totalLots);
      this.lastSeq = e.seq;
    }
  }

  depth(limit = Number.POSITIVE_INFINITY): Depth {
    const side = (s: Side): DepthLevel[] => {
      const prices = this.prices[s];
      const out: DepthLevel[] = [];
      for (let i = prices.length - 1; i >= 0 && out.length < limit; i--) {
        out.push({ priceTicks: prices[i]!, totalLots: this.totals[s].get(prices[i]!)! });
      }
      return out;
    };
    return { lastUpdateId: this.lastSeq, bids: side(Side.Buy), asks: side(Side.Sell) };
  }

  private set(side: Side, price: number, total: number): void {
    const totals = this.totals[side];
    const prices = this.prices[side];
    const known = totals.has(price);
    if (total > 0) totals.set(price, total);
    else totals.delete(price);
    if (known === total > 0) return;
    const at = this.position(side, price);
    if (total > 0) prices.splice(at, 0, price);
    else prices.splice(at, 1);
  }

  /** Where `price` is or would go in its side's order (bisection; the touch is at the end). */
  private position(side: Side, price: number): number {
    const prices = this.prices[side];
    const before = side === Side.Buy ? (p: number) => p < price : (p: number) => p > price;
    let lo = 0;
    let hi = prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(prices[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
