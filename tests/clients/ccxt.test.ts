import { expect, it } from "vitest";
import { ccxtBinance } from "../api/client.ts";
import { onEachLayout } from "./exchange.ts";

/**
 * ccxt's Binance class with its default options (only the URLs moved to Bourse, and the
 * wallet-wide currency and margin look-ups switched off), over every spot call it offers that
 * Bourse serves, then the money checked to the unit. In the multi-process layout the seller goes
 * through one gateway and the buyer through the other.
 */
onEachLayout("ccxt (REST), default options", (layout) => {
  it("reads the market, trades, fees and status, and trades with every unit accounted for", async () => {
    const exchange = layout();
    const before = await exchange.totals();
    const seller = ccxtBinance(await exchange.fundedUser({ BTC: "1" }), exchange.tradingUrl);
    const buyer = ccxtBinance(await exchange.fundedUser({ USDT: "10000" }), exchange.otherUrl);

    expect(Object.keys(await seller.loadMarkets())).toEqual(expect.arrayContaining(["BTC/USDT", "ETH/USDT"]));
    expect(await seller.fetchTime()).toBeGreaterThan(0);
    expect((await seller.fetchStatus()).status).toBe("ok");
    const fee = await seller.fetchTradingFee("BTC/USDT");
    expect([fee.maker, fee.taker]).toEqual([0.001, 0.001]);
    expect(Object.keys(await seller.fetchTradingFees())).toEqual(
      expect.arrayContaining(["BTC/USDT", "ETH/USDT"]),
    );

    const resting = await seller.createLimitSellOrder("BTC/USDT", 0.02, 60000);
    expect(resting.status).toBe("open");
    expect((await seller.fetchOrderBook("BTC/USDT")).asks[0]).toEqual([60000, 0.02]);
    const taken = await buyer.createMarketBuyOrder("BTC/USDT", 0.01);
    expect([taken.status, taken.filled]).toEqual(["closed", 0.01]);

    // fetchTrades reads aggregate trades by default; several symbols go as a JSON list.
    const trades = await buyer.fetchTrades("BTC/USDT");
    expect(trades.map((t) => [t.price, t.amount, t.side])).toEqual([[60000, 0.01, "buy"]]);
    const tickers = await buyer.fetchTickers(["BTC/USDT", "ETH/USDT"]);
    expect(Object.keys(tickers).sort()).toEqual(["BTC/USDT", "ETH/USDT"]);
    expect(tickers["BTC/USDT"]!.last).toBe(60000);
    expect(Object.keys(await buyer.fetchBidsAsks(["BTC/USDT", "ETH/USDT"])).sort()).toEqual([
      "BTC/USDT",
      "ETH/USDT",
    ]);
    expect((await buyer.fetchLastPrices(["BTC/USDT"]))["BTC/USDT"]!.price).toBe(60000);
    expect((await buyer.fetchOHLCV("BTC/USDT", "1m")).at(-1)?.[4]).toBe(60000);

    expect((await buyer.fetchMyTrades("BTC/USDT")).map((t) => t.amount)).toEqual([0.01]);
    // editOrder is a cancel-replace: the old order canceled, a new one resting in its place.
    const moved = await seller.editOrder(resting.id!, "BTC/USDT", "limit", "sell", 0.01, 61500);
    expect([moved.price, moved.amount, moved.status]).toEqual([61500, 0.01, "open"]);
    expect((await seller.fetchOrder(resting.id!, "BTC/USDT")).status).toBe("canceled");
    expect(await seller.fetchOpenOrders("BTC/USDT")).toHaveLength(1);
    await seller.cancelAllOrders("BTC/USDT");
    expect(await seller.fetchOpenOrders("BTC/USDT")).toHaveLength(0);
    expect((await seller.fetchOrders("BTC/USDT")).map((o) => [o.status, o.filled])).toEqual([
      ["canceled", 0.01],
      ["canceled", 0],
    ]);
    expect((await buyer.fetchClosedOrders("BTC/USDT")).map((o) => [o.status, o.filled])).toEqual([
      ["closed", 0.01],
    ]);
    const free = async (client: typeof seller) =>
      (await client.fetchBalance()).free as unknown as Record<string, number>;
    expect((await free(seller)).BTC).toBe(0.99);
    // The buyer's 0.1% fee comes out of the BTC it received, as on Binance.
    expect((await free(buyer)).BTC).toBe(0.00999);

    await exchange.expectConserved(before, { BTC: 10n ** 8n, USDT: 10_000n * 10n ** 8n });
  });
});

onEachLayout("ccxt (REST): triggered orders", (layout) => {
  it("places stop-loss and take-profit orders with stopLossPrice / takeProfitPrice, which go off as Binance's", async () => {
    const exchange = layout();
    const before = await exchange.totals();
    const seller = ccxtBinance(await exchange.fundedUser({ BTC: "1" }), exchange.tradingUrl);
    const buyer = ccxtBinance(await exchange.fundedUser({ USDT: "10000" }), exchange.otherUrl);
    const tradeAt = async (price: number) => {
      await seller.createLimitSellOrder("BTC/USDT", 0.01, price);
      await buyer.createLimitBuyOrder("BTC/USDT", 0.01, price);
    };
    await tradeAt(50000);

    const stop = await seller.createOrder("BTC/USDT", "limit", "sell", 0.01, 48000, { stopLossPrice: 49000 });
    expect(stop.status).toBe("open");
    const listed = await seller.fetchOrder(stop.id!, "BTC/USDT");
    expect([listed.info.type, listed.triggerPrice, listed.price]).toEqual(["STOP_LOSS_LIMIT", 49000, 48000]);
    await expect(
      seller.createOrder("BTC/USDT", "market", "sell", 0.01, undefined, { takeProfitPrice: 45000 }),
    ).rejects.toThrow("Order would trigger immediately.");
    const waiting = await seller.createOrder("BTC/USDT", "market", "sell", 0.01, undefined, {
      takeProfitPrice: 70000,
    });
    await seller.cancelOrder(waiting.id!, "BTC/USDT");
    expect((await seller.fetchOrder(waiting.id!, "BTC/USDT")).status).toBe("canceled");

    await buyer.createLimitBuyOrder("BTC/USDT", 0.01, 48000); // the bid the stop sells into
    await tradeAt(49000);
    const fired = await seller.fetchOrder(stop.id!, "BTC/USDT");
    expect([fired.status, fired.filled, fired.average]).toEqual(["closed", 0.01, 48000]);
    await exchange.expectConserved(before, { BTC: 10n ** 8n, USDT: 10_000n * 10n ** 8n });
  });
});
