import type { Page } from "./port.ts";

/** The first index of `sorted` (ascending by `idOf`) whose id is at least `id`. */
export function lowerBound<T>(sorted: readonly T[], idOf: (r: T) => number, id: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (idOf(sorted[mid]!) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One page of `sorted` (ascending by `idOf`): from id `fromId` on, or the last `limit`; all without a page. */
export function pageOf<T>(sorted: readonly T[], idOf: (r: T) => number, page?: Page): readonly T[] {
  if (!page) return sorted;
  if (page.fromId === undefined) return sorted.slice(Math.max(0, sorted.length - page.limit));
  const from = lowerBound(sorted, idOf, page.fromId);
  return sorted.slice(from, from + page.limit);
}
