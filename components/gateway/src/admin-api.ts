import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Asset } from "../../domain/src/index.ts";
import { formatUnits, parseUnits } from "../../domain/src/index.ts";
import type { Reconciliation } from "../../settlement/src/index.ts";
import type { UbsCoreService, Withdrawal } from "../../ubscore/src/index.ts";
import { boundShutdown, type ConnectionLimits, connectionOptions } from "./connections.ts";
import { ApiError, errors, toApiError } from "./errors.ts";
import type { FundingPort } from "./funding.ts";
import { installErrorHandling, loggerOptions, type Submitter, submitter } from "./http.ts";
import type { ApiKeyStore } from "./keys.ts";
import { installOpenApi } from "./openapi.ts";

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
  /** How long a request waits for UBSCore, the ledger or settlement before it is answered 503. */
  readonly timeoutMs: number;
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
    logger: loggerOptions(options.logger, "operator-api"),
    logController: new LogController({ requestIdLogLabel: "requestId" }),
    // Bodies are taken as sent: "3" is not a number here, and an unknown property is an error,
    // not something silently dropped (an operator's typo must not move money differently).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  boundShutdown(app, options.connections.shutdownGraceMs);
  installErrorHandling(app, 16 * 1024);

  installOpenApi(
    app,
    "Bourse operator API",
    "Users, API keys, deposits, withdrawals and market halts.",
    "bearer",
  );
  const run = submitter(options.timeoutMs);
  const deps: AdminDeps = { service, keys, funding: options.funding, run };
  app.register(async (api) => {
    userRoutes(api, deps);
    depositRoutes(api, deps);
    withdrawalRoutes(api, deps);
    haltRoutes(api, deps);
  });
  app.post(
    "/admin/v1/reconcile",
    { schema: { summary: "Compare UBSCore with the ledger at a settled watermark" } },
    // Bounded by the reconcile itself (gateway.reconcileTimeoutMs): a large one takes longer than
    // other operator calls may.
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

/** What the operator API's routes run against. */
interface AdminDeps {
  readonly service: UbsCoreService;
  readonly keys: ApiKeyStore;
  readonly funding: FundingPort;
  readonly run: Submitter;
}

type Core = UbsCoreService["core"];

/** A user UBSCore knows, else a 404. */
function knownUser(core: Core, userId: unknown): number {
  const id = Number(userId);
  if (!Number.isSafeInteger(id) || !core.hasUser(id)) throw errors.unknownUser();
  return id;
}

/** Users, their API keys and their balances. */
function userRoutes(app: FastifyInstance, { service, keys, run }: AdminDeps): void {
  const core = service.core;

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
      // The id is chosen by UBSCore as the command runs: concurrent creates never collide.
      const { userId } = await run(() => service.submit({ kind: "addUser" }));
      const key = await keys.create(userId!, label);
      return reply.status(201).send({ userId, apiKey: key.apiKey, secretKey: key.secretKey });
    },
  );

  // HMAC (the default): the secret is made here and shown once. Ed25519 (Binance's preferred
  // type): the user made the key pair and sends the public half; no secret ever leaves them.
  app.post<{ Params: { userId: string }; Body: { type?: string; publicKey?: string; label?: string } }>(
    "/admin/v1/users/:userId/api-keys",
    {
      // The user first (an unknown one is a 404 whatever the body); no body is the default key.
      preValidation: async (req) => {
        knownUser(core, req.params.userId);
        req.body ??= {};
      },
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            type: { type: "string", enum: ["HMAC", "ED25519"] },
            publicKey: { type: "string", maxLength: 1024, description: "Ed25519 public key, SPKI PEM" },
            label: { type: "string", maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const userId = knownUser(core, req.params.userId);
      const { type = "HMAC", publicKey, label = "" } = req.body;
      if ((type === "ED25519") !== (publicKey !== undefined))
        throw new ApiError(400, -1102, "publicKey is sent with type ED25519, and only then.");
      if (type === "HMAC") {
        const key = await keys.create(userId, label);
        return reply.status(201).send({ userId, type, apiKey: key.apiKey, secretKey: key.secretKey });
      }
      const key = await keys
        .registerEd25519(userId, label, publicKey!)
        .catch((e: unknown) => toApiError(e).throwSelf());
      return reply.status(201).send({ userId, type, apiKey: key.apiKey, publicKey: key.publicKey });
    },
  );

  app.get<{ Params: { userId: string } }>("/admin/v1/users/:userId/balances", async (req) => {
    const userId = knownUser(core, req.params.userId);
    const balances = core.balancesOf(userId);
    return core.exchange.assets.map((a) => ({
      asset: a.symbol,
      free: formatUnits(balances[a.id - 1]!.available, a.decimals),
      locked: formatUnits(balances[a.id - 1]!.frozen, a.decimals),
    }));
  });
}

/** An asset and an amount of it, as an operator's body names them. */
function parseAmount(core: Core, body: { asset: string; amount: string }) {
  const asset = core.exchange.asset(body.asset);
  if (!asset) throw new ApiError(400, -1130, `Unknown asset ${body.asset}.`);
  return { asset, amount: parseUnits(body.amount, asset.decimals, "amount") };
}

interface DepositBody {
  userId: number;
  asset: string;
  amount: string;
  wallet?: "SPOT" | "FUNDING";
  depositId?: string;
}

/** Deposits: to the Spot wallet through UBSCore, or to the Funding wallet through the saga. */
function depositRoutes(app: FastifyInstance, { service, funding, run }: AdminDeps): void {
  const core = service.core;
  const depositBody = {
    ...amountBody,
    properties: {
      ...amountBody.properties,
      wallet: {
        type: "string",
        enum: ["SPOT", "FUNDING"],
        description: "Which wallet receives it (default SPOT)",
      },
      depositId: {
        type: "string",
        pattern: "^[A-Za-z0-9_.:-]{1,64}$",
        description: "Idempotency key: a deposit with a known id is credited once (a retry changes nothing)",
      },
    },
  };
  app.post(
    "/admin/v1/deposits",
    {
      schema: { summary: "Credit a deposit to a user's Spot (default) or Funding wallet", body: depositBody },
    },
    async (req) => {
      const body = req.body as DepositBody;
      return run(async () => {
        const { asset, amount } = parseAmount(core, body);
        const userId = knownUser(core, body.userId);
        const { depositId } = body;
        if (body.wallet === "FUNDING") return depositToFunding(funding, { userId, asset, amount, depositId });
        const { repeated } = await service.submit({
          kind: "credit",
          userId,
          asset: asset.symbol,
          amount,
          depositId,
        });
        const b = core.balancesOf(userId)[asset.id - 1]!;
        return {
          userId,
          asset: asset.symbol,
          free: formatUnits(b.available, asset.decimals),
          ...(depositId === undefined ? {} : { depositId, repeated: repeated === true }),
        };
      });
    },
  );
}

async function depositToFunding(
  funding: FundingPort,
  d: { userId: number; asset: Asset; amount: bigint; depositId?: string },
) {
  const { userId, asset } = d;
  const record = await funding.transfer({
    userId,
    type: "DEPOSIT_FUNDING",
    asset: asset.symbol,
    amount: d.amount,
    // The saga takes a known client id as the same transfer: the deposit happens once.
    clientTranId: `deposit-${d.depositId ?? randomBytes(12).toString("hex")}`,
    time: Date.now(),
  });
  if (record.state !== "COMMITTED") throw new ApiError(500, -1000, `deposit failed: ${record.reason}`);
  const balance = (await funding.balances(userId)).find((b) => b.asset === asset.symbol)!;
  return { userId, asset: asset.symbol, wallet: "FUNDING", free: formatUnits(balance.free, asset.decimals) };
}

/** Withdrawals in two phases: hold the funds (frozen), then complete (they leave) or cancel. */
function withdrawalRoutes(app: FastifyInstance, { service, run }: AdminDeps): void {
  const core = service.core;
  app.post(
    "/admin/v1/withdrawals",
    { schema: { summary: "Hold funds for a withdrawal", body: amountBody } },
    async (req, reply) => {
      const body = req.body as { userId: number; asset: string; amount: string };
      const withdrawalId = `w-${randomBytes(12).toString("hex")}`;
      const { withdrawal } = await run(async () => {
        const { asset, amount } = parseAmount(core, body);
        return service.submit({
          kind: "holdWithdrawal",
          withdrawalId,
          userId: body.userId,
          asset: asset.symbol,
          amount,
        });
      });
      return reply.status(201).send(withdrawalView(core, withdrawal!));
    },
  );

  app.get<{ Params: { id: string } }>("/admin/v1/withdrawals/:id", async (req) => {
    const w = core.withdrawal(req.params.id);
    if (!w) throw new ApiError(404, -1000, "Unknown withdrawal.");
    return withdrawalView(core, w);
  });

  for (const action of ["complete", "cancel"] as const) {
    app.post<{ Params: { id: string } }>(`/admin/v1/withdrawals/:id/${action}`, async (req) => {
      const { withdrawal } = await run(() =>
        service.submit({
          kind: action === "complete" ? "completeWithdrawal" : "cancelWithdrawal",
          withdrawalId: req.params.id,
        }),
      );
      return withdrawalView(core, withdrawal!);
    });
  }
}

function withdrawalView(core: Core, w: Withdrawal) {
  const asset = core.exchange.assetById(w.assetId)!;
  return {
    withdrawalId: w.withdrawalId,
    userId: w.userId,
    asset: asset.symbol,
    amount: formatUnits(w.amount, asset.decimals),
    status: w.status,
  };
}

/** Halting and resuming a market. */
function haltRoutes(app: FastifyInstance, { service, run }: AdminDeps): void {
  for (const kind of ["halt", "resume"] as const) {
    app.post<{ Params: { symbol: string } }>(`/admin/v1/markets/:symbol/${kind}`, async (req) =>
      run(async () => {
        await service.submit({ kind, symbol: req.params.symbol });
        return { symbol: req.params.symbol, status: kind === "halt" ? "HALT" : "TRADING" };
      }),
    );
  }
}
