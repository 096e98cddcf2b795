import type { Market } from "../../domain/src/index.ts";
import { formatUnits, lotsToQuantity, ticksToPrice } from "../../domain/src/index.ts";
import { EventType, type MatchingEvent, Side } from "../../matching/src/index.ts";
import type {
  Candle,
  ListOrderChange,
  OrderList,
  OrderRecord,
  TradeRecord,
  UbsCore,
} from "../../ubscore/src/index.ts";
import {
  type averagePriceView,
  commissionView,
  type fullTickerView,
  nameOf,
  ORDER_TYPE,
  SIDE,
  STP,
  TIF,
  type ticker24hView,
} from "./format.ts";
import { KLINE_INTERVALS, type KlineInterval } from "./market-data.ts";

/** The messages of Binance's WebSocket streams, from Bourse's records (streams.ts sends them). */

export type Report = [OrderRecord, Record<string, unknown>];

/**
 * The executionReport of an order list's order that changed in UBSCore alone: an OTO's pending
 * order placed (PENDING_NEW), or ended with its working order, or refused for want of funds.
 */
export function listOrderReports(
  core: UbsCore,
  market: Market,
  change: ListOrderChange,
  listening: (orderId: number) => boolean,
): Report[] {
  const o = core.order(change.orderId);
  if (!o || !listening(o.orderId)) return [];
  return [[o, { x: change.execution, X: change.status, ...unfilled(market) }]];
}

/**
 * The executionReports one matching event makes, for the orders whose users listen: each the
 * order as it stands with the fields that say what happened to it.
 */
export function executionReports(
  core: UbsCore,
  market: Market,
  e: MatchingEvent,
  listening: (orderId: number) => boolean,
): Report[] {
  switch (e.type) {
    case EventType.Accepted:
      // As the order stood when accepted: nothing filled yet, whatever the same command filled.
      return [[core.order(e.orderId)!, { x: "NEW", X: "NEW", ...unfilled(market) }]];
    case EventType.Triggered: {
      // The stop price was reached: the order works from now on, as it stood before its fills.
      const o = core.order(e.orderId)!;
      return [[o, { x: "NEW", X: "NEW", w: true, W: o.workingTime, ...unfilled(market) }]];
    }
    case EventType.Trade:
      return tradeReports(core, market, e, listening);
    case EventType.Cancelled:
      return [[core.order(e.orderId)!, { x: "CANCELED", X: "CANCELED" }]];
    case EventType.Amended: {
      // Amend keep priority: the order as it now stands (new quantity, new client order id).
      const o = core.order(e.orderId)!;
      return [[o, { x: "REPLACED", X: o.status }]];
    }
    case EventType.Expired: {
      const o = core.order(e.orderId)!;
      return [[o, { x: "EXPIRED", X: o.status }]];
    }
    case EventType.Rejected: {
      const o = core.order(e.orderId);
      return o ? [[o, { x: "REJECTED", X: "REJECTED" }]] : [];
    }
    default:
      return [];
  }
}

/** The cumulative fields of an order that has not traded yet. */
const unfilled = (market: Market) => ({
  z: lotsToQuantity(market, 0),
  Z: formatUnits(0n, market.quote.decimals),
});

/** A trade's reports: the taker's and the maker's, each with its own fill. */
function tradeReports(
  core: UbsCore,
  market: Market,
  e: Extract<MatchingEvent, { type: EventType.Trade }>,
  listening: (orderId: number) => boolean,
): Report[] {
  const sides = [
    [e.takerOrderId, e.takerRemainingLots],
    [e.makerOrderId, e.makerRemainingLots],
  ] as const;
  return sides
    .filter(([id]) => listening(id))
    .map(([id, remaining]): Report => {
      const o = core.order(id)!;
      const fill = o.fills.find((f) => f.tradeId === e.tradeId)!;
      const z = o.executedLots - lotsFilledAfter(o, e.tradeId);
      const done = o.origQtyLots > 0 && remaining === 0;
      const { commission, commissionAsset } = commissionView(market, o.side, fill.fee);
      const fields = {
        x: "TRADE",
        X: done ? "FILLED" : "PARTIALLY_FILLED",
        l: lotsToQuantity(market, e.qtyLots),
        z: lotsToQuantity(market, z),
        L: ticksToPrice(market, e.priceTicks),
        n: commission,
        N: commissionAsset,
        t: e.tradeId,
        m: fill.isMaker,
        Y: formatUnits(fill.quoteUnits, market.quote.decimals),
      };
      return [o, fields];
    });
}

/** Lots filled in trades after `tradeId`: the order's cumulative quantity as of that trade is the rest. */
function lotsFilledAfter(o: OrderRecord, tradeId: number): number {
  return o.fills.filter((f) => f.tradeId > tradeId).reduce((s, f) => s + f.qtyLots, 0);
}

export function executionReport(
  market: Market,
  o: OrderRecord,
  fields: Record<string, unknown>,
  now: number,
) {
  return {
    e: "executionReport",
    E: now,
    s: market.symbol,
    c: o.clientOrderId,
    S: nameOf(SIDE, o.side),
    o: nameOf(ORDER_TYPE, o.type),
    f: nameOf(TIF, o.tif),
    q: lotsToQuantity(market, o.origQtyLots),
    p: ticksToPrice(market, o.priceTicks),
    P: ticksToPrice(market, o.stopPriceTicks ?? 0),
    F: lotsToQuantity(market, 0),
    g: o.orderListId ?? -1,
    C: "",
    r: "NONE",
    i: o.orderId,
    l: lotsToQuantity(market, 0),
    z: lotsToQuantity(market, o.executedLots),
    L: ticksToPrice(market, 0),
    n: formatUnits(0n, market.quote.decimals),
    N: null,
    T: o.updateTime,
    t: -1,
    // A triggered order works (is on the book) from its trigger.
    w:
      (o.status === "NEW" || o.status === "PARTIALLY_FILLED") &&
      (o.stopPriceTicks === undefined || o.workingTime !== undefined),
    m: false,
    M: false,
    O: o.time,
    Z: formatUnits(o.cumQuote, market.quote.decimals),
    Y: formatUnits(0n, market.quote.decimals),
    Q: formatUnits(o.quoteOrderUnits, market.quote.decimals),
    V: nameOf(STP, o.stp),
    ...fields,
  };
}

export function klineRestView(market: Market, k: Candle, interval: KlineInterval) {
  const size = KLINE_INTERVALS[interval];
  return [
    k.openTime,
    ticksToPrice(market, k.open),
    ticksToPrice(market, k.high),
    ticksToPrice(market, k.low),
    ticksToPrice(market, k.close),
    lotsToQuantity(market, k.volumeLots),
    k.openTime + size - 1,
    formatUnits(k.quoteVolume, market.quote.decimals),
    k.trades,
    lotsToQuantity(market, k.takerBuyLots),
    formatUnits(k.takerBuyQuote, market.quote.decimals),
    "0",
  ];
}

export function klineStreamView(market: Market, k: Candle, interval: KlineInterval, now: number) {
  const [t, o, h, l, c, v, T, q, n, V, Q] = klineRestView(market, k, interval);
  return {
    t,
    T,
    s: market.symbol,
    i: interval,
    f: k.firstTradeId,
    L: k.lastTradeId,
    o,
    c,
    h,
    l,
    v,
    n,
    x: now > (T as number),
    q,
    V,
    Q,
    B: "0",
  };
}

/** A depth diff: the levels a command changed, chained by U (first) and u (last update id). */
export function depthDiffView(
  market: Market,
  events: readonly MatchingEvent[],
  U: number,
  u: number,
  now: number,
) {
  const b: string[][] = [];
  const a: string[][] = [];
  for (const e of events) {
    if (e.type !== EventType.BookLevel) continue;
    (e.side === Side.Buy ? b : a).push([
      ticksToPrice(market, e.priceTicks),
      lotsToQuantity(market, e.totalLots),
    ]);
  }
  return { e: "depthUpdate", E: now, s: market.symbol, U, u, b, a };
}

export function tradeStreamView(market: Market, t: TradeRecord, now: number) {
  return {
    e: "trade",
    E: now,
    s: market.symbol,
    t: t.tradeId,
    p: ticksToPrice(market, t.priceTicks),
    q: lotsToQuantity(market, t.qtyLots),
    T: t.time,
    m: t.takerSide === Side.Sell,
    M: true,
  };
}

type Ticker24h = ReturnType<typeof ticker24hView>;

export function miniTickerStreamView(t: Ticker24h, now: number) {
  return {
    e: "24hrMiniTicker",
    E: now,
    s: t.symbol,
    c: t.lastPrice,
    o: t.openPrice,
    h: t.highPrice,
    l: t.lowPrice,
    v: t.volume,
    q: t.quoteVolume,
  };
}

/** A rolling window ticker event (`@ticker_<window>`): `e` names the window, as `1hTicker`, `24hrTicker`. */
export function windowTickerStreamView(t: ReturnType<typeof fullTickerView>, window: string, now: number) {
  return {
    e: `${window}Ticker`,
    E: now,
    s: t.symbol,
    p: t.priceChange,
    P: t.priceChangePercent,
    o: t.openPrice,
    h: t.highPrice,
    l: t.lowPrice,
    c: t.lastPrice,
    w: t.weightedAvgPrice,
    v: t.volume,
    q: t.quoteVolume,
    O: t.openTime,
    C: t.closeTime,
    F: t.firstId,
    L: t.lastId,
    n: t.count,
  };
}

export function avgPriceStreamView(market: Market, avg: ReturnType<typeof averagePriceView>, now: number) {
  return { e: "avgPrice", E: now, s: market.symbol, i: `${avg.mins}m`, w: avg.price, T: avg.closeTime };
}

/** The 24-hour ticker event: the rolling window one of 24 hours, with the last trade and the book's top. */
export function tickerStreamView(t: Ticker24h, now: number) {
  return {
    ...windowTickerStreamView(t, "24hr", now),
    x: t.prevClosePrice,
    Q: t.lastQty,
    b: t.bidPrice,
    B: t.bidQty,
    a: t.askPrice,
    A: t.askQty,
  };
}

/** A user's balances of a market's two assets after a change. */
export function accountPositionView(
  market: Market,
  balances: readonly { available: bigint; frozen: bigint }[],
  now: number,
) {
  return {
    e: "outboundAccountPosition",
    E: now,
    u: now,
    B: [market.base, market.quote].map((a) => ({
      a: a.symbol,
      f: formatUnits(balances[a.id - 1]!.available, a.decimals),
      l: formatUnits(balances[a.id - 1]!.frozen, a.decimals),
    })),
  };
}

/** Binance's listStatus event: an order list's status and its orders, as it changes. */
export function listStatusView(
  market: Market,
  list: OrderList,
  clientOrderId: (orderId: number) => string,
  now: number,
) {
  return {
    e: "listStatus",
    E: now,
    s: market.symbol,
    g: list.orderListId,
    c: list.contingencyType,
    l: list.listStatusType,
    L: list.listOrderStatus,
    r: "NONE",
    C: list.listClientOrderId,
    T: list.updateTime,
    O: list.orderIds.map((i) => ({ s: market.symbol, i, c: clientOrderId(i) })),
  };
}
