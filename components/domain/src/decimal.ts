import { fail } from "./errors.ts";

/**
 * Exact conversion between decimal strings and integer units. Money never passes through a float:
 * "0.1" with 8 decimals is 10_000_000n. Excess precision is an error, never rounded away.
 */
const DECIMAL = /^(\d{1,30})(?:\.(\d{1,30}))?$/;

const POW10: bigint[] = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));

export function pow10(n: number): bigint {
  return POW10[n] ?? 10n ** BigInt(n);
}

/** Parses a non-negative decimal string into units of 10^-decimals. */
export function parseUnits(text: string, decimals: number, field = "value"): bigint {
  const m = DECIMAL.exec(text);
  if (!m) fail("MALFORMED_DECIMAL", `${field} is not a plain non-negative decimal: ${JSON.stringify(text)}`);
  const whole = m[1]!;
  const frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > decimals) {
    fail("EXCESS_PRECISION", `${field} has more than ${decimals} decimal places: ${text}`);
  }
  return BigInt(whole) * pow10(decimals) + (frac ? BigInt(frac.padEnd(decimals, "0")) : 0n);
}

/** Formats integer units as a fixed decimal string with exactly `decimals` places (Binance style). */
export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const digits = abs.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return `${negative ? "-" : ""}${whole}${decimals > 0 ? `.${frac}` : ""}`;
}

/** Formats without trailing zeros: for config files and logs meant for people. */
export function formatUnitsShort(units: bigint, decimals: number): string {
  const s = formatUnits(units, decimals);
  return decimals > 0 ? s.replace(/\.?0+$/, "") : s;
}
