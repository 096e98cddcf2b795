import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { KLINE_INTERVALS } from "../src/market-data.ts";
import { PARTIAL_DEPTH_LEVELS, parseMarketStream, TICKER_WINDOWS } from "../src/stream-names.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const parse = (name: string) => parseMarketStream(name, (symbol) => exchange.market(symbol));
const btc = exchange.market("BTCUSDT")!;

/** Every name Binance documents for a market's spot streams, with what it asks for. */
const MARKET_NAMES = [
  ...["depth", "depth@100ms", "trade", "aggTrade", "bookTicker", "ticker", "miniTicker", "avgPrice"].map(
    (stream) => [stream, { kind: "plain", stream }] as const,
  ),
  ...Object.keys(KLINE_INTERVALS).map(
    (interval) => [`kline_${interval}`, { kind: "kline", interval }] as const,
  ),
  ...PARTIAL_DEPTH_LEVELS.flatMap((levels) =>
    [`depth${levels}`, `depth${levels}@100ms`].map(
      (stream) => [stream, { kind: "partialDepth", levels }] as const,
    ),
  ),
  ...TICKER_WINDOWS.map((window) => [`ticker_${window}`, { kind: "windowTicker", window }] as const),
];

describe("market stream names", () => {
  it("reads every stream of a market Binance documents, for a known lower-case symbol", () => {
    for (const [stream, asked] of MARKET_NAMES)
      expect(parse(`btcusdt@${stream}`), stream).toEqual({ ...asked, market: btc });
  });

  it("reads the every-market ticker arrays", () => {
    for (const ticker of ["ticker", "miniTicker", "ticker_1h", "ticker_4h", "ticker_1d"])
      expect(parse(`!${ticker}@arr`)).toEqual({ kind: "allMarkets", ticker });
  });

  it("refuses names Binance does not serve or spells otherwise", () => {
    for (const name of [
      "btcusdt",
      "btcusdt@",
      "BTCUSDT@trade",
      "dogeusdt@trade",
      "btcusdt@depth7",
      "btcusdt@depth05",
      "btcusdt@depth5@10ms",
      "btcusdt@depth@1s",
      "btcusdt@kline_2m",
      "btcusdt@ticker_2h",
      "btcusdt@ticker_",
      "btcusdt@avgprice",
      "!bookTicker@arr",
      "!ticker_2h@arr",
      "!ticker",
      "!btcusdt@ticker@arr",
      "btcusdt@trade@arr",
    ])
      expect(parse(name), name).toBeUndefined();
  });

  it("refuses a served name with anything added, or in upper case", () => {
    const served = [...MARKET_NAMES.map(([stream]) => `btcusdt@${stream}`), "!ticker@arr", "!miniTicker@arr"];
    fc.assert(
      fc.property(fc.constantFrom(...served), fc.string({ minLength: 1, maxLength: 4 }), (name, extra) => {
        // Some suffixes make another served name (`depth` + `5`): those are read, as above.
        if (!served.includes(name + extra)) expect(parse(name + extra)).toBeUndefined();
        expect(parse(name.toUpperCase())).toBeUndefined();
      }),
    );
  });
});
