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

/** PUT (keep alive) and DELETE (close) take a listen key of the caller's and answer `{}`. */
function listenKeyChange(
  method: "PUT" | "DELETE",
  summary: string,
  ws: string,
  change: (ctx: RouteContext, userId: number, key: string) => Promise<void>,
) {
  return endpoint({
    method,
    path: "/api/v3/userDataStream",
    summary,
    security: "USER_STREAM",
    params: { listenKey },
    weight: 1,
    ws,
    response: s.empty,
    errors: [-1125],
    handler: async ({ args, key }, ctx: RouteContext) => {
      await change(ctx, key.userId, args.listenKey);
      return {};
    },
  });
}

const keepAlive = listenKeyChange(
  "PUT",
  "Keep a listen key alive",
  "userDataStream.ping",
  (ctx, userId, key) => ctx.hub.keepAlive(userId, key),
);
const close = listenKeyChange("DELETE", "Close a listen key", "userDataStream.stop", (ctx, userId, key) =>
  ctx.hub.closeListenKey(userId, key),
);

export const userStreamEndpoints = [start, keepAlive, close];
