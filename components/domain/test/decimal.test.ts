import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatUnits, parseUnits } from "../src/decimal.ts";
import { isBourseError } from "../src/errors.ts";

describe("decimal <-> integer units", () => {
  it("parses exactly", () => {
    expect(parseUnits("0.1", 8)).toBe(10_000_000n);
    expect(parseUnits("12", 2)).toBe(1200n);
    expect(parseUnits("1.50000000000", 2)).toBe(150n);
    expect(parseUnits("0", 0)).toBe(0n);
  });

  it("rejects excess precision instead of rounding", () => {
    expect(() => parseUnits("0.001", 2)).toThrowError(/more than 2 decimal places/);
    try {
      parseUnits("1.123456789", 8);
    } catch (e) {
      expect(isBourseError(e, "EXCESS_PRECISION")).toBe(true);
    }
  });

  it.each(["", "-1", "1e3", ".5", "5.", "0x10", " 1", "1,5", "NaN", "Infinity", "1.2.3"])(
    "rejects malformed %j",
    (text) => {
      expect(() => parseUnits(text, 8)).toThrow(expect.objectContaining({ code: "MALFORMED_DECIMAL" }));
    },
  );

  it("formats with fixed places", () => {
    expect(formatUnits(10_000_000n, 8)).toBe("0.10000000");
    expect(formatUnits(5n, 0)).toBe("5");
    expect(formatUnits(-150n, 2)).toBe("-1.50");
  });

  it("takes up to 30 whole digits and refuses more", () => {
    expect(parseUnits("9".repeat(30), 0)).toBe(10n ** 30n - 1n);
    expect(() => parseUnits(`1${"0".repeat(30)}`, 0)).toThrow(/not a plain non-negative decimal/);
  });

  it("round-trips every integer at every scale", () => {
    fc.assert(
      fc.property(
        // Up to the parser's 30 whole digits (10^30 at scale 0 has 31, and is refused).
        fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }),
        fc.integer({ min: 0, max: 18 }),
        (units, decimals) => {
          expect(parseUnits(formatUnits(units, decimals), decimals)).toBe(units);
        },
      ),
    );
  });
});
