import { describe, expect, it } from "vitest";
import { ccxtBinance, ccxtProBinance } from "../api/client.ts";
import { type ClientsExchange, onEachLayout } from "./exchange.ts";

/**
 * ccxt.pro's Binance class with its default options, its WebSocket URLs moved to Bourse: the
 * public watchers (each subscribes with SUBSCRIBE on /ws/<n>), fed by trades made through ccxt;
 * the private watchers (userDataStream.subscribe.signature on the WebSocket API) and trading
 * over the WebSocket API (order.place, order.status, order.cancel, account.status). In the
 * multi-process layout the streams are watched through the other gateway than the orders come
 * in by, and the two traders go through different gateways.
 */
onEachLayout("ccxt.pro", (layout) => {
  describe("ccxt.pro (WebSocket), default options", () => publicWatchers(layout));

  describe("ccxt.pro (WebSocket API), default options", () => {
    // ccxt signs with Ed25519 when its secret is a PEM private key.
    it.each(["HMAC", "ED25519"] as const)(
      "trades over the WebSocket API, watches balance, orders and trades, every unit accounted for (%s keys)",
      async (keyType) => {
        const exchange = layout();
        const before = await exchange.totals();
        const seller = await ccxtProBinance(
          await exchange.fundedUser({ ETH: "1" }, keyType),
          exchange.tradingUrl,
        );
        const buyer = await ccxtProBinance(
          await exchange.fundedUser({ USDT: "10000" }, keyType),
          exchange.otherUrl,
        );
        try {
          await seller.loadMarkets();
          await buyer.loadMarkets();
          // Each watcher subscribes first (the same subscription for all three); their first updates
          // come from the orders below.
          const balance = seller.watchBalance();
          const orders = seller.watchOrders("ETH/USDT");
          const myTrades = seller.watchMyTrades("ETH/USDT");
          await new Promise((r) => setTimeout(r, 500));

          const resting = await seller.createOrderWs("ETH/USDT", "limit", "sell", 0.5, 3000);
          expect([resting.status, resting.price, resting.amount]).toEqual(["open", 3000, 0.5]);
          expect((await orders).map((o) => [o.id, o.status])).toEqual([[resting.id, "open"]]);
          expect((await balance).ETH).toMatchObject({ free: 0.5, used: 0.5 });

          const taken = await buyer.createOrderWs("ETH/USDT", "market", "buy", 0.2);
          expect([taken.status, taken.filled]).toEqual(["closed", 0.2]);
          const [trade] = await myTrades;
          expect([trade!.order, trade!.price, trade!.amount, trade!.side]).toEqual([
            resting.id,
            3000,
            0.2,
            "sell",
          ]);

          const fetched = await seller.fetchOrderWs(resting.id!, "ETH/USDT");
          expect([fetched.status, fetched.filled, fetched.remaining]).toEqual(["open", 0.2, 0.3]);
          const canceled = await seller.cancelOrderWs(resting.id!, "ETH/USDT");
          expect(canceled.status).toBe("canceled");

          // Seller: 0.2 ETH sold at 3000, the 0.1% maker fee in the USDT received; buyer: the 0.1%
          // taker fee in the ETH received, as on Binance. (ccxt 4.5 parses account.status only for
          // futures: the spot balances are read from the answer it hands back as `info`.)
          const balances = async (client: typeof seller) => {
            const { info } = (await client.fetchBalanceWs()) as unknown as {
              info: { balances: { asset: string; free: string; locked: string }[] };
            };
            return Object.fromEntries(info.balances.map((b) => [b.asset, [b.free, b.locked]]));
          };
          expect(await balances(seller)).toMatchObject({
            ETH: ["0.80000000", "0.00000000"],
            USDT: ["599.40000000", "0.00000000"],
          });
          expect(await balances(buyer)).toMatchObject({
            ETH: ["0.19980000", "0.00000000"],
            USDT: ["9400.00000000", "0.00000000"],
          });
          await exchange.expectConserved(before, { ETH: 10n ** 8n, USDT: 10_000n * 10n ** 8n });
        } finally {
          await seller.close();
          await buyer.close();
        }
      },
    );
  });
});

/** The public watchers, fed by trades made through ccxt's REST client. */
function publicWatchers(layout: () => ClientsExchange): void {
  it("watches trades, aggregate trades, the order book, tickers and candles as trading happens", async () => {
    const exchange = layout();
    const seller = ccxtBinance(await exchange.fundedUser({ BTC: "1" }), exchange.tradingUrl);
    const buyer = ccxtBinance(await exchange.fundedUser({ USDT: "10000" }), exchange.tradingUrl);
    const watcher = await ccxtProBinance(await exchange.fundedUser({}), exchange.otherUrl);
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

  it("watches every market's tickers and a rolling window ticker (!miniTicker@arr, !ticker@arr, @ticker_1h)", async () => {
    const exchange = layout();
    const seller = ccxtBinance(await exchange.fundedUser({ ETH: "1" }), exchange.tradingUrl);
    const buyer = ccxtBinance(await exchange.fundedUser({ USDT: "10000" }), exchange.tradingUrl);
    const watcher = await ccxtProBinance(await exchange.fundedUser({}), exchange.otherUrl);
    try {
      await seller.loadMarkets();
      await buyer.loadMarkets();
      // Without symbols, watchTickers subscribes to every market's array: mini tickers by default.
      const minis = watcher.watchTickers();
      const fulls = watcher.watchTickers(undefined, { name: "ticker" });
      const hourly = watcher.watchTicker("ETH/USDT", { name: "ticker_1h" });
      await new Promise((r) => setTimeout(r, 500));
      await seller.createLimitSellOrder("ETH/USDT", 0.1, 3100);
      await buyer.createMarketBuyOrder("ETH/USDT", 0.1);

      // The arrays carry the markets whose tickers changed: ETH/USDT's, after its trade.
      for (const tickers of [await minis, await fulls]) {
        expect(Object.keys(tickers)).toEqual(["ETH/USDT"]);
        expect(tickers["ETH/USDT"]!.last).toBe(3100);
      }
      expect((await fulls)["ETH/USDT"]!.info.e).toBe("24hrTicker");
      const window = await hourly;
      expect([window.symbol, window.last, window.info.e]).toEqual(["ETH/USDT", 3100, "1hTicker"]);
    } finally {
      await watcher.close();
    }
  });
}
