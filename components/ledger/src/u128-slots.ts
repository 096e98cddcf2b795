/**
 * Unsigned 128-bit integers held as two u64 limbs, low then high, at an index of a BigUint64Array.
 * The ledger keeps its balances this way: `a + b` on bigints allocates a new bigint for every sum,
 * while V8's optimizing compiler turns the `BigInt.asUintN(64, …)` arithmetic below into machine
 * instructions on the limbs, so updating and checking a balance allocates nothing.
 */
const U64_LIMIT = 1n << 64n;
const U64_MAX = U64_LIMIT - 1n;

export function writeU128Slots(limbs: BigUint64Array, i: number, value: bigint): void {
  if (value < U64_LIMIT) {
    limbs[i] = value;
    limbs[i + 1] = 0n;
  } else {
    limbs[i] = BigInt.asUintN(64, value);
    limbs[i + 1] = value >> 64n;
  }
}

export function readU128Slots(limbs: BigUint64Array, i: number): bigint {
  const high = limbs[i + 1]!;
  return high === 0n ? limbs[i]! : limbs[i]! | (high << 64n);
}

export function copyU128Slots(to: BigUint64Array, t: number, from: BigUint64Array, f: number): void {
  to[t] = from[f]!;
  to[t + 1] = from[f + 1]!;
}

/** `to[t] += from[f]` modulo 2^128; true if the exact sum reached 2^128 (overflowed). */
export function addU128Slots(to: BigUint64Array, t: number, from: BigUint64Array, f: number): boolean {
  const low = to[t]!;
  const high = to[t + 1]!;
  const addLow = from[f]!;
  const addHigh = from[f + 1]!;
  const sumLow = BigInt.asUintN(64, low + addLow);
  const carry = sumLow < low ? 1n : 0n;
  // addHigh + carry wraps to 0 only when it is exactly 2^64.
  const carriedHigh = BigInt.asUintN(64, addHigh + carry);
  const sumHigh = BigInt.asUintN(64, high + carriedHigh);
  to[t] = sumLow;
  to[t + 1] = sumHigh;
  return sumHigh < high || (carry === 1n && addHigh === U64_MAX);
}

/** `to[t] -= from[f]`; the caller knows `to[t] >= from[f]` (a release of what was reserved). */
export function subtractU128Slots(to: BigUint64Array, t: number, from: BigUint64Array, f: number): void {
  const low = to[t]!;
  const subLow = from[f]!;
  const borrow = low < subLow ? 1n : 0n;
  to[t] = BigInt.asUintN(64, low - subLow);
  to[t + 1] = BigInt.asUintN(64, to[t + 1]! - from[f + 1]! - borrow);
}

/** Negative, zero or positive as `a[i]` is below, equal to or above `b[j]`. */
export function compareU128Slots(a: BigUint64Array, i: number, b: BigUint64Array, j: number): number {
  const highA = a[i + 1]!;
  const highB = b[j + 1]!;
  if (highA !== highB) return highA < highB ? -1 : 1;
  const lowA = a[i]!;
  const lowB = b[j]!;
  return lowA === lowB ? 0 : lowA < lowB ? -1 : 1;
}
