import type { TradeRecord } from "../../ubscore/src/types.ts";

/**
 * Candles and rolling statistics built from trades, in integers (ticks, lots, quote units). Kept
 * as 1-minute candles per market; larger intervals are aggregated from them on request.
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

export interface Candle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volumeLots: number;
  quoteVolume: bigint;
  trades: number;
  firstTradeId: number;
  lastTradeId: number;
  takerBuyLots: number;
  takerBuyQuote: bigint;
}

export interface Ticker24h {
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

const MINUTE = 60_000;
const DAY = 86_400_000;

export class MarketStatistics {
  /** Per market: 1-minute candles in time order. */
  private readonly candles = new Map<number, Candle[]>();

  /** Folds a trade into its minute candle; trades arrive in time order per market. */
  add(t: TradeRecord, takerIsBuyer: boolean): Candle {
    const list = this.candles.get(t.marketId) ?? [];
    this.candles.set(t.marketId, list);
    const openTime = t.time - (t.time % MINUTE);
    let c = list.at(-1);
    if (!c || c.openTime < openTime) {
      c = {
        openTime,
        open: t.priceTicks,
        high: t.priceTicks,
        low: t.priceTicks,
        close: t.priceTicks,
        volumeLots: 0,
        quoteVolume: 0n,
        trades: 0,
        firstTradeId: t.tradeId,
        lastTradeId: t.tradeId,
        takerBuyLots: 0,
        takerBuyQuote: 0n,
      };
      list.push(c);
    }
    c.high = Math.max(c.high, t.priceTicks);
    c.low = Math.min(c.low, t.priceTicks);
    c.close = t.priceTicks;
    c.volumeLots += t.qtyLots;
    c.quoteVolume += t.quoteUnits;
    c.trades++;
    c.lastTradeId = t.tradeId;
    if (takerIsBuyer) {
      c.takerBuyLots += t.qtyLots;
      c.takerBuyQuote += t.quoteUnits;
    }
    return c;
  }

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
    for (const m of this.candles.get(marketId) ?? []) {
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
   * Rolling 24 hours ending now, from the minute candles: the window starts at the beginning of
   * the minute 24 hours ago, so it may reach up to 59,999 ms further back, as Binance documents
   * for its rolling windows. Candles cost one per minute, whatever the trade rate, and outlive
   * the trades UBSCore keeps in memory.
   */
  ticker24h(marketId: number, now: number): Ticker24h | undefined {
    const candles = this.candles.get(marketId) ?? [];
    const from = now - DAY - ((now - DAY) % MINUTE);
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
      openTime: now - DAY,
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
