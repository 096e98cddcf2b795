import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addU128Slots,
  compareU128Slots,
  copyU128Slots,
  readU128Slots,
  subtractU128Slots,
  writeU128Slots,
} from "../src/u128-slots.ts";

const U128_LIMIT = 1n << 128n;
const U64_MAX = (1n << 64n) - 1n;
// Limb edges (0, 2^64 - 1, 2^64, 2^128 - 1) are where carries and borrows happen.
const u128 = fc.oneof(
  fc.constantFrom(0n, 1n, U64_MAX, U64_MAX + 1n, U128_LIMIT - 1n, U128_LIMIT - U64_MAX),
  fc.bigInt({ min: 0n, max: U64_MAX }),
  fc.bigInt({ min: 0n, max: U128_LIMIT - 1n }),
);

/** Two u128 values in limbs, a at index 0 and b at index 2. */
function limbs(a: bigint, b: bigint): BigUint64Array {
  const l = new BigUint64Array(4);
  writeU128Slots(l, 0, a);
  writeU128Slots(l, 2, b);
  return l;
}

describe("u128 limbs", () => {
  it("write, read and copy round-trip", () => {
    fc.assert(
      fc.property(u128, u128, (a, b) => {
        const l = limbs(a, b);
        expect([readU128Slots(l, 0), readU128Slots(l, 2)]).toEqual([a, b]);
        copyU128Slots(l, 2, l, 0);
        expect(readU128Slots(l, 2)).toBe(a);
      }),
    );
  });

  it("add agrees with bigint addition modulo 2^128 and reports overflow exactly", () => {
    fc.assert(
      fc.property(u128, u128, (a, b) => {
        const l = limbs(a, b);
        const overflowed = addU128Slots(l, 0, l, 2);
        expect(readU128Slots(l, 0)).toBe((a + b) % U128_LIMIT);
        expect(overflowed).toBe(a + b >= U128_LIMIT);
      }),
      { numRuns: 500 },
    );
  });

  it("adds a value to itself", () => {
    fc.assert(
      fc.property(u128, (a) => {
        const l = limbs(a, 0n);
        expect(addU128Slots(l, 0, l, 0)).toBe(2n * a >= U128_LIMIT);
        expect(readU128Slots(l, 0)).toBe((2n * a) % U128_LIMIT);
      }),
    );
  });

  it("subtract agrees with bigint subtraction when nothing is borrowed past the top", () => {
    fc.assert(
      fc.property(u128, u128, (x, y) => {
        const [a, b] = x >= y ? [x, y] : [y, x];
        const l = limbs(a, b);
        subtractU128Slots(l, 0, l, 2);
        expect(readU128Slots(l, 0)).toBe(a - b);
      }),
      { numRuns: 500 },
    );
  });

  it("compare orders like bigints", () => {
    fc.assert(
      fc.property(u128, u128, (a, b) => {
        expect(Math.sign(compareU128Slots(limbs(a, b), 0, limbs(a, b), 2))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: 500 },
    );
  });
});
