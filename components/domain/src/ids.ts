import { fail } from "./errors.ts";

/**
 * Identifiers. Users, assets, markets and orders are positive safe integers so they fit binary
 * codecs and typed arrays; client order ids follow Binance's pattern.
 */
export type UserId = number;
export type OrderId = number;
export type AssetId = number;
export type MarketId = number;

const CLIENT_ORDER_ID = /^[a-zA-Z0-9\-_.]{1,36}$/;

export function checkClientOrderId(id: string): string {
  if (!CLIENT_ORDER_ID.test(id)) fail("INVALID_ARGUMENT", `client order id must match ${CLIENT_ORDER_ID}`);
  return id;
}

export function checkPositiveSafeInt(n: unknown, field: string): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    fail("INVALID_ARGUMENT", `${field} must be a positive integer`);
  }
  return n;
}
