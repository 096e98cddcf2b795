import type { ExchangeDefinition, Market } from "../../domain/src/index.ts";
import { ApiError, errors } from "./errors.ts";

/**
 * Request parameters the Binance way: from the query string and/or a form-encoded body, all
 * strings. Each endpoint declares what it reads (endpoint.ts); anything else sent is an error
 * (-1104), so a typo never silently changes the meaning of an order.
 */
export class Params {
  private readonly values = new Map<string, string>();
  private readonly read = new Set<string>();

  constructor(...sources: (string | Iterable<[string, string]>)[]) {
    for (const source of sources) {
      if (!source) continue;
      for (const [key, value] of typeof source === "string" ? formPairs(source) : source) {
        if (this.values.has(key)) throw errors.duplicateParam(key);
        this.values.set(key, value);
      }
    }
  }

  optional(name: string): string | undefined {
    this.read.add(name);
    const v = this.values.get(name);
    return v === undefined || v === "" ? undefined : v;
  }

  optionalInt(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,16}$/.test(v)) throw errors.illegalChars(name);
    const n = Number(v);
    if (n < min || n > max) throw errors.invalidValue(name);
    return n;
  }

  requiredInt(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return this.optionalInt(name, min, max) ?? throwError(errors.mandatory(name));
  }

  /** Call once a handler has read what it needs: rejects parameters nobody asked for. */
  done(): void {
    let unread = 0;
    for (const k of this.values.keys()) if (!this.read.has(k)) unread++;
    if (unread > 0) throw errors.notAllRead(this.values.size - unread, this.values.size);
  }
}

/**
 * The markets a market-data request names, the Binance way: `symbol` (one, answered as an object),
 * `symbols` (a list, answered as a list), or neither (every market, as a list, unless
 * `required`); not both.
 */
export function selectMarkets(
  named: { readonly symbol?: string; readonly symbols?: readonly string[] },
  exchange: ExchangeDefinition,
  required = false,
): { readonly markets: readonly Market[]; readonly single: boolean } {
  const { symbol, symbols } = named;
  const market = (s: string) => exchange.market(s) ?? throwError(new ApiError(400, -1121, "Invalid symbol."));
  if (symbol !== undefined && symbols !== undefined) {
    throw errors.badCombination();
  }
  if (symbol !== undefined) return { markets: [market(symbol)], single: true };
  if (symbols === undefined) {
    if (required) throw errors.mandatory("symbol");
    return { markets: exchange.markets, single: false };
  }
  return { markets: symbols.map(market), single: false };
}

/** A JSON array of one or more distinct symbols, as Binance documents `symbols` (no spaces). */
export function parseSymbols(name: string, value: string): string[] {
  if (!SYMBOLS.test(value)) {
    throw new ApiError(
      400,
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '${SYMBOLS.source}'.`,
    );
  }
  const names = JSON.parse(value) as string[];
  if (new Set(names).size !== names.length) throw errors.duplicateParam(name);
  return names;
}

/** A JSON array of one or more symbols, as Binance documents it (no spaces). */
const SYMBOLS = /^\[("[A-Z0-9-_.]{1,20}")(,"[A-Z0-9-_.]{1,20}")*\]$/;

/**
 * The name/value pairs of a form-encoded string, as URLSearchParams reads them. Nothing to
 * decode (no `%`, no `+`, no leading `?`: what clients send for orders) takes a plain split, several times
 * cheaper than URLSearchParams on a hot path that runs for every request.
 */
export function formPairs(source: string): Iterable<[string, string]> {
  if (source.includes("%") || source.includes("+") || source.startsWith("?"))
    return new URLSearchParams(source);
  const out: [string, string][] = [];
  for (const piece of source.split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    out.push(eq < 0 ? [piece, ""] : [piece.slice(0, eq), piece.slice(eq + 1)]);
  }
  return out;
}

function throwError(e: ApiError): never {
  throw e;
}
