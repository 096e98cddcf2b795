import { describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../src/exchange.ts";
import { feeOf, notional, priceToTicks, quantityToLots, ticksToPrice } from "../src/market.ts";

const ex = new ExchangeDefinition(DEMO_EXCHANGE);
const btc = ex.market("BTCUSDT")!;

describe("markets", () => {
  it("converts prices and quantities to ticks and lots exactly", () => {
    expect(priceToTicks(btc, "65000.01")).toBe(6_500_001);
    expect(quantityToLots(btc, "0.12345")).toBe(12_345);
    expect(ticksToPrice(btc, 6_500_001)).toBe("65000.01000000");
    // 65000.01 USDT x 0.12345 BTC = 8024.2512345 USDT, exact in 8-decimal units
    expect(notional(btc, 6_500_001, 12_345)).toBe(802_425_123_450n);
  });

  it("rejects off-tick, off-step, out-of-range and over-precise inputs with their codes", () => {
    expect(() => priceToTicks(btc, "65000.015")).toThrow(expect.objectContaining({ code: "BAD_TICK" }));
    expect(() => quantityToLots(btc, "0.000015")).toThrow(expect.objectContaining({ code: "BAD_LOT" }));
    expect(() => priceToTicks(btc, "2000000")).toThrow(expect.objectContaining({ code: "OUT_OF_RANGE" }));
    expect(() => quantityToLots(btc, "0.000000001")).toThrow(
      expect.objectContaining({ code: "EXCESS_PRECISION" }),
    );
  });

  it("rejects invalid market definitions", () => {
    const bad = { ...DEMO_EXCHANGE, markets: [{ ...DEMO_EXCHANGE.markets[0]!, tickSize: "0.00000001" }] };
    expect(() => new ExchangeDefinition(bad)).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }));
    const dup = { ...DEMO_EXCHANGE, markets: [DEMO_EXCHANGE.markets[0]!, DEMO_EXCHANGE.markets[0]!] };
    expect(() => new ExchangeDefinition(dup)).toThrow(/duplicate market/);
  });

  it("rounds fees down to the unit, so fees of parts never exceed the fee of the whole", () => {
    expect(feeOf(1_000_000n, 1000n)).toBe(1000n);
    expect(feeOf(1_999n, 1000n)).toBe(1n);
    expect(feeOf(0n, 1000n)).toBe(0n);
    const parts = [1_999n, 2_500n, 999n];
    const sum = parts.reduce((a, b) => a + b, 0n);
    expect(parts.reduce((a, p) => a + feeOf(p, 1000n), 0n)).toBeLessThanOrEqual(feeOf(sum, 1000n));
  });
});
