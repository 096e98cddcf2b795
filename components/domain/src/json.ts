/**
 * JSON that keeps bigints exact: a bigint is written as {"$n":"<decimal>"} and read back as a
 * bigint. Used by journals and snapshots whose records hold money.
 */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? { $n: v.toString() } : v));
}

export function parseExact<T>(json: string): T {
  return JSON.parse(json, (_, v) =>
    v !== null && typeof v === "object" && typeof v.$n === "string" && Object.keys(v).length === 1
      ? BigInt(v.$n)
      : v,
  ) as T;
}
