import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { symbol, symbols } from "../src/common-params.ts";
import { readArgs } from "../src/endpoint.ts";
import { formPairs, Params, selectMarkets } from "../src/params.ts";

describe("form parameters", () => {
  it("reads every string as URLSearchParams does (property)", () => {
    const form = fc.string({
      unit: fc.constantFrom("a", "b", "Z", "0", ".", "-", "_", "=", "&", "%", "2", "B", "+", "?", " ", "é"),
      maxLength: 40,
      size: "max",
    });
    fc.assert(
      fc.property(form, (s) => {
        expect([...formPairs(s)]).toEqual([...new URLSearchParams(s)]);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a parameter sent twice, and parameters nobody read", () => {
    expect(() => new Params("a=1&a=2")).toThrow(expect.objectContaining({ code: -1101 }));
    expect(() => new Params("a=1", "a=2")).toThrow(expect.objectContaining({ code: -1101 }));
    const p = new Params("symbol=BTCUSDT&extra=1");
    expect(p.optional("symbol")).toBe("BTCUSDT");
    expect(() => p.done()).toThrow(expect.objectContaining({ code: -1104 }));
  });
});

describe("symbol and symbols", () => {
  const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
  const select = (query: string) => {
    const { markets, single } = selectMarkets(
      readArgs({ params: { symbol, symbols } }, new Params(query)),
      exchange,
    );
    return { symbols: markets.map((m) => m.symbol), single };
  };
  const code = (query: string) => {
    try {
      select(query);
      return 0;
    } catch (e) {
      return (e as { code: number }).code;
    }
  };

  it("selects one market, a JSON list of them, or all", () => {
    expect(select("symbol=ETHUSDT")).toEqual({ symbols: ["ETHUSDT"], single: true });
    expect(select(`symbols=${encodeURIComponent('["ETHUSDT","BTCUSDT"]')}`)).toEqual({
      symbols: ["ETHUSDT", "BTCUSDT"],
      single: false,
    });
    expect(select("")).toEqual({ symbols: ["BTCUSDT", "ETHUSDT"], single: false });
  });

  it("refuses both at once, a malformed or empty list, an unknown or repeated symbol", () => {
    expect(code('symbol=BTCUSDT&symbols=["ETHUSDT"]')).toBe(-1128);
    expect(code("symbols=BTCUSDT")).toBe(-1100);
    expect(code("symbols=[]")).toBe(-1100);
    expect(code(`symbols=${encodeURIComponent('["BTCUSDT", "ETHUSDT"]')}`)).toBe(-1100);
    expect(code('symbols=["NOPEUSDT"]')).toBe(-1121);
    expect(code('symbols=["BTCUSDT","BTCUSDT"]')).toBe(-1101);
    expect(code("symbol=NOPE")).toBe(-1121);
  });
});
