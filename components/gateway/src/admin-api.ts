import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { formatUnits, parseUnits } from "../../domain/src/decimal.ts";
import type { Reconciliation } from "../../settlement/src/reconcile.ts";
import type { UbsCoreService } from "../../ubscore/src/service.ts";
import type { Withdrawal } from "../../ubscore/src/types.ts";
import { boundShutdown, type ConnectionLimits, connectionOptions } from "./connections.ts";
import { ApiError, toApiError } from "./errors.ts";
import type { FundingPort } from "./funding.ts";
import type { ApiKeyStore } from "./keys.ts";
import { installOpenApi } from "./openapi.ts";
import { installErrorHandling, loggerOptions } from "./trading-api.ts";

/**
 * The operator (admin) API, on its own port with its own bearer token: the only way users, keys
 * and money enter the exchange. No trading key is accepted here.
 */
export interface AdminApiOptions {
  readonly service: UbsCoreService;
  readonly funding: FundingPort;
  readonly keys: ApiKeyStore;
  readonly token: string;
  readonly connections: ConnectionLimits;
  readonly logger?: boolean | NodeJS.WritableStream;
  /** Compares UBSCore with the ledger at a settled watermark. */
  readonly reconcile: () => Promise<Reconciliation>;
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
    ...connectionOptions(options.connections),
    bodyLimit: 16 * 1024,
    logger: loggerOptions(options.logger),
  });
  boundShutdown(app, options.connections.shutdownGraceMs);
  installErrorHandling(app, 16 * 1024);

  installOpenApi(
    app,
    "Bourse operator API",
    "Users, API keys, deposits, withdrawals and market halts.",
    "bearer",
  );
  app.register(async (api) => adminRoutes(api, service, keys, options.funding));
  app.post(
    "/admin/v1/reconcile",
    { schema: { summary: "Compare UBSCore with the ledger at a settled watermark" } },
    async () => {
      try {
        return await options.reconcile();
      } catch (e) {
        throw toApiError(e);
      }
    },
  );
  app.addHook("onRequest", async (req) => {
    if (req.url === "/openapi.json" || req.url.startsWith("/docs")) return;
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ApiError(401, -2015, "Missing or invalid operator token.");
    }
  });

  return app;
}

function adminRoutes(
  app: FastifyInstance,
  service: UbsCoreService,
  keys: ApiKeyStore,
  funding: FundingPort,
): void {
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

  const parseAmount = (body: { asset: string; amount: string }) => {
    const asset = core.exchange.asset(body.asset);
    if (!asset) throw new ApiError(400, -1130, `Unknown asset ${body.asset}.`);
    return { asset, amount: parseUnits(body.amount, asset.decimals, "amount") };
  };

  const depositBody = {
    ...amountBody,
    properties: {
      ...amountBody.properties,
      wallet: {
        type: "string",
        enum: ["SPOT", "FUNDING"],
        description: "Which wallet receives it (default SPOT)",
      },
    },
  };
  app.post(
    "/admin/v1/deposits",
    {
      schema: { summary: "Credit a deposit to a user's Spot (default) or Funding wallet", body: depositBody },
    },
    async (req) => {
      const body = req.body as { userId: number; asset: string; amount: string; wallet?: "SPOT" | "FUNDING" };
      return run(async () => {
        const { asset, amount } = parseAmount(body);
        if (body.wallet === "FUNDING") {
          if (!core.hasUser(body.userId)) throw new ApiError(400, -2015, "Unknown user.");
          const record = await funding.transfer({
            userId: body.userId,
            type: "DEPOSIT_FUNDING",
            asset: asset.symbol,
            amount,
            clientTranId: `deposit-${randomBytes(12).toString("hex")}`,
            time: Date.now(),
          });
          if (record.state !== "COMMITTED")
            throw new ApiError(500, -1000, `deposit failed: ${record.reason}`);
          const balance = (await funding.balances(body.userId)).find((b) => b.asset === asset.symbol)!;
          return {
            userId: body.userId,
            asset: asset.symbol,
            wallet: "FUNDING",
            free: formatUnits(balance.free, asset.decimals),
          };
        }
        await service.submit({ kind: "credit", userId: body.userId, asset: asset.symbol, amount });
        const b = core.balancesOf(body.userId)[asset.id - 1]!;
        return { userId: body.userId, asset: asset.symbol, free: formatUnits(b.available, asset.decimals) };
      });
    },
  );

  // Withdrawals in two phases: hold the funds (frozen), then complete (they leave) or cancel.
  app.post(
    "/admin/v1/withdrawals",
    { schema: { summary: "Hold funds for a withdrawal", body: amountBody } },
    async (req, reply) => {
      const body = req.body as { userId: number; asset: string; amount: string };
      const withdrawalId = `w-${randomBytes(12).toString("hex")}`;
      const { withdrawal } = await run(async () => {
        const { asset, amount } = parseAmount(body);
        return service.submit({
          kind: "holdWithdrawal",
          withdrawalId,
          userId: body.userId,
          asset: asset.symbol,
          amount,
        });
      });
      return reply.status(201).send(withdrawalView(withdrawal!));
    },
  );

  app.get<{ Params: { id: string } }>("/admin/v1/withdrawals/:id", async (req) => {
    const w = core.withdrawal(req.params.id);
    if (!w) throw new ApiError(404, -1000, "Unknown withdrawal.");
    return withdrawalView(w);
  });

  for (const action of ["complete", "cancel"] as const) {
    app.post<{ Params: { id: string } }>(`/admin/v1/withdrawals/:id/${action}`, async (req) => {
      const { withdrawal } = await run(() =>
        service.submit({
          kind: action === "complete" ? "completeWithdrawal" : "cancelWithdrawal",
          withdrawalId: req.params.id,
        }),
      );
      return withdrawalView(withdrawal!);
    });
  }

  const withdrawalView = (w: Withdrawal) => {
    const asset = core.exchange.assetById(w.assetId)!;
    return {
      withdrawalId: w.withdrawalId,
      userId: w.userId,
      asset: asset.symbol,
      amount: formatUnits(w.amount, asset.decimals),
      status: w.status,
    };
  };

  for (const kind of ["halt", "resume"] as const) {
    app.post<{ Params: { symbol: string } }>(`/admin/v1/markets/:symbol/${kind}`, async (req) =>
      run(async () => {
        await service.submit({ kind, symbol: req.params.symbol });
        return { symbol: req.params.symbol, status: kind === "halt" ? "HALT" : "TRADING" };
      }),
    );
  }
}
