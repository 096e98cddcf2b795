import { describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { UbsCore } from "../../ubscore/src/index.ts";
import { MarketStatistics } from "../src/market-data.ts";
import { TickerStreams } from "../src/ticker-streams.ts";

const HOUR = 3_600_000;
const T = Date.UTC(2026, 11, 4, 10, 0, 0);

/** A core with one trade of 0.01 BTC at 60,000 at T, and the ticker streams over it. */
function setUp(subscribed: string[]) {
  const core = new UbsCore(new ExchangeDefinition(DEMO_EXCHANGE));
  for (const userId of [1, 2]) core.apply({ kind: "createUser", userId });
  core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 10_000_00000000n });
  core.apply({ kind: "credit", userId: 2, asset: "BTC", amount: 1_00000000n });
  const sent: { stream: string; data: Record<string, unknown> }[] = [];
  const streams = new TickerStreams(core, new MarketStatistics((id) => core.candlesOf(id)), {
    // As the hub does: a stream nobody listens to goes nowhere.
    publish: (stream, data) => {
      if (subscribed.includes(stream)) sent.push({ stream, data: data as Record<string, unknown> });
    },
    subscribed: (stream) => subscribed.includes(stream),
  });
  const place = (userId: number, side: Side, clientOrderId: string, priceTicks: number, time: number) =>
    core.apply({
      kind: "place",
      symbol: "BTCUSDT",
      type: OrderType.Limit,
      tif: TimeInForce.GTC,
      side,
      userId,
      clientOrderId,
      priceTicks,
      qtyLots: 1_000,
      quoteUnits: 0n,
      stp: 0,
      time,
    });
  const market = core.exchange.market("BTCUSDT")!;
  place(2, Side.Sell, "s1", 6_000_000, T);
  place(1, Side.Buy, "b1", 6_000_000, T);
  streams.afterTrades(market, T);
  return { core, streams, sent, place, market };
}

describe("TickerStreams", () => {
  it("sends every subscribed ticker after a trade, and on the refresh only what time changed", () => {
    const { streams, sent } = setUp(["btcusdt@ticker", "btcusdt@ticker_1h", "!ticker_1h@arr"]);
    expect(sent.map((m) => m.stream)).toEqual(["btcusdt@ticker", "btcusdt@ticker_1h", "!ticker_1h@arr"]);
    expect(sent[1]!.data).toMatchObject({ e: "1hTicker", n: 1, v: "0.01000000", c: "60000.00000000" });
    // A second later nothing changed: the refresh sends nothing.
    streams.refresh(T + 1_000);
    expect(sent).toHaveLength(3);
    // Past an hour the trade has left the 1h window (not the 24h one): that ticker alone goes out.
    streams.refresh(T + HOUR + 120_000);
    expect(sent.slice(3).map((m) => m.stream)).toEqual(["btcusdt@ticker_1h", "!ticker_1h@arr"]);
    expect(sent[3]!.data).toMatchObject({ e: "1hTicker", n: 0, v: "0.00000000", E: T + HOUR + 120_000 });
    expect(sent[4]!.data).toEqual([sent[3]!.data]);
    streams.refresh(T + HOUR + 121_000);
    expect(sent).toHaveLength(5);
    // And past a day, the 24-hour one drains too.
    streams.refresh(T + 25 * HOUR);
    expect(sent.slice(5).map((m) => m.stream)).toEqual(["btcusdt@ticker"]);
    expect(sent[5]!.data).toMatchObject({ e: "24hrTicker", n: 0, v: "0.00000000" });
  });

  it("sends nothing on a refresh for a change of the book's top alone (it has @bookTicker)", () => {
    const { streams, sent, place } = setUp(["btcusdt@ticker"]);
    place(1, Side.Buy, "b2", 5_900_000, T + 500);
    streams.refresh(T + 1_000);
    expect(sent).toHaveLength(1);
  });

  it("starts a stream subscribed after the last trade from the statistics as they stand", () => {
    const subscribed = ["btcusdt@ticker"];
    const { streams, sent } = setUp(subscribed);
    subscribed.push("btcusdt@miniTicker", "btcusdt@avgPrice");
    streams.refresh(T + 1_000);
    expect(sent).toHaveLength(1);
    // Five minutes on the average price has no trade in its window: it falls back to the last
    // price, which is unchanged, so it is not sent; the 24h statistics have not moved either.
    streams.refresh(T + 6 * 60_000);
    expect(sent).toHaveLength(1);
    streams.refresh(T + 25 * HOUR);
    expect(sent.slice(1).map((m) => m.stream)).toEqual(["btcusdt@miniTicker", "btcusdt@ticker"]);
  });
});
