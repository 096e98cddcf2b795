import { type Candle, MINUTE } from "../../ubscore/src/index.ts";

/**
 * Kline intervals and rolling statistics, in integers (ticks, lots, quote units), from the 1-minute
 * candles UBSCore keeps per market; larger intervals are aggregated from them on request.
 */
export const KLINE_INTERVALS = {
  "1m": 60_000,
  "3m": 180_000,
  "5m": 300_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "2h": 7_200_000,
  "4h": 14_400_000,
  "6h": 21_600_000,
  "8h": 28_800_000,
  "12h": 43_200_000,
  "1d": 86_400_000,
} as const;
export type KlineInterval = keyof typeof KLINE_INTERVALS;

/** Statistics of the trades in a rolling window, from the minute candles. */
export interface RollingStats {
  readonly openTime: number;
  readonly closeTime: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly last: number;
  readonly volumeLots: number;
  readonly quoteVolume: bigint;
  readonly trades: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
}

export const DAY = 86_400_000;

/** Klines of any interval and rolling tickers, aggregated on request from UBSCore's minute candles. */
export class MarketStatistics {
  constructor(private readonly candlesOf: (marketId: number) => readonly Candle[]) {}

  /** Candles of `interval`, oldest first, within [startTime, endTime], at most `limit` (the newest). */
  klines(
    marketId: number,
    interval: KlineInterval,
    limit: number,
    startTime = 0,
    endTime = Number.MAX_SAFE_INTEGER,
  ): Candle[] {
    const size = KLINE_INTERVALS[interval];
    const out: Candle[] = [];
    for (const m of this.candlesOf(marketId)) {
      const openTime = m.openTime - (m.openTime % size);
      if (openTime + size - 1 < startTime || openTime > endTime) continue;
      const last = out.at(-1);
      if (last && last.openTime === openTime) {
        last.high = Math.max(last.high, m.high);
        last.low = Math.min(last.low, m.low);
        last.close = m.close;
        last.volumeLots += m.volumeLots;
        last.quoteVolume += m.quoteVolume;
        last.trades += m.trades;
        last.lastTradeId = m.lastTradeId;
        last.takerBuyLots += m.takerBuyLots;
        last.takerBuyQuote += m.takerBuyQuote;
      } else {
        out.push({ ...m, openTime });
      }
    }
    return out.slice(-limit);
  }

  /**
   * The window of `windowMs` ending now, from the minute candles: it starts at the beginning of
   * the minute `windowMs` ago, so it may reach up to 59,999 ms further back, as Binance documents
   * for its rolling windows. Candles cost one per minute, whatever the trade rate, and outlive
   * the trades UBSCore keeps in memory.
   */
  rolling(marketId: number, now: number, windowMs: number): RollingStats | undefined {
    const candles = this.candlesOf(marketId);
    const from = now - windowMs - ((now - windowMs) % MINUTE);
    let i = candles.length;
    while (i > 0 && candles[i - 1]!.openTime >= from) i--;
    const window = candles.slice(i).filter((c) => c.openTime <= now);
    if (window.length === 0) return undefined;
    let high = 0;
    let low = Number.MAX_SAFE_INTEGER;
    let volumeLots = 0;
    let quoteVolume = 0n;
    let trades = 0;
    for (const c of window) {
      high = Math.max(high, c.high);
      low = Math.min(low, c.low);
      volumeLots += c.volumeLots;
      quoteVolume += c.quoteVolume;
      trades += c.trades;
    }
    return {
      openTime: now - windowMs,
      closeTime: now,
      open: window[0]!.open,
      high,
      low,
      last: window.at(-1)!.close,
      volumeLots,
      quoteVolume,
      trades,
      firstTradeId: window[0]!.firstTradeId,
      lastTradeId: window.at(-1)!.lastTradeId,
    };
  }
}

/** A Binance `windowSize` (1m-59m, 1h-23h, 1d-7d) in milliseconds; undefined if it is none of them. */
export function windowSizeMs(windowSize: string): number | undefined {
  const match = /^([1-9]\d?)([mhd])$/.exec(windowSize);
  if (!match) return undefined;
  const n = Number(match[1]);
  const [unit, max] = { m: [MINUTE, 59], h: [60 * MINUTE, 23], d: [DAY, 7] }[match[2] as "m" | "h" | "d"] as [
    number,
    number,
  ];
  return n <= max ? n * unit : undefined;
}
