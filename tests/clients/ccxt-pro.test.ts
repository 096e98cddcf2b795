import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ccxtBinance, ccxtProBinance } from "../api/client.ts";
import { ClientsExchange } from "./exchange.ts";

/**
 * ccxt.pro's Binance class with its default options, its WebSocket URLs moved to Bourse: the
 * public watchers (each subscribes with SUBSCRIBE on /ws/<n>), fed by trades made through ccxt.
 */
let exchange: ClientsExchange;

beforeAll(async () => {
  exchange = await ClientsExchange.start();
});

afterAll(async () => {
  await exchange?.close();
});

describe("ccxt.pro (WebSocket), default options", () => {
  it("watches trades, aggregate trades, the order book, tickers and candles as trading happens", async () => {
    const seller = ccxtBinance(await exchange.fundedUser({ BTC: "1" }), exchange.tradingUrl);
    const buyer = ccxtBinance(await exchange.fundedUser({ USDT: "10000" }), exchange.tradingUrl);
    const watcher = await ccxtProBinance(await exchange.fundedUser({}), exchange.tradingUrl);
    try {
      await seller.loadMarkets();
      await buyer.loadMarkets();
      await seller.createLimitSellOrder("BTC/USDT", 0.05, 61000);
      // The first watch of each kind subscribes; the book syncs its REST snapshot to the diffs.
      const book = watcher.watchOrderBook("BTC/USDT");
      const trades = watcher.watchTrades("BTC/USDT");
      const aggs = watcher.watchTrades("BTC/USDT", undefined, undefined, { name: "aggTrade" });
      const ticker = watcher.watchTicker("BTC/USDT");
      const candles = watcher.watchOHLCV("BTC/USDT", "1m");
      await new Promise((r) => setTimeout(r, 500));
      await seller.createLimitSellOrder("BTC/USDT", 0.02, 60000);
      await buyer.createMarketBuyOrder("BTC/USDT", 0.01);

      expect((await trades).map((t) => [t.price, t.amount, t.side])).toEqual([[60000, 0.01, "buy"]]);
      expect((await aggs).map((t) => [t.price, t.amount])).toEqual([[60000, 0.01]]);
      expect((await ticker).last).toBe(60000);
      expect((await candles).at(-1)?.[4]).toBe(60000);
      let ob = await book;
      for (let i = 0; i < 20 && ob.asks[0]?.[1] !== 0.01; i++) ob = await watcher.watchOrderBook("BTC/USDT");
      expect(ob.asks.slice(0, 2)).toEqual([
        [60000, 0.01],
        [61000, 0.05],
      ]);
    } finally {
      await watcher.close();
    }
  });
});
