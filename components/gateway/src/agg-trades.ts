import { Side } from "../../matching/src/index.ts";
import type { TradeRecord } from "../../ubscore/src/index.ts";

/**
 * Binance's aggregate trades: consecutive trades of one taker order at one price, as one. An
 * aggregate's id is its first trade's id, so ids rise with the trades and `fromId` needs no
 * second sequence, and an aggregate never changes once a later trade exists.
 */
export interface AggTrade {
  readonly id: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly time: number;
  readonly isBuyerMaker: boolean;
}

export interface AggTradeQuery {
  readonly fromId?: number;
  readonly startTime?: number;
  readonly endTime?: number;
  readonly limit: number;
}

const takerOrderOf = (t: TradeRecord) => (t.takerSide === Side.Buy ? t.buyerOrderId : t.sellerOrderId);

/** Aggregates `trades` (in trade id order), oldest first. */
export function aggregateTrades(trades: readonly TradeRecord[]): AggTrade[] {
  const out: AggTrade[] = [];
  let last: TradeRecord | undefined;
  for (const t of trades) {
    const open = out.at(-1);
    if (open && last && takerOrderOf(last) === takerOrderOf(t) && last.priceTicks === t.priceTicks) {
      out[out.length - 1] = { ...open, qtyLots: open.qtyLots + t.qtyLots, lastTradeId: t.tradeId };
    } else {
      out.push({
        id: t.tradeId,
        priceTicks: t.priceTicks,
        qtyLots: t.qtyLots,
        firstTradeId: t.tradeId,
        lastTradeId: t.tradeId,
        time: t.time,
        isBuyerMaker: t.takerSide === Side.Sell,
      });
    }
    last = t;
  }
  return out;
}

/**
 * Binance's selection: from `fromId` on, or within [startTime, endTime] (aggregates by their
 * first trade's time), else the most recent; at most `limit`.
 */
export function selectAggTrades(all: readonly AggTrade[], q: AggTradeQuery): AggTrade[] {
  if (q.fromId !== undefined) return all.filter((a) => a.id >= q.fromId!).slice(0, q.limit);
  if (q.startTime !== undefined || q.endTime !== undefined) {
    const from = q.startTime ?? Number.NEGATIVE_INFINITY;
    const to = q.endTime ?? Number.POSITIVE_INFINITY;
    return all.filter((a) => a.time >= from && a.time <= to).slice(0, q.limit);
  }
  return all.slice(-q.limit);
}
