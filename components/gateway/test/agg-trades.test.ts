import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Side } from "../../matching/src/index.ts";
import type { TradeRecord } from "../../ubscore/src/index.ts";
import { aggregateTrades, selectAggTrades } from "../src/agg-trades.ts";

/** Trades as matching makes them: each taker order's fills are consecutive, at one or more prices. */
const trades = fc
  .array(
    fc.record({
      takerSide: fc.constantFrom(Side.Buy, Side.Sell),
      fills: fc.array(
        fc.record({ priceTicks: fc.integer({ min: 1, max: 3 }), qtyLots: fc.integer({ min: 1, max: 9 }) }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    }),
    { maxLength: 20 },
  )
  .map((orders) => {
    const out: TradeRecord[] = [];
    orders.forEach((o, order) => {
      for (const f of o.fills) {
        const id = out.length + 1;
        out.push({
          tradeId: id,
          marketId: 1,
          priceTicks: f.priceTicks,
          qtyLots: f.qtyLots,
          quoteUnits: BigInt(f.priceTicks * f.qtyLots),
          time: 1_000 + order,
          buyerOrderId: o.takerSide === Side.Buy ? 1_000 + order : 1 + id,
          sellerOrderId: o.takerSide === Side.Sell ? 1_000 + order : 1 + id,
          buyerUserId: 1,
          sellerUserId: 2,
          takerSide: o.takerSide,
          buyerFee: 0n,
          sellerFee: 0n,
        });
      }
    });
    return out;
  });

describe("aggregate trades", () => {
  it("partition the trades: every trade in exactly one aggregate of one taker order and one price", () => {
    fc.assert(
      fc.property(trades, (all) => {
        const aggs = aggregateTrades(all);
        expect(aggs.reduce((s, a) => s + a.qtyLots, 0)).toBe(all.reduce((s, t) => s + t.qtyLots, 0));
        let next = 1;
        for (const a of aggs) {
          expect(a.firstTradeId).toBe(next);
          expect(a.id).toBe(a.firstTradeId);
          const members = all.slice(a.firstTradeId - 1, a.lastTradeId);
          expect(new Set(members.map((t) => t.priceTicks)).size).toBe(1);
          expect(new Set(members.map((t) => `${t.takerSide}:${t.time}`)).size).toBe(1);
          next = a.lastTradeId + 1;
        }
        expect(next).toBe(all.length + 1);
        // Maximal: two neighbours never share both the taker order and the price.
        for (let i = 1; i < aggs.length; i++) {
          const [a, b] = [aggs[i - 1]!, aggs[i]!];
          expect(a.priceTicks === b.priceTicks && a.time === b.time).toBe(false);
        }
      }),
    );
  });

  it("selects from an id, within a time range, or the most recent, at most `limit`", () => {
    fc.assert(
      fc.property(
        trades,
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        (all, limit, fromId) => {
          const aggs = aggregateTrades(all);
          expect(selectAggTrades(aggs, { limit })).toEqual(aggs.slice(-limit));
          const from = selectAggTrades(aggs, { fromId, limit });
          expect(from).toEqual(aggs.filter((a) => a.id >= fromId).slice(0, limit));
          const window = selectAggTrades(aggs, { startTime: 1_002, endTime: 1_004, limit });
          for (const a of window) expect(a.time >= 1_002 && a.time <= 1_004).toBe(true);
        },
      ),
    );
  });
});
