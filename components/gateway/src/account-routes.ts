import type { Market } from "../../domain/src/index.ts";
import { formatUnits, lotsToQuantity, ticksToPrice } from "../../domain/src/index.ts";
import type { StoredOrder } from "../../store/src/index.ts";
import { pageOf } from "../../store/src/index.ts";
import type { OrderRecord, PreventedMatch, TradeRecord } from "../../ubscore/src/index.ts";
import { endTime, limit, orderId, requiredSymbol, startTime } from "./common-params.ts";
import { endpoint } from "./endpoint.ts";
import { errors } from "./errors.ts";
import { myTradeView, nameOf, orderView, STP } from "./format.ts";
import { feeRate, marketOf, type RouteContext } from "./route-context.ts";
import * as s from "./schemas.ts";

/** The account's own data (USER_DATA): balances, order and trade history, rates and limits. */

const allOrders = endpoint({
  method: "GET",
  path: "/api/v3/allOrders",
  summary: "All orders on a market",
  security: "USER_DATA",
  params: { symbol: requiredSymbol, orderId, limit: limit(1000, 500), startTime, endTime },
  weight: 20,
  ws: "allOrders",
  response: s.arr(s.order),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const { core, history } = ctx;
    const m = marketOf(ctx, args.symbol);
    // Binance: from orderId onwards when given, else the most recent. The same page of the
    // store's history, with UBSCore's newer state laid over it (settlement writes behind).
    const page = { fromId: args.orderId, limit: args.limit };
    const byId = new Map<number, StoredOrder | OrderRecord>();
    if (core.hasForgottenOrders()) {
      for (const o of await history.ordersByUser(key.userId, m.id, page)) byId.set(o.orderId, o);
    }
    for (const o of core.allOrders(key.userId, m.id)) byId.set(o.orderId, o);
    const orders = [...byId.values()].sort((a, b) => a.orderId - b.orderId);
    return pageOf(orders, (o) => o.orderId, page).map((o) => orderView(m, o));
  },
});

const myTrades = endpoint({
  method: "GET",
  path: "/api/v3/myTrades",
  summary: "Your trades on a market",
  security: "USER_DATA",
  params: {
    symbol: requiredSymbol,
    limit: limit(1000, 500),
    orderId,
    fromId: { type: "integer", description: "The first trade id to return (inclusive)" },
    startTime,
    endTime,
  },
  weight: 20,
  ws: "myTrades",
  response: s.arr(s.myTrade),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const { orderId } = args;
    const mine = (t: TradeRecord) =>
      (t.buyerUserId === key.userId || t.sellerUserId === key.userId) &&
      (orderId === undefined || t.buyerOrderId === orderId || t.sellerOrderId === orderId);
    // Binance: from trade id fromId onwards when given, else the most recent. One order's trades
    // are not indexed by order in the store: for those, the user's whole history is read.
    const page = { fromId: args.fromId, limit: args.limit };
    const byId = new Map<number, TradeRecord>();
    if (ctx.core.hasForgottenTrades(m.id)) {
      const stored = await ctx.history.tradesByUser(
        key.userId,
        m.id,
        orderId === undefined ? page : undefined,
      );
      for (const t of stored) if (mine(t)) byId.set(t.tradeId, t);
    }
    for (const t of ctx.core.tradesOf(m.id)) if (mine(t)) byId.set(t.tradeId, t);
    const trades = [...byId.values()].sort((a, b) => a.tradeId - b.tradeId);
    return pageOf(trades, (t) => t.tradeId, page).flatMap((t) =>
      // A self-trade is two trades of the same user: one as buyer and one as seller.
      t.buyerUserId === t.sellerUserId
        ? [
            myTradeView(m, t, key.userId),
            { ...myTradeView(m, t, key.userId), isBuyer: false, orderId: t.sellerOrderId },
          ]
        : [myTradeView(m, t, key.userId)],
    );
  },
});

const ZERO_RATES = { maker: "0.00000000", taker: "0.00000000", buyer: "0.00000000", seller: "0.00000000" };

const account = endpoint({
  method: "GET",
  path: "/api/v3/account",
  summary: "Balances",
  security: "USER_DATA",
  params: { omitZeroBalances: { type: "string", description: "Accepted; every asset is listed" } },
  weight: 20,
  ws: "account.status",
  response: s.obj({
    canTrade: s.bool,
    updateTime: s.int,
    accountType: s.str,
    balances: s.arr(s.obj({ asset: s.str, free: s.dec, locked: s.dec })),
    permissions: s.arr(s.str),
    uid: s.int,
  }),
  handler: async ({ key }, ctx: RouteContext) => {
    const { core } = ctx;
    const balances = core.balancesOf(key.userId);
    return {
      makerCommission: 0,
      takerCommission: 0,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: ZERO_RATES,
      canTrade: true,
      canWithdraw: true,
      canDeposit: true,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: ctx.clock(),
      accountType: "SPOT",
      balances: core.exchange.assets.map((a) => ({
        asset: a.symbol,
        free: formatUnits(balances[a.id - 1]!.available, a.decimals),
        locked: formatUnits(balances[a.id - 1]!.frozen, a.decimals),
      })),
      permissions: ["SPOT"],
      uid: key.userId,
    };
  },
});

const commission = endpoint({
  method: "GET",
  path: "/api/v3/account/commission",
  summary: "The commission rates of one market",
  security: "USER_DATA",
  params: { symbol: requiredSymbol },
  weight: 20,
  ws: "account.commission",
  response: s.obj({
    symbol: s.str,
    standardCommission: s.sidedRates,
    specialCommission: s.sidedRates,
    taxCommission: s.sidedRates,
    discount: s.discount,
  }),
  handler: async ({ args }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const none = feeRate(0n);
    return {
      symbol: m.symbol,
      standardCommission: {
        maker: feeRate(m.makerFeePpm),
        taker: feeRate(m.takerFeePpm),
        buyer: none,
        seller: none,
      },
      specialCommission: { maker: none, taker: none, buyer: none, seller: none },
      taxCommission: { maker: none, taker: none, buyer: none, seller: none },
      discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: "BNB", discount: none },
    };
  },
});

const orderRateLimit = endpoint({
  method: "GET",
  path: "/api/v3/rateLimit/order",
  summary: "The order limits and what this account has used of them",
  security: "USER_DATA",
  params: {},
  weight: 40,
  ws: "account.rateLimits.orders",
  response: s.arr({ allOf: [s.rateLimit, s.obj({ count: s.int })] }),
  handler: async ({ key }, ctx: RouteContext) => ctx.limiter.orderUsage(key.userId),
});

/**
 * Binance's myPreventedMatches: the matches self-trade prevention kept the user's orders from, by
 * id, or those of one order (from an id on). UBSCore keeps them with the orders it holds in memory.
 */
const myPreventedMatches = endpoint({
  method: "GET",
  path: "/api/v3/myPreventedMatches",
  summary: "Matches self-trade prevention kept your orders from",
  security: "USER_DATA",
  params: {
    symbol: requiredSymbol,
    preventedMatchId: { type: "integer", description: "One prevented match (not with orderId)" },
    orderId: { ...orderId, description: "Those of one order (not with preventedMatchId)" },
    fromPreventedMatchId: { type: "integer", description: "With orderId: from this id on" },
    limit: limit(1000, 500),
  },
  oneOf: ["preventedMatchId", "orderId"],
  // Binance's: one by id is light, an order's list is not.
  weight: (q) => (q.has("orderId") ? 20 : 2),
  ws: "myPreventedMatches",
  response: s.arr(s.preventedMatch),
  handler: async ({ args, key }, ctx: RouteContext) => {
    const m = marketOf(ctx, args.symbol);
    const byId = args.preventedMatchId !== undefined;
    if (byId && (args.orderId !== undefined || args.fromPreventedMatchId !== undefined))
      throw errors.badCombination();
    const own = (o: OrderRecord | undefined) => o?.userId === key.userId && o.marketId === m.id;
    let found: PreventedMatch[];
    if (byId) {
      const p = ctx.core.preventedMatch(m.id, args.preventedMatchId!);
      found = p && own(ctx.core.order(p.takerOrderId)) ? [p] : [];
    } else {
      const order = ctx.core.order(args.orderId!);
      const from = args.fromPreventedMatchId ?? 0;
      found = own(order) ? (order!.preventedMatches ?? []).filter((p) => p.preventedMatchId >= from) : [];
    }
    return found.slice(0, args.limit).map((p) => preventedMatchView(m, p));
  },
});

function preventedMatchView(m: Market, p: PreventedMatch) {
  return {
    symbol: m.symbol,
    preventedMatchId: p.preventedMatchId,
    takerOrderId: p.takerOrderId,
    makerSymbol: m.symbol,
    makerOrderId: p.makerOrderId,
    // Binance's trade groups gather sub-accounts; Bourse has none.
    tradeGroupId: -1,
    selfTradePreventionMode: nameOf(STP, p.stp),
    price: ticksToPrice(m, p.priceTicks),
    makerPreventedQuantity: lotsToQuantity(m, p.makerPreventedLots),
    transactTime: p.time,
  };
}

export const accountEndpoints = [
  allOrders,
  myTrades,
  account,
  commission,
  orderRateLimit,
  myPreventedMatches,
];
