import { accountEndpoints } from "./account-routes.ts";
import { type DeclaredEndpoint, weightOf } from "./endpoint.ts";
import { marketEndpoints } from "./market-routes.ts";
import { orderListEndpoints } from "./order-list-routes.ts";
import { orderEndpoints } from "./order-routes.ts";
import type { RouteContext } from "./route-context.ts";
import { userStreamEndpoints } from "./user-stream-routes.ts";
import { walletEndpoints } from "./wallet-routes.ts";

/**
 * Every endpoint of the trading API (each declared once, endpoint.ts): what buildTradingApi
 * registers, the WebSocket API serves and the rate limiter weighs. A new endpoint is added to
 * one of these lists.
 */
export const ENDPOINTS: readonly DeclaredEndpoint<RouteContext>[] = [
  ...marketEndpoints,
  ...orderEndpoints,
  ...orderListEndpoints,
  ...accountEndpoints,
  ...walletEndpoints,
  ...userStreamEndpoints,
];

const BY_ROUTE = new Map<string, DeclaredEndpoint<RouteContext>>(
  ENDPOINTS.map((e) => [`${e.method} ${e.path}`, e]),
);

/** A request's weight, from its endpoint's declaration; 1 for anything else (a 404, the docs). */
export function requestWeight(method: string, path: string, rawQuery: string): number {
  const spec = BY_ROUTE.get(`${method} ${path}`);
  return spec ? weightOf(spec, rawQuery) : 1;
}
