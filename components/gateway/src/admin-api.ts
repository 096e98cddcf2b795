import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { formatUnits, parseUnits } from "../../domain/src/decimal.ts";
import type { UbsCoreService } from "../../ubscore/src/service.ts";
import { ApiError, toApiError } from "./errors.ts";
import type { ApiKeyStore } from "./keys.ts";
import { installOpenApi } from "./openapi.ts";
import { installErrorHandling } from "./trading-api.ts";

/**
 * The operator (admin) API, on its own port with its own bearer token: the only way users, keys
 * and money enter the exchange. No trading key is accepted here.
 */
export interface AdminApiOptions {
  readonly service: UbsCoreService;
  readonly keys: ApiKeyStore;
  readonly token: string;
  readonly logger?: boolean;
}

const amountBody = {
  type: "object",
  required: ["userId", "asset", "amount"],
  additionalProperties: false,
  properties: {
    userId: { type: "integer", minimum: 1 },
    asset: { type: "string", pattern: "^[A-Z0-9]{2,12}$" },
    amount: { type: "string", pattern: "^\\d{1,30}(\\.\\d{1,30})?$" },
  },
} as const;

export function buildAdminApi(options: AdminApiOptions): FastifyInstance {
  const { service, keys } = options;
  const expected = Buffer.from(`Bearer ${options.token}`);
  const app = Fastify({
    bodyLimit: 16 * 1024,
    logger: options.logger ? { redact: ["req.headers.authorization"] } : false,
  });
  installErrorHandling(app, 16 * 1024);

  installOpenApi(
    app,
    "Bourse operator API",
    "Users, API keys, deposits, withdrawals and market halts.",
    "bearer",
  );
  app.register(async (api) => adminRoutes(api, service, keys));
  app.addHook("onRequest", async (req) => {
    if (req.url === "/openapi.json" || req.url.startsWith("/docs")) return;
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ApiError(401, -2015, "Missing or invalid operator token.");
    }
  });

  return app;
}

function adminRoutes(app: FastifyInstance, service: UbsCoreService, keys: ApiKeyStore): void {
  const core = service.core;
  const run = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw toApiError(e);
    }
  };

  app.post(
    "/admin/v1/users",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          properties: { label: { type: "string", maxLength: 64 } },
        },
      },
    },
    async (req, reply) => {
      const label = (req.body as { label?: string } | undefined)?.label ?? "";
      const userId = core.nextUserId();
      await run(() => service.submit({ kind: "createUser", userId }));
      const key = await keys.create(userId, label);
      return reply.status(201).send({ userId, apiKey: key.apiKey, secretKey: key.secretKey });
    },
  );

  app.post<{ Params: { userId: string } }>("/admin/v1/users/:userId/api-keys", async (req, reply) => {
    const userId = Number(req.params.userId);
    if (!Number.isSafeInteger(userId) || !core.hasUser(userId))
      throw new ApiError(404, -1000, "Unknown user.");
    const key = await keys.create(userId, "");
    return reply.status(201).send({ userId, apiKey: key.apiKey, secretKey: key.secretKey });
  });

  app.get<{ Params: { userId: string } }>("/admin/v1/users/:userId/balances", async (req) => {
    const userId = Number(req.params.userId);
    if (!Number.isSafeInteger(userId) || !core.hasUser(userId))
      throw new ApiError(404, -1000, "Unknown user.");
    const balances = core.balancesOf(userId);
    return core.exchange.assets.map((a) => ({
      asset: a.symbol,
      free: formatUnits(balances[a.id - 1]!.available, a.decimals),
      locked: formatUnits(balances[a.id - 1]!.frozen, a.decimals),
    }));
  });

  for (const [path, kind] of [
    ["/admin/v1/deposits", "credit"],
    ["/admin/v1/withdrawals", "debit"],
  ] as const) {
    app.post(path, { schema: { body: amountBody } }, async (req) => {
      const body = req.body as { userId: number; asset: string; amount: string };
      return run(async () => {
        const asset = core.exchange.asset(body.asset);
        if (!asset) throw new ApiError(400, -1130, `Unknown asset ${body.asset}.`);
        const amount = parseUnits(body.amount, asset.decimals, "amount");
        await service.submit({ kind, userId: body.userId, asset: asset.symbol, amount });
        const b = core.balancesOf(body.userId)[asset.id - 1]!;
        return { userId: body.userId, asset: asset.symbol, free: formatUnits(b.available, asset.decimals) };
      });
    });
  }

  for (const kind of ["halt", "resume"] as const) {
    app.post<{ Params: { symbol: string } }>(`/admin/v1/markets/:symbol/${kind}`, async (req) =>
      run(async () => {
        await service.submit({ kind, symbol: req.params.symbol });
        return { symbol: req.params.symbol, status: kind === "halt" ? "HALT" : "TRADING" };
      }),
    );
  }
}
