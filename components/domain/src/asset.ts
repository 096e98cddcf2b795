import { fail } from "./errors.ts";

/** An asset and the number of decimals of its smallest unit (the unit all balances count in). */
export interface Asset {
  /** Small integer id, stable for the life of the exchange; used in binary codecs and ledger ids. */
  readonly id: number;
  readonly symbol: string;
  readonly decimals: number;
}

const SYMBOL = /^[A-Z0-9]{2,12}$/;

export function defineAsset(id: number, symbol: string, decimals: number): Asset {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff)
    fail("INVALID_CONFIG", `asset id must be 1..65535: ${id}`);
  if (!SYMBOL.test(symbol)) fail("INVALID_CONFIG", `asset symbol must match ${SYMBOL}: ${symbol}`);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) {
    fail("INVALID_CONFIG", `asset ${symbol} decimals must be 0..18: ${decimals}`);
  }
  return Object.freeze({ id, symbol, decimals });
}
