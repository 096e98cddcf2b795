import { endpoint, type ParamSpec } from "./endpoint.ts";
import type { RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";

/** Listen keys for the user data stream (USER_STREAM: the API key named, not signed). */

const listenKey = {
  type: "string",
  required: true,
  description: "A listen key of this API key's user",
} as const satisfies ParamSpec;

const start = endpoint({
  method: "POST",
  path: "/api/v3/userDataStream",
  summary: "A new listen key (valid for 60 minutes unless kept alive)",
  security: "USER_STREAM",
  params: {},
  weight: 1,
  ws: "userDataStream.start",
  response: s.obj({ listenKey: s.str }),
  handler: async ({ key }, ctx: RouteContext) => ({ listenKey: await ctx.hub.createListenKey(key.userId) }),
});

const keepAlive = endpoint({
  method: "PUT",
  path: "/api/v3/userDataStream",
  summary: "Keep a listen key alive",
  security: "USER_STREAM",
  params: { listenKey },
  weight: 1,
  ws: "userDataStream.ping",
  response: s.empty,
  errors: [-1125],
  handler: async ({ args, key }, ctx: RouteContext) => {
    await ctx.hub.keepAlive(key.userId, args.listenKey);
    return {};
  },
});

const close = endpoint({
  method: "DELETE",
  path: "/api/v3/userDataStream",
  summary: "Close a listen key",
  security: "USER_STREAM",
  params: { listenKey },
  weight: 1,
  ws: "userDataStream.stop",
  response: s.empty,
  errors: [-1125],
  handler: async ({ args, key }, ctx: RouteContext) => {
    await ctx.hub.closeListenKey(key.userId, args.listenKey);
    return {};
  },
});

export const userStreamEndpoints = [start, keepAlive, close];
