import { checkClientOrderId, formatUnits, parseUnits } from "../../domain/src/index.ts";
import { endTime, startTime, symbol } from "./common-params.ts";
import { endpoint, type ParamSpec } from "./endpoint.ts";
import { ApiError, errors } from "./errors.ts";
import { feeRate, field, marketOf, type RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";

/** Binance's wallet endpoints (sapi): Funding <-> Spot transfers, balances, fees, status. */

const transferType = {
  type: "enum",
  values: ["MAIN_FUNDING", "FUNDING_MAIN"],
  required: true,
  description: "MAIN_FUNDING (Spot -> Funding) or FUNDING_MAIN",
} as const satisfies ParamSpec;

const transfer = endpoint({
  method: "POST",
  path: "/sapi/v1/asset/transfer",
  summary: "Transfer between the Funding and Spot (trading) wallets",
  security: "USER_DATA",
  params: {
    type: transferType,
    asset: { type: "string", required: true, description: "Asset, e.g. USDT" },
    amount: { type: "string", required: true, description: "Amount (decimal)" },
    clientTranId: { type: "string", description: "Idempotency key: a retry returns the same transfer" },
  },
  weight: 1,
  response: s.obj({ tranId: s.int }),
  errors: [-1111, -5013],
  handler: async ({ args, key, once }, ctx: RouteContext) => {
    const asset = ctx.core.exchange.asset(args.asset) ?? errors.invalidValue("asset").throwSelf();
    const amount = field("amount", () => parseUnits(args.amount, asset.decimals, "amount"));
    // Without a client id, the request's signature is the id: a replayed request is the same
    // transfer (the saga answers it again), never a second one.
    const clientTranId = field("clientTranId", () =>
      checkClientOrderId(args.clientTranId ?? `sig-${Buffer.from(once.signature).toString("hex", 0, 16)}`),
    );
    const { type } = args;
    const record = await ctx.submit(() =>
      ctx.funding.transfer({
        userId: key.userId,
        type,
        asset: asset.symbol,
        amount,
        clientTranId,
        time: ctx.clock(),
      }),
    );
    if (record.state === "ROLLED_BACK") {
      throw new ApiError(400, -5013, `Asset transfer failed: ${record.reason ?? "refused"}`);
    }
    return { tranId: record.seq };
  },
});

const transferHistory = endpoint({
  method: "GET",
  path: "/sapi/v1/asset/transfer",
  summary: "Transfer history of one type",
  security: "USER_DATA",
  params: {
    type: transferType,
    startTime: { ...startTime, default: 0 },
    endTime: { ...endTime, default: Number.MAX_SAFE_INTEGER },
    current: { type: "integer", min: 1, default: 1, description: "The page (from 1)" },
    size: { type: "integer", min: 1, max: 100, default: 10, description: "Rows per page" },
  },
  weight: 1,
  response: s.obj({
    total: s.int,
    rows: s.arr(
      s.obj({ asset: s.str, amount: s.dec, type: s.str, status: s.str, tranId: s.int, timestamp: s.int }),
    ),
  }),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const { current, size } = args;
    const rows = (await ctx.funding.history(key.userId, args.type))
      .filter((r) => r.time >= args.startTime && r.time <= args.endTime)
      .reverse();
    return {
      total: rows.length,
      rows: rows.slice((current - 1) * size, current * size).map((r) => ({
        asset: r.asset,
        amount: formatUnits(r.amount, ctx.core.exchange.asset(r.asset)!.decimals),
        type: r.type,
        status: r.state === "COMMITTED" ? "CONFIRMED" : r.state === "ROLLED_BACK" ? "FAILED" : "PENDING",
        tranId: r.seq,
        timestamp: r.time,
      })),
    };
  },
});

// No maintenance mode: a halted market is shown as such in exchangeInfo, not here.
const systemStatus = endpoint({
  method: "GET",
  path: "/sapi/v1/system/status",
  summary: "System status (0: normal)",
  security: "NONE",
  params: {},
  weight: 1,
  response: s.obj({ status: s.int, msg: s.str }),
  handler: async () => ({ status: 0, msg: "normal" }),
});

const tradeFee = endpoint({
  method: "GET",
  path: "/sapi/v1/asset/tradeFee",
  summary: "Maker and taker commission rates per market",
  security: "USER_DATA",
  params: { symbol },
  weight: 1,
  response: s.arr(s.obj({ symbol: s.str, makerCommission: s.dec, takerCommission: s.dec })),
  handler: async ({ args }, ctx: RouteContext) => {
    const markets = args.symbol ? [marketOf(ctx, args.symbol)] : ctx.core.exchange.markets;
    return markets.map((m) => ({
      symbol: m.symbol,
      makerCommission: feeRate(m.makerFeePpm),
      takerCommission: feeRate(m.takerFeePpm),
    }));
  },
});

const userAsset = endpoint({
  method: "POST",
  path: "/sapi/v3/asset/getUserAsset",
  summary: "Spot (trading) balances, those above zero",
  security: "USER_DATA",
  params: {
    asset: { type: "string", description: "One asset only" },
    needBtcValuation: { type: "string", description: "Accepted; valuations are 0" },
  },
  weight: 5,
  response: s.arr({ allOf: [s.walletBalance, s.obj({ ipoable: s.dec })] }),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const { core } = ctx;
    const balances = core.balancesOf(key.userId);
    return core.exchange.assets
      .filter((a) => (args.asset === undefined ? true : a.symbol === args.asset))
      .map((a) => ({ asset: a, balance: balances[a.id - 1]! }))
      .filter(({ balance }) => balance.available + balance.frozen > 0n)
      .map(({ asset, balance }) => ({
        asset: asset.symbol,
        free: formatUnits(balance.available, asset.decimals),
        locked: formatUnits(balance.frozen, asset.decimals),
        freeze: formatUnits(0n, asset.decimals),
        withdrawing: formatUnits(0n, asset.decimals),
        ipoable: formatUnits(0n, asset.decimals),
        btcValuation: "0",
      }));
  },
});

const fundingAsset = endpoint({
  method: "POST",
  path: "/sapi/v1/asset/get-funding-asset",
  summary: "Funding wallet balances",
  security: "USER_DATA",
  params: { asset: { type: "string", description: "One asset only" } },
  weight: 1,
  response: s.arr(s.walletBalance),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const only = args.asset;
    const balances = await ctx.funding.balances(key.userId);
    return balances
      .filter((b) => (only === undefined ? b.free + b.locked > 0n : b.asset === only))
      .map((b) => {
        const decimals = ctx.core.exchange.asset(b.asset)!.decimals;
        return {
          asset: b.asset,
          free: formatUnits(b.free, decimals),
          locked: formatUnits(b.locked, decimals),
          freeze: formatUnits(0n, decimals),
          withdrawing: formatUnits(0n, decimals),
          btcValuation: "0",
        };
      });
  },
});

export const walletEndpoints = [transfer, transferHistory, systemStatus, tradeFee, userAsset, fundingAsset];
