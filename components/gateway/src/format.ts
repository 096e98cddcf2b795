import type { Market } from "../../domain/src/index.ts";
import { formatUnits, lotsToQuantity, ticksToPrice } from "../../domain/src/index.ts";
import type { Depth } from "../../matching/src/index.ts";
import { OrderType, SelfTradePrevention, Side, TimeInForce } from "../../matching/src/index.ts";
import type { OrderRecord, TradeRecord } from "../../ubscore/src/index.ts";
import type { AggTrade } from "./agg-trades.ts";
import type { MarketStatistics, RollingStats } from "./market-data.ts";

/** Binance JSON views of Bourse's integer records: decimals as fixed-precision strings. */
export const SIDE = { BUY: Side.Buy, SELL: Side.Sell } as const;
export const ORDER_TYPE = {
  LIMIT: OrderType.Limit,
  MARKET: OrderType.Market,
  LIMIT_MAKER: OrderType.LimitMaker,
  STOP_LOSS: OrderType.StopLoss,
  STOP_LOSS_LIMIT: OrderType.StopLossLimit,
  TAKE_PROFIT: OrderType.TakeProfit,
  TAKE_PROFIT_LIMIT: OrderType.TakeProfitLimit,
} as const;
export const TIF = { GTC: TimeInForce.GTC, IOC: TimeInForce.IOC, FOK: TimeInForce.FOK } as const;
export const STP = {
  NONE: SelfTradePrevention.None,
  EXPIRE_TAKER: SelfTradePrevention.ExpireTaker,
  EXPIRE_MAKER: SelfTradePrevention.ExpireMaker,
  EXPIRE_BOTH: SelfTradePrevention.ExpireBoth,
} as const;

export const nameOf = <T extends Record<string, number>>(table: T, value: number) =>
  Object.keys(table).find((k) => table[k] === value)!;

const quote = (m: Market, units: bigint) => formatUnits(units, m.quote.decimals);

/** A fill's commission as Binance shows it: in the asset the side received (a buyer's in base). */
export function commissionView(
  m: Market,
  side: Side,
  fee: bigint,
): { commission: string; commissionAsset: string } {
  const asset = side === Side.Buy ? m.base : m.quote;
  return { commission: formatUnits(fee, asset.decimals), commissionAsset: asset.symbol };
}

/** What an order view shows: an order UBSCore holds, or one from the history store. */
type OrderFields = Omit<OrderRecord, "reserved" | "reserveAsset" | "fills">;

export function orderView(m: Market, o: OrderFields) {
  return {
    symbol: m.symbol,
    orderId: o.orderId,
    orderListId: o.orderListId ?? -1,
    clientOrderId: o.clientOrderId,
    price: ticksToPrice(m, o.priceTicks),
    origQty: lotsToQuantity(m, o.origQtyLots),
    executedQty: lotsToQuantity(m, o.executedLots),
    cummulativeQuoteQty: quote(m, o.cumQuote),
    status: o.status,
    timeInForce: nameOf(TIF, o.tif),
    type: nameOf(ORDER_TYPE, o.type),
    side: nameOf(SIDE, o.side),
    stopPrice: ticksToPrice(m, o.stopPriceTicks ?? 0),
    icebergQty: lotsToQuantity(m, 0),
    time: o.time,
    updateTime: o.updateTime,
    // A triggered order works (is on the book) from its trigger; a market order never rests; an
    // order list's pending order from when its working order filled.
    isWorking:
      o.status !== "PENDING_NEW" &&
      (o.stopPriceTicks !== undefined ? o.workingTime !== undefined : o.type !== OrderType.Market),
    workingTime:
      o.status === "PENDING_NEW"
        ? -1
        : o.stopPriceTicks !== undefined
          ? (o.workingTime ?? -1)
          : (o.placedTime ?? o.time),
    origQuoteOrderQty: quote(m, o.quoteOrderUnits),
    selfTradePreventionMode: nameOf(STP, o.stp),
  };
}

export type RespType = "ACK" | "RESULT" | "FULL";

export function newOrderView(m: Market, o: OrderRecord, respType: RespType) {
  const ack = {
    symbol: m.symbol,
    orderId: o.orderId,
    orderListId: o.orderListId ?? -1,
    clientOrderId: o.clientOrderId,
    transactTime: o.time,
  };
  if (respType === "ACK") return ack;
  const full = orderView(m, o);
  const result = {
    ...ack,
    price: full.price,
    origQty: full.origQty,
    executedQty: full.executedQty,
    origQuoteOrderQty: full.origQuoteOrderQty,
    cummulativeQuoteQty: full.cummulativeQuoteQty,
    status: full.status,
    timeInForce: full.timeInForce,
    type: full.type,
    side: full.side,
    workingTime: full.workingTime,
    selfTradePreventionMode: full.selfTradePreventionMode,
    // Binance's conditional field: only triggered orders have a stop price.
    ...(o.stopPriceTicks === undefined ? {} : { stopPrice: full.stopPrice }),
  };
  if (respType === "RESULT") return result;
  return {
    ...result,
    fills: o.fills.map((f) => ({
      price: ticksToPrice(m, f.priceTicks),
      qty: lotsToQuantity(m, f.qtyLots),
      ...commissionView(m, o.side, f.fee),
      tradeId: f.tradeId,
    })),
  };
}

/** Binance's aggregate trade, in its single-letter fields. */
export function aggTradeView(m: Market, a: AggTrade) {
  return {
    a: a.id,
    p: ticksToPrice(m, a.priceTicks),
    q: lotsToQuantity(m, a.qtyLots),
    f: a.firstTradeId,
    l: a.lastTradeId,
    T: a.time,
    m: a.isBuyerMaker,
    M: true,
  };
}

export function publicTradeView(m: Market, t: TradeRecord) {
  return {
    id: t.tradeId,
    price: ticksToPrice(m, t.priceTicks),
    qty: lotsToQuantity(m, t.qtyLots),
    quoteQty: quote(m, t.quoteUnits),
    time: t.time,
    isBuyerMaker: t.takerSide === Side.Sell,
    isBestMatch: true,
  };
}

export function myTradeView(m: Market, t: TradeRecord, userId: number) {
  const isBuyer = t.buyerUserId === userId;
  const isMaker = isBuyer ? t.takerSide === Side.Sell : t.takerSide === Side.Buy;
  return {
    symbol: m.symbol,
    id: t.tradeId,
    orderId: isBuyer ? t.buyerOrderId : t.sellerOrderId,
    orderListId: -1,
    price: ticksToPrice(m, t.priceTicks),
    qty: lotsToQuantity(m, t.qtyLots),
    quoteQty: quote(m, t.quoteUnits),
    ...commissionView(m, isBuyer ? Side.Buy : Side.Sell, isBuyer ? t.buyerFee : t.sellerFee),
    time: t.time,
    isBuyer,
    isMaker,
    isBestMatch: true,
  };
}

export function exchangeInfoView(
  markets: readonly Market[],
  status: (m: Market) => "TRADING" | "HALT",
  now: number,
  rateLimits: readonly unknown[],
  showPermissionSets = true,
) {
  return {
    timezone: "UTC",
    serverTime: now,
    rateLimits,
    exchangeFilters: [],
    symbols: markets.map((m) => ({
      symbol: m.symbol,
      status: status(m),
      baseAsset: m.base.symbol,
      baseAssetPrecision: m.base.decimals,
      quoteAsset: m.quote.symbol,
      quotePrecision: m.quote.decimals,
      quoteAssetPrecision: m.quote.decimals,
      baseCommissionPrecision: m.base.decimals,
      quoteCommissionPrecision: m.quote.decimals,
      orderTypes: [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
      ],
      icebergAllowed: false,
      ocoAllowed: true,
      otoAllowed: true,
      opoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: false,
      cancelReplaceAllowed: false,
      amendAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: "PRICE_FILTER",
          minPrice: m.spec.minPrice,
          maxPrice: m.spec.maxPrice,
          tickSize: m.spec.tickSize,
        },
        { filterType: "LOT_SIZE", minQty: m.spec.minQty, maxQty: m.spec.maxQty, stepSize: m.spec.stepSize },
        {
          filterType: "MARKET_LOT_SIZE",
          minQty: m.spec.minQty,
          maxQty: m.spec.maxQty,
          stepSize: m.spec.stepSize,
        },
        {
          filterType: "NOTIONAL",
          minNotional: m.spec.minNotional,
          applyMinToMarket: true,
          maxNotional: "9000000000.00000000",
          applyMaxToMarket: false,
          avgPriceMins: 0,
        },
      ],
      permissions: [],
      permissionSets: showPermissionSets ? [["SPOT"]] : [],
      defaultSelfTradePreventionMode: "NONE",
      allowedSelfTradePreventionModes: Object.keys(STP),
    })),
  };
}

/** A ticker of a window's trades as Binance writes it (rolling window, trading day): MINI or FULL. */
export function windowTickerView(
  m: Market,
  t: RollingStats | undefined,
  openTime: number,
  closeTime: number,
  full: boolean,
) {
  return full ? fullTickerView(m, t, openTime, closeTime) : miniTickerView(m, t, openTime, closeTime);
}

/** MINI: the window's prices, volumes and trade ids. */
function miniTickerView(m: Market, t: RollingStats | undefined, openTime: number, closeTime: number) {
  const price = (ticks: number) => ticksToPrice(m, ticks);
  return {
    symbol: m.symbol,
    openPrice: price(t?.open ?? 0),
    highPrice: price(t?.high ?? 0),
    lowPrice: price(t?.low ?? 0),
    lastPrice: price(t?.last ?? 0),
    volume: lotsToQuantity(m, t?.volumeLots ?? 0),
    quoteVolume: formatUnits(t?.quoteVolume ?? 0n, m.quote.decimals),
    openTime,
    closeTime,
    firstId: t?.firstTradeId ?? -1,
    lastId: t?.lastTradeId ?? -1,
    count: t?.trades ?? 0,
  };
}

/** FULL: MINI with the change and the weighted average price, computed in integers. */
export function fullTickerView(m: Market, t: RollingStats | undefined, openTime: number, closeTime: number) {
  const change = t ? t.last - t.open : 0;
  // Percent with 3 decimals: change * 100 / open, scaled by 1000.
  const permille = t && t.open > 0 ? (BigInt(change) * 100_000n) / BigInt(t.open) : 0n;
  const sign = permille < 0n ? "-" : "";
  const abs = permille < 0n ? -permille : permille;
  return {
    priceChange: `${change < 0 ? "-" : ""}${ticksToPrice(m, Math.abs(change))}`,
    priceChangePercent: `${sign}${abs / 1000n}.${(abs % 1000n).toString().padStart(3, "0")}`,
    weightedAvgPrice: ticksToPrice(m, t ? Number(weightedAverageTicks(m, t)) : 0),
    ...miniTickerView(m, t, openTime, closeTime),
  };
}

/** The volume-weighted average price of a window's trades, in whole ticks (rounded down). */
export function weightedAverageTicks(m: Market, t: RollingStats): bigint {
  return t.volumeLots > 0 ? t.quoteVolume / (BigInt(t.volumeLots) * m.quotePerTickLot) : 0n;
}

/** A book's levels as /api/v3/depth and the partial book depth streams write them. */
export function depthView(m: Market, depth: Depth) {
  const level = (l: { priceTicks: number; totalLots: number }) => [
    ticksToPrice(m, l.priceTicks),
    lotsToQuantity(m, l.totalLots),
  ];
  return { lastUpdateId: depth.lastUpdateId, bids: depth.bids.map(level), asks: depth.asks.map(level) };
}

/** The window of the average price, as Binance's. */
const AVG_PRICE_MINUTES = 5;

/**
 * The average price (/api/v3/avgPrice, the @avgPrice stream): the volume-weighted average of the
 * last 5 minutes' trades; with none in them, the last trade's price, as Binance answers.
 */
export function averagePriceView(
  m: Market,
  stats: MarketStatistics,
  last: TradeRecord | undefined,
  now: number,
) {
  const window = stats.rolling(m.id, now, AVG_PRICE_MINUTES * 60_000);
  const ticks =
    window && window.volumeLots > 0 ? Number(weightedAverageTicks(m, window)) : (last?.priceTicks ?? 0);
  return { mins: AVG_PRICE_MINUTES, price: ticksToPrice(m, ticks), closeTime: last?.time ?? 0 };
}

/** The 24-hour ticker: the FULL window ticker with the last trade's quantity and the top of the book. */
export function ticker24hView(
  m: Market,
  t: RollingStats | undefined,
  top: Depth,
  now: number,
  lastQtyLots: number,
) {
  return {
    ...fullTickerView(m, t, t?.openTime ?? now, t?.closeTime ?? now),
    prevClosePrice: ticksToPrice(m, t?.open ?? 0),
    lastQty: lotsToQuantity(m, lastQtyLots),
    bidPrice: ticksToPrice(m, top.bids[0]?.priceTicks ?? 0),
    bidQty: lotsToQuantity(m, top.bids[0]?.totalLots ?? 0),
    askPrice: ticksToPrice(m, top.asks[0]?.priceTicks ?? 0),
    askQty: lotsToQuantity(m, top.asks[0]?.totalLots ?? 0),
  };
}
