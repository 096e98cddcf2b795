import type { Market } from "../../domain/src/index.ts";
import { KLINE_INTERVALS, type KlineInterval } from "./market-data.ts";

/**
 * Binance's market stream names, read into what they ask for: a market's stream (lower-case
 * symbol, `@`, the kind and its parameters) or an every-market one (`!...@arr`). A name that is
 * none of them is undefined, and the hub refuses it (-1100, or 2 on SUBSCRIBE).
 */
export type MarketStreamName =
  | { readonly kind: "plain"; readonly market: Market; readonly stream: PlainStream }
  | { readonly kind: "kline"; readonly market: Market; readonly interval: KlineInterval }
  | { readonly kind: "partialDepth"; readonly market: Market; readonly levels: PartialDepthLevels }
  | { readonly kind: "windowTicker"; readonly market: Market; readonly window: TickerWindow }
  | { readonly kind: "allMarkets"; readonly ticker: AllMarketsTicker };

/**
 * A market's streams without parameters. `@depth@100ms` carries the same diffs as `@depth`: each
 * is sent as its command applies, sooner than either of Binance's intervals, chained alike.
 */
const PLAIN_STREAMS = [
  "depth",
  "depth@100ms",
  "trade",
  "aggTrade",
  "bookTicker",
  "ticker",
  "miniTicker",
  "avgPrice",
] as const;
type PlainStream = (typeof PLAIN_STREAMS)[number];

/** The partial book depths Binance serves (`@depth5`, `@depth10`, `@depth20`, each also `@100ms`). */
export const PARTIAL_DEPTH_LEVELS = [5, 10, 20] as const;
export type PartialDepthLevels = (typeof PARTIAL_DEPTH_LEVELS)[number];

/** The rolling windows of Binance's window ticker streams (`@ticker_1h`, `!ticker_1h@arr`, ...). */
export const TICKER_WINDOWS = ["1h", "4h", "1d"] as const;
export type TickerWindow = (typeof TICKER_WINDOWS)[number];

/** The every-market ticker arrays: `!ticker@arr`, `!miniTicker@arr`, `!ticker_<window>@arr`. */
export type AllMarketsTicker = "ticker" | "miniTicker" | `ticker_${TickerWindow}`;
const ALL_MARKETS_TICKERS: readonly AllMarketsTicker[] = [
  "ticker",
  "miniTicker",
  ...TICKER_WINDOWS.map((w) => `ticker_${w}` as const),
];

const oneOf = <T extends string | number>(values: readonly T[], value: unknown): value is T =>
  values.includes(value as T);

export function parseMarketStream(
  name: string,
  marketOf: (symbol: string) => Market | undefined,
): MarketStreamName | undefined {
  const all = /^!(.+)@arr$/.exec(name);
  if (all) return oneOf(ALL_MARKETS_TICKERS, all[1]) ? { kind: "allMarkets", ticker: all[1] } : undefined;
  const at = name.indexOf("@");
  if (at < 0) return undefined;
  const [symbol, stream] = [name.slice(0, at), name.slice(at + 1)];
  const market = symbol === symbol.toLowerCase() ? marketOf(symbol.toUpperCase()) : undefined;
  if (!market) return undefined;
  if (oneOf(PLAIN_STREAMS, stream)) return { kind: "plain", market, stream };
  const kline = /^kline_(.+)$/.exec(stream);
  if (kline && kline[1]! in KLINE_INTERVALS)
    return { kind: "kline", market, interval: kline[1] as KlineInterval };
  const depth = /^depth(5|10|20)(@100ms)?$/.exec(stream);
  if (depth) return { kind: "partialDepth", market, levels: Number(depth[1]) as PartialDepthLevels };
  const window = /^ticker_(.+)$/.exec(stream)?.[1];
  if (oneOf(TICKER_WINDOWS, window)) return { kind: "windowTicker", market, window };
  return undefined;
}
