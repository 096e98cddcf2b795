import { describe, expect, it } from "vitest";
import { OrderType, SelfTradePrevention, Side, TimeInForce } from "../../matching/src/index.ts";
import { PreventedMatches } from "../src/prevented-matches.ts";
import type { OrderRecord } from "../src/types.ts";

const order = (orderId: number, marketId: number, side: Side): OrderRecord => ({
  orderId,
  userId: 7,
  marketId,
  clientOrderId: `c${orderId}`,
  side,
  type: OrderType.Limit,
  tif: TimeInForce.GTC,
  priceTicks: 100 + orderId,
  origQtyLots: 10,
  quoteOrderUnits: 0n,
  stp: SelfTradePrevention.ExpireMaker,
  time: 1,
  executedLots: 0,
  cumQuote: 0n,
  status: "NEW",
  updateTime: 1,
  reserved: 0n,
  reserveAsset: 1,
  fills: [],
});

describe("PreventedMatches", () => {
  it("numbers per market, keeps each on both orders, and finds it by id while its taker is held", () => {
    const prevented = new PreventedMatches();
    const [taker, maker, other] = [order(2, 1, Side.Buy), order(1, 1, Side.Sell), order(3, 2, Side.Buy)];
    prevented.record(taker, maker, 4, 50);
    prevented.record(other, order(4, 2, Side.Sell), 1, 60);
    prevented.record(taker, maker, 3, 70);
    expect(taker.preventedMatches!.map((p) => p.preventedMatchId)).toEqual([1, 2]);
    expect(maker.preventedMatches).toEqual(taker.preventedMatches);
    expect(taker.preventedMatches![0]).toEqual({
      preventedMatchId: 1,
      takerOrderId: 2,
      makerOrderId: 1,
      stp: SelfTradePrevention.ExpireMaker,
      priceTicks: 101,
      makerPreventedLots: 4,
      time: 50,
    });
    expect([prevented.takerOf(1, 2), prevented.takerOf(2, 1), prevented.takerOf(2, 2)]).toEqual([
      2,
      3,
      undefined,
    ]);
    prevented.forgotten(maker); // as maker only: still findable
    expect(prevented.takerOf(1, 1)).toBe(2);
    prevented.forgotten(taker);
    expect(prevented.takerOf(1, 1)).toBeUndefined();
    // Restored: ids go on from where they were; a held order's preventions are findable again.
    const restored = new PreventedMatches();
    restored.restoreLastIds(JSON.parse(JSON.stringify(prevented.lastIdsByMarket())));
    restored.held(taker);
    expect(restored.takerOf(1, 2)).toBe(2);
    restored.record(taker, maker, 1, 80);
    expect(taker.preventedMatches!.at(-1)!.preventedMatchId).toBe(3);
  });
});
