import type { Market } from "../../domain/src/index.ts";
import { formatUnits } from "../../domain/src/index.ts";
import type { HistoryReader } from "../../store/src/index.ts";
import type { UbsCoreView } from "../../ubscore/src/index.ts";
import { ApiError, toApiError } from "./errors.ts";
import type { FundingPort } from "./funding.ts";
import type { Submitter } from "./http.ts";
import type { MarketStatistics } from "./market-data.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { StreamHub } from "./streams.ts";

/** What the trading API's handlers run against (endpoint.ts: a handler's second argument). */
export interface RouteContext {
  readonly service: UbsCoreView;
  /** UBSCore's in-memory state: what public data and queries read. */
  readonly core: UbsCoreView["core"];
  /** Orders and trades older than what UBSCore keeps in memory. */
  readonly history: HistoryReader;
  readonly funding: FundingPort;
  readonly clock: () => number;
  readonly limiter: RateLimiter;
  readonly submit: Submitter;
  readonly hub: StreamHub;
  readonly stats: MarketStatistics;
}

/** The market a `symbol` names, else Binance's -1121. */
export function marketOf(ctx: RouteContext, symbol: string): Market {
  return ctx.core.exchange.market(symbol) ?? invalidSymbol();
}

export function invalidSymbol(): never {
  throw new ApiError(400, -1121, "Invalid symbol.");
}

/** A fee in parts per million as Binance writes a rate: 1000 ppm is "0.00100000". */
export function feeRate(ppm: bigint): string {
  return formatUnits(ppm * 100n, 8);
}

/** Converts a domain error raised while reading one parameter into that parameter's Binance error. */
export function field<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw toApiError(e, name);
  }
}
