import type { Market } from "../../domain/src/index.ts";
import { lotsToQuantity, ticksToPrice } from "../../domain/src/index.ts";
import { aggregateTrades, selectAggTrades } from "./agg-trades.ts";
import { endTime, fromId, limit, requiredSymbol, startTime, symbol, symbols } from "./common-params.ts";
import { endpoint, type ParamSpec } from "./endpoint.ts";
import { ApiError, errors } from "./errors.ts";
import {
  aggTradeView,
  averagePriceView,
  depthView,
  exchangeInfoView,
  publicTradeView,
  ticker24hView,
  windowTickerView,
} from "./format.ts";
import { DAY, KLINE_INTERVALS, windowSizeMs } from "./market-data.ts";
import { selectMarkets } from "./params.ts";
import { marketOf, type RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";
import { klineRestView } from "./stream-views.ts";

/** Binance's public market data (security NONE): read from UBSCore's in-memory state. */

/** Binance's permission names: SPOT, MARGIN, LEVERAGED, TRD_GRP_002, ... */
const PERMISSION = /^[A-Z][A-Z0-9_]{0,19}$/;

/** `permissions`: one name, or a JSON array of distinct names, as Binance takes it. */
function parsePermissions(value: string): string[] {
  if (PERMISSION.test(value)) return [value];
  const names = jsonOrUndefined(value);
  const valid = (n: unknown) => typeof n === "string" && PERMISSION.test(n);
  if (!Array.isArray(names) || names.length === 0 || !names.every(valid))
    throw errors.invalidValue("permissions");
  if (new Set(names).size !== names.length) throw errors.duplicateParam("permissions");
  return names as string[];
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const ping = endpoint({
  method: "GET",
  path: "/api/v3/ping",
  summary: "Test connectivity",
  security: "NONE",
  params: {},
  weight: 1,
  ws: "ping",
  response: s.empty,
  handler: async () => ({}),
});

const time = endpoint({
  method: "GET",
  path: "/api/v3/time",
  summary: "Server time",
  security: "NONE",
  params: {},
  weight: 1,
  ws: "time",
  response: s.obj({ serverTime: s.int }),
  handler: async (_, ctx: RouteContext) => ({ serverTime: ctx.clock() }),
});

const exchangeInfo = endpoint({
  method: "GET",
  path: "/api/v3/exchangeInfo",
  summary: "Markets, assets and filters",
  security: "NONE",
  params: {
    symbol,
    symbols,
    permissions: {
      type: "string",
      description:
        'Markets with any of these permissions: one (SPOT) or a JSON array (["SPOT","MARGIN"]); not with symbol(s)',
      example: "SPOT",
    },
    showPermissionSets: {
      type: "enum",
      values: ["true", "false"],
      description: "Whether permissionSets is filled (default true)",
    },
    symbolStatus: {
      type: "enum",
      values: ["TRADING", "HALT", "BREAK"],
      description: "Markets in this status only; not with symbol(s)",
      error: () => new ApiError(400, -1122, "Invalid symbolStatus."),
    },
  },
  weight: 20,
  ws: "exchangeInfo",
  response: s.obj({
    timezone: s.str,
    serverTime: s.int,
    rateLimits: s.arr(s.rateLimit),
    exchangeFilters: s.arr(s.empty),
    symbols: s.arr(s.obj({ symbol: s.str, status: s.str, baseAsset: s.str, quoteAsset: s.str })),
  }),
  handler: async ({ args }, ctx: RouteContext) => {
    const filtered = args.permissions !== undefined || args.symbolStatus !== undefined;
    if (filtered && (args.symbol !== undefined || args.symbols !== undefined)) throw errors.badCombination();
    const status = (m: Market) => (ctx.core.isHalted(m.id) ? "HALT" : "TRADING");
    const wanted = args.permissions === undefined ? undefined : parsePermissions(args.permissions);
    const markets = selectMarkets(args, ctx.core.exchange).markets.filter(
      (m) =>
        (args.symbolStatus === undefined || status(m) === args.symbolStatus) &&
        // Every market here is spot, and spot only.
        (wanted === undefined || wanted.includes("SPOT")),
    );
    return exchangeInfoView(
      markets,
      status,
      ctx.clock(),
      ctx.limiter.describe(),
      args.showPermissionSets !== "false",
    );
  },
});

const depth = endpoint({
  method: "GET",
  path: "/api/v3/depth",
  summary: "Order book with lastUpdateId",
  security: "NONE",
  params: { symbol: requiredSymbol, limit: limit(5000, 100) },
  // Binance's, by how deep the book asked for is.
  weight: (q) => {
    const n = Number(q.get("limit") ?? 100);
    return n <= 100 ? 5 : n <= 500 ? 25 : n <= 1000 ? 50 : 250;
  },
  ws: "depth",
  response: s.obj({ lastUpdateId: s.int, bids: s.arr(s.arr(s.dec)), asks: s.arr(s.arr(s.dec)) }),
  handler: async ({ args }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    return depthView(m, ctx.core.book(m.id).depth(args.limit));
  },
});

const trades = endpoint({
  method: "GET",
  path: "/api/v3/trades",
  summary: "Recent trades",
  security: "NONE",
  params: { symbol: requiredSymbol, limit: limit(1000, 500) },
  weight: 2,
  ws: "trades.recent",
  response: s.arr(s.publicTrade),
  handler: async ({ args }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    return ctx.core
      .tradesOf(m.id)
      .slice(-args.limit)
      .map((t) => publicTradeView(m, t));
  },
});

const historicalTrades = endpoint({
  method: "GET",
  path: "/api/v3/historicalTrades",
  summary: "Older trades from an id (UBSCore's in memory, older ones from the history store)",
  security: "NONE",
  params: { symbol: requiredSymbol, fromId, limit: limit(1000, 500) },
  weight: 25,
  ws: "trades.historical",
  response: s.arr(s.publicTrade),
  handler: async ({ args: { symbol, fromId, limit } }, ctx: RouteContext) => {
    const m = marketOf(ctx, symbol);
    const all = ctx.core.tradesOf(m.id);
    if (fromId === undefined) return all.slice(-limit).map((t) => publicTradeView(m, t));
    // Before the oldest UBSCore holds: the store's, then UBSCore's (the newest may not be stored yet).
    const held = all.filter((t) => t.tradeId >= fromId);
    const older =
      ctx.core.hasForgottenTrades(m.id) && (all[0] === undefined || fromId < all[0].tradeId)
        ? await ctx.history.tradesFrom(m.id, fromId, limit)
        : [];
    const byId = new Map(older.map((t) => [t.tradeId, t]));
    for (const t of held) byId.set(t.tradeId, t);
    return [...byId.values()]
      .sort((a, b) => a.tradeId - b.tradeId)
      .slice(0, limit)
      .map((t) => publicTradeView(m, t));
  },
});

const aggTrades = endpoint({
  method: "GET",
  path: "/api/v3/aggTrades",
  summary: "Aggregate trades: consecutive fills of one taker order at one price (id = its first trade's id)",
  security: "NONE",
  params: { symbol: requiredSymbol, fromId, startTime, endTime, limit: limit(1000, 500) },
  weight: 4,
  ws: "trades.aggregate",
  response: s.arr(s.aggTrade),
  handler: async ({ args: { symbol, ...query } }, ctx: RouteContext) => {
    const m = marketOf(ctx, symbol);
    return selectAggTrades(aggregateTrades(ctx.core.tradesOf(m.id)), query).map((a) => aggTradeView(m, a));
  },
});

const klineParams = {
  symbol: requiredSymbol,
  interval: {
    type: "enum",
    values: Object.keys(KLINE_INTERVALS) as (keyof typeof KLINE_INTERVALS)[],
    required: true,
    description: "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h or 1d",
    example: "1m",
  },
  limit: limit(1000, 500),
  startTime,
  endTime,
  timeZone: { type: "string", description: "Accepted; candles are in UTC" },
} as const satisfies Record<string, ParamSpec>;

/** Candles; uiKlines (Binance's candles "for presentation") are the same candles. */
function klines(path: string, ws: string) {
  return endpoint({
    method: "GET",
    path,
    summary: "Candles",
    security: "NONE",
    params: klineParams,
    weight: 2,
    ws,
    response: s.arr(s.kline),
    handler: async ({ args }, ctx: RouteContext) => {
      const m = marketOf(ctx, args.symbol);
      return ctx.stats
        .klines(m.id, args.interval, args.limit, args.startTime, args.endTime)
        .map((k) => klineRestView(m, k, args.interval));
    },
  });
}

const tickerType = {
  type: "enum",
  values: ["FULL", "MINI"],
  default: "FULL",
  description: "FULL (default) or MINI",
} as const satisfies ParamSpec;

/** How many markets a request names (`symbol`: one; `symbols`: its list), undefined for all of them. */
function symbolCount(query: URLSearchParams): number | undefined {
  if (query.has("symbol")) return 1;
  const list = query.get("symbols");
  return list ? list.split(",").length : undefined;
}

const ticker24hr = endpoint({
  method: "GET",
  path: "/api/v3/ticker/24hr",
  summary: "Rolling 24-hour statistics",
  security: "NONE",
  params: { symbol, symbols, type: tickerType },
  weight: (q) => {
    const n = symbolCount(q);
    return n === undefined ? 80 : n <= 20 ? 2 : n <= 100 ? 40 : 80;
  },
  ws: "ticker.24hr",
  response: s.oneOrMany(s.ticker24h),
  handler: async ({ args }, ctx: RouteContext) => {
    const now = ctx.clock();
    return perMarket(selectMarkets(args, ctx.core.exchange), (m) => {
      const stats = ctx.stats.rolling(m.id, now, DAY);
      if (args.type === "MINI") return windowTickerView(m, stats, now - DAY, now, false);
      const lastQty = ctx.core.tradesOf(m.id).at(-1)?.qtyLots ?? 0;
      return ticker24hView(m, stats, ctx.core.book(m.id).depth(1), now, lastQty);
    });
  },
});

/** Binance's weight of the window tickers: 4 per market named, at most 200. */
const windowTickerWeight = (q: URLSearchParams) => Math.min(200, 4 * (symbolCount(q) ?? 1));

const ticker = endpoint({
  method: "GET",
  path: "/api/v3/ticker",
  summary: "Rolling-window statistics (windowSize 1m-59m, 1h-23h, 1d-7d; default 1d)",
  security: "NONE",
  params: {
    symbol,
    symbols,
    windowSize: { type: "string", description: "1m-59m, 1h-23h or 1d-7d" },
    type: tickerType,
  },
  weight: windowTickerWeight,
  ws: "ticker",
  response: s.oneOrMany(s.windowTicker),
  handler: async ({ args }, ctx: RouteContext) =>
    windowTickers(args, ctx, (now) => {
      const length = windowSizeMs(args.windowSize ?? "1d") ?? errors.invalidValue("windowSize").throwSelf();
      return { length, openTime: now - length, closeTime: now };
    }),
});

const tradingDay = endpoint({
  method: "GET",
  path: "/api/v3/ticker/tradingDay",
  summary: "Statistics of the current trading day (UTC)",
  security: "NONE",
  params: {
    symbol,
    symbols,
    timeZone: { type: "string", description: "Only UTC (0) is served" },
    type: tickerType,
  },
  weight: windowTickerWeight,
  ws: "ticker.tradingDay",
  response: s.oneOrMany(s.windowTicker),
  handler: async ({ args }, ctx: RouteContext) =>
    windowTickers(args, ctx, (now) => {
      if (args.timeZone !== undefined && !/^[+-]?0{1,2}(:00)?$/.test(args.timeZone))
        throw errors.invalidValue("timeZone");
      const dayStart = now - (now % DAY);
      return { length: now - dayStart, openTime: dayStart, closeTime: dayStart + DAY - 1 };
    }),
});

/**
 * The window tickers of the markets named (these take no "every market": symbol or symbols is
 * required), over the window `window` gives for now (it refuses a bad one once the markets are known).
 */
function windowTickers(
  args: { symbol?: string; symbols?: string[]; type: "FULL" | "MINI" },
  ctx: RouteContext,
  window: (now: number) => { length: number; openTime: number; closeTime: number },
) {
  const selected = selectMarkets(args, ctx.core.exchange, true);
  const now = ctx.clock();
  const { length, openTime, closeTime } = window(now);
  return perMarket(selected, (m) =>
    windowTickerView(m, ctx.stats.rolling(m.id, now, length), openTime, closeTime, args.type === "FULL"),
  );
}

/** One market's view for `symbol`, a list of them otherwise. */
function perMarket<T>(
  selected: { markets: readonly Market[]; single: boolean },
  view: (m: Market) => T,
): T | T[] {
  return selected.single ? view(selected.markets[0]!) : selected.markets.map(view);
}

const avgPrice = endpoint({
  method: "GET",
  path: "/api/v3/avgPrice",
  summary: "Average price of the last 5 minutes' trades",
  security: "NONE",
  params: { symbol: requiredSymbol },
  weight: 2,
  ws: "avgPrice",
  response: s.obj({ mins: s.int, price: s.dec, closeTime: s.int }),
  handler: async ({ args }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    return averagePriceView(m, ctx.stats, ctx.core.tradesOf(m.id).at(-1), ctx.clock());
  },
});

/** Binance's weight of the price and book tickers: 2 for one market, 4 for several. */
const priceTickerWeight = (q: URLSearchParams) => (q.has("symbol") ? 2 : 4);

const tickerPrice = endpoint({
  method: "GET",
  path: "/api/v3/ticker/price",
  summary: "Last price",
  security: "NONE",
  params: { symbol, symbols },
  weight: priceTickerWeight,
  ws: "ticker.price",
  response: s.oneOrMany(s.obj({ symbol: s.str, price: s.dec })),
  handler: async ({ args }, ctx: RouteContext) => {
    return perMarket(selectMarkets(args, ctx.core.exchange), (m) => ({
      symbol: m.symbol,
      price: ticksToPrice(m, ctx.core.tradesOf(m.id).at(-1)?.priceTicks ?? 0),
    }));
  },
});

const bookTicker = endpoint({
  method: "GET",
  path: "/api/v3/ticker/bookTicker",
  summary: "Best bid and ask",
  security: "NONE",
  params: { symbol, symbols },
  weight: priceTickerWeight,
  ws: "ticker.book",
  response: s.oneOrMany(
    s.obj({ symbol: s.str, bidPrice: s.dec, bidQty: s.dec, askPrice: s.dec, askQty: s.dec }),
  ),
  handler: async ({ args }, ctx: RouteContext) => {
    return perMarket(selectMarkets(args, ctx.core.exchange), (m) => {
      const { bids, asks } = ctx.core.book(m.id).depth(1);
      return {
        symbol: m.symbol,
        bidPrice: ticksToPrice(m, bids[0]?.priceTicks ?? 0),
        bidQty: lotsToQuantity(m, bids[0]?.totalLots ?? 0),
        askPrice: ticksToPrice(m, asks[0]?.priceTicks ?? 0),
        askQty: lotsToQuantity(m, asks[0]?.totalLots ?? 0),
      };
    });
  },
});

export const marketEndpoints = [
  ping,
  time,
  exchangeInfo,
  depth,
  trades,
  historicalTrades,
  aggTrades,
  klines("/api/v3/klines", "klines"),
  klines("/api/v3/uiKlines", "uiKlines"),
  ticker24hr,
  ticker,
  tradingDay,
  avgPrice,
  tickerPrice,
  bookTicker,
];
