import type { TradeRecord } from "./types.ts";

/**
 * One-minute candles per market, folded from trades as UBSCore applies them. They are part of
 * UBSCore's state (snapshotted and replayed like the rest), because UBSCore keeps only recent
 * trades: candles cost one record a minute whatever the trade rate, so klines and tickers cover
 * all of the history after any restart. Integers only (ticks, lots, quote units).
 */
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

export const MINUTE = 60_000;

/** Folds a trade into its minute candle; a market's trades arrive in time order. */
export function foldTrade(candles: Candle[], t: TradeRecord, takerIsBuyer: boolean): void {
  const openTime = t.time - (t.time % MINUTE);
  let c = candles.at(-1);
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
    candles.push(c);
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
}
