import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formPairs, Params } from "../src/params.ts";

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
    expect(p.required("symbol")).toBe("BTCUSDT");
    expect(() => p.done()).toThrow(expect.objectContaining({ code: -1104 }));
  });
});
