import { randomBytes } from "node:crypto";
import websocket from "@fastify/websocket";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { formatUnits, parseUnits } from "../../domain/src/decimal.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { checkClientOrderId } from "../../domain/src/ids.ts";
import type { Market } from "../../domain/src/market.ts";
import {
  lotsToQuantity,
  priceToTicks,
  quantityToLots,
  quoteToUnits,
  ticksToPrice,
} from "../../domain/src/market.ts";
import { isTriggered, OrderType, TimeInForce, triggersAs } from "../../matching/src/protocol.ts";
import { httpLogOptions } from "../../observability/src/log.ts";
import { gatewayMetrics } from "../../observability/src/metrics.ts";
import { pageOf } from "../../store/src/page.ts";
import type { HistoryReader, StoredOrder } from "../../store/src/port.ts";
import { checkOrderFilters } from "../../ubscore/src/core.ts";
import type { UbsCoreView } from "../../ubscore/src/service.ts";
import type { OrderRecord, PlaceOrder, TradeRecord } from "../../ubscore/src/types.ts";
import { aggregateTrades, selectAggTrades } from "./agg-trades.ts";
import { RequestAuthenticator } from "./auth.ts";
import { boundShutdown, type ConnectionLimits, connectionOptions } from "./connections.ts";
import { ApiError, errors, toApiError } from "./errors.ts";
import {
  aggTradeView,
  exchangeInfoView,
  myTradeView,
  newOrderView,
  ORDER_TYPE,
  orderView,
  publicTradeView,
  type RespType,
  SIDE,
  STP,
  TIF,
  ticker24hView,
  weightedAverageTicks,
  windowTickerView,
} from "./format.ts";
import type { FundingPort } from "./funding.ts";
import type { ApiKeyLookup } from "./keys.ts";
import { DAY, KLINE_INTERVALS, type KlineInterval, MarketStatistics, windowSizeMs } from "./market-data.ts";
import { docParams as d, installOpenApi, orderParams, publicDoc, signedDoc } from "./openapi.ts";
import { type Handler, operationRoutes, orderCountHeaders } from "./operations.ts";
import { amendRoutes } from "./order-amend-api.ts";
import { type Params, selectMarkets } from "./params.ts";
import {
  type RateLimiter as Limiter,
  RateLimiter,
  type RateLimits,
  requestWeight,
  weightRefusal,
} from "./rate-limit.ts";
import { installRequestMetrics } from "./request-metrics.ts";
import { installStreams, klineRestView, StreamHub, type StreamLimits } from "./streams.ts";
import { installWsApi } from "./ws-api.ts";

export interface TradingApiOptions {
  readonly rateLimits: RateLimits;
  /** Addresses or CIDR ranges of proxies whose X-Forwarded-For names the client. */
  readonly trustedProxies: readonly string[];
  readonly connections: ConnectionLimits;
  readonly websocket: StreamLimits;
  readonly service: UbsCoreView;
  readonly funding: FundingPort;
  /** Orders and trades older than what UBSCore keeps in memory. */
  readonly history: HistoryReader;
  readonly keys: ApiKeyLookup;
  readonly maxBodyBytes: number;
  /** How long a change waits for UBSCore before the answer is -1007 (status unknown). */
  readonly backendTimeoutMs?: number;
  readonly clock?: () => number;
  /** Request logs (secrets redacted): off, to stdout, or to a stream. */
  readonly logger?: boolean | NodeJS.WritableStream;
}

/**
 * The trading API in Binance spot conventions. Public market data reads UBSCore's in-memory state;
 * every change goes through UBSCoreService.submit, which journals it before it takes effect.
 */
export function buildTradingApi(options: TradingApiOptions): FastifyInstance {
  const { service, keys } = options;
  const clock = options.clock ?? Date.now;
  const auth = new RequestAuthenticator(keys, clock);
  const app = Fastify({
    ...connectionOptions(options.connections),
    // X-Forwarded-For is believed only from these (an ingress, a load balancer): anyone else
    // could name any address and escape their own limits, or exhaust someone else's.
    trustProxy: options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
    bodyLimit: options.maxBodyBytes,
    logger: loggerOptions(options.logger, "gateway"),
    logController: new LogController({ requestIdLogLabel: "requestId" }),
  });
  boundShutdown(app, options.connections.shutdownGraceMs);
  // At the root, so that its hooks see every upgrade request, those no route takes included
  // (their sockets are closed after the 404, not left open for a stop to wait on).
  app.register(websocket, { options: { maxPayload: 4096 } });
  installErrorHandling(app, options.maxBodyBytes);
  installRequestMetrics(app);
  // Binance takes parameters as a query string or a form body, never JSON. Clients that label
  // every request JSON (Binance's Python connector) send an empty body with the parameters in
  // the query string: that is taken, as Binance takes it; a body of another type is refused
  // rather than ignored, so no parameter is silently dropped.
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) =>
    body === "" ? done(null, "") : done(errors.unsupportedMedia()),
  );
  const limiter = new RateLimiter(options.rateLimits, clock);
  installRateLimit(app, limiter, clock);
  // Route schemas document; Params validates (so errors carry Binance codes).
  app.setValidatorCompiler(() => () => true);
  installOpenApi(
    app,
    "Bourse trading API",
    "Binance spot REST conventions: market data, signed trading, user data streams.",
    "apiKey",
  );
  const submit = submitter(options.backendTimeoutMs ?? 10_000);
  const stats = new MarketStatistics((id) => service.core.candlesOf(id));
  const hub = new StreamHub(service, stats, clock, options.websocket);
  const operations = new Map<string, Handler>();
  app.register(async (api) => {
    tradingRoutes(api, service, options.history, auth, clock, limiter, submit, hub, operations);
    fundingRoutes(api, service, options.funding, auth, clock, submit, operations);
    installWsApi(api, {
      operations,
      hub,
      auth,
      limiter,
      clock,
      submit: (cmd) => submit(() => service.submit(cmd)),
    });
  });
  return app;
}

function tradingRoutes(
  app: FastifyInstance,
  service: UbsCoreView,
  history: HistoryReader,
  auth: RequestAuthenticator,
  clock: () => number,
  limiter: Limiter,
  submit: Submitter,
  hub: StreamHub,
  operations: Map<string, Handler>,
): void {
  const core = service.core;
  const stats = hub.stats;
  const api = operationRoutes(app, auth, operations);
  installStreams(app, hub, api);

  const market = (params: Params): Market => {
    const symbol = params.required("symbol");
    return core.exchange.market(symbol) ?? invalidSymbol();
  };
  const selected = (params: Params) => selectMarkets(params, core.exchange);

  api.get("/api/v3/ping", { schema: publicDoc("Test connectivity") }, async () => ({}));
  api.get("/api/v3/time", { schema: publicDoc("Server time") }, async () => ({ serverTime: clock() }));

  api.get(
    "/api/v3/exchangeInfo",
    { schema: publicDoc("Markets, assets and filters", { symbol: d.symbol, symbols: d.symbols }) },
    async (call) => {
      const params = call.params();
      const { markets } = selected(params);
      params.done();
      return exchangeInfoView(markets, (m) => core.isHalted(m.id), clock(), limiter.describe());
    },
  );

  api.get(
    "/api/v3/depth",
    { schema: publicDoc("Order book with lastUpdateId", { symbol: d.symbol, limit: d.limit }, ["symbol"]) },
    async (call) => {
      const params = call.params();
      const m = marketOf(params);
      const limit = params.optionalInt("limit", 1, 5000) ?? 100;
      params.done();
      const depth = core.book(m.id).depth(limit);
      const level = (l: { priceTicks: number; totalLots: number }) => [
        ticksToPrice(m, l.priceTicks),
        lotsToQuantity(m, l.totalLots),
      ];
      return { lastUpdateId: depth.lastUpdateId, bids: depth.bids.map(level), asks: depth.asks.map(level) };
    },
  );

  api.get(
    "/api/v3/trades",
    { schema: publicDoc("Recent trades", { symbol: d.symbol, limit: d.limit }, ["symbol"]) },
    async (call) => {
      const params = call.params();
      const m = marketOf(params);
      const limit = params.optionalInt("limit", 1, 1000) ?? 500;
      params.done();
      return core
        .tradesOf(m.id)
        .slice(-limit)
        .map((t) => publicTradeView(m, t));
    },
  );

  api.get(
    "/api/v3/aggTrades",
    {
      schema: publicDoc(
        "Aggregate trades: consecutive fills of one taker order at one price (id = its first trade's id)",
        { symbol: d.symbol, fromId: d.fromId, startTime: d.timestamp, endTime: d.timestamp, limit: d.limit },
        ["symbol"],
      ),
    },
    async (call) => {
      const params = call.params();
      const m = marketOf(params);
      const query = {
        fromId: params.optionalInt("fromId"),
        startTime: params.optionalInt("startTime"),
        endTime: params.optionalInt("endTime"),
        limit: params.optionalInt("limit", 1, 1000) ?? 500,
      };
      params.done();
      return selectAggTrades(aggregateTrades(core.tradesOf(m.id)), query).map((a) => aggTradeView(m, a));
    },
  );

  // uiKlines: Binance's candles "for presentation"; ours are the same candles.
  for (const path of ["/api/v3/klines", "/api/v3/uiKlines"])
    api.get(
      path,
      {
        schema: publicDoc(
          "Candles",
          {
            symbol: d.symbol,
            interval: { type: "string", description: "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h or 1d" },
            limit: d.limit,
            startTime: d.timestamp,
            endTime: d.timestamp,
          },
          ["symbol", "interval"],
        ),
      },
      async (call) => {
        const params = call.params();
        const m = marketOf(params);
        const interval = params.oneOf("interval", Object.keys(KLINE_INTERVALS) as KlineInterval[], () =>
          errors.invalidValue("interval"),
        );
        const limit = params.optionalInt("limit", 1, 1000) ?? 500;
        const startTime = params.optionalInt("startTime");
        const endTime = params.optionalInt("endTime");
        params.optional("timeZone");
        params.done();
        return stats
          .klines(m.id, interval, limit, startTime, endTime)
          .map((k) => klineRestView(m, k, interval));
      },
    );

  api.get(
    "/api/v3/ticker/24hr",
    {
      schema: publicDoc("Rolling 24-hour statistics", {
        symbol: d.symbol,
        symbols: d.symbols,
        type: { type: "string", description: "FULL (default) or MINI" },
      }),
    },
    async (call) => {
      const params = call.params();
      const { markets, single } = selected(params);
      const full = tickerType(params);
      params.done();
      const now = clock();
      const views = markets.map((m) =>
        full
          ? ticker24hView(
              m,
              stats.rolling(m.id, now, DAY),
              core.book(m.id).depth(1),
              now,
              core.tradesOf(m.id).at(-1)?.qtyLots ?? 0,
            )
          : windowTickerView(m, stats.rolling(m.id, now, DAY), now - DAY, now, false),
      );
      return single ? views[0] : views;
    },
  );

  const tickerType = (params: Params) =>
    params.oneOf("type", ["FULL", "MINI"] as const, () => errors.invalidValue("type"), "FULL") === "FULL";
  // These take no "every market": one of symbol and symbols is required.
  const namedMarkets = (params: Params) => selectMarkets(params, core.exchange, true);

  api.get(
    "/api/v3/ticker",
    {
      schema: publicDoc("Rolling-window statistics (windowSize 1m-59m, 1h-23h, 1d-7d; default 1d)", {
        symbol: d.symbol,
        symbols: d.symbols,
        windowSize: { type: "string", description: "1m-59m, 1h-23h or 1d-7d" },
        type: { type: "string", description: "FULL (default) or MINI" },
      }),
    },
    async (call) => {
      const params = call.params();
      const { markets, single } = namedMarkets(params);
      const windowMs =
        windowSizeMs(params.optional("windowSize") ?? "1d") ?? errors.invalidValue("windowSize").throwSelf();
      const full = tickerType(params);
      params.done();
      const now = clock();
      const views = markets.map((m) =>
        windowTickerView(m, stats.rolling(m.id, now, windowMs), now - windowMs, now, full),
      );
      return single ? views[0] : views;
    },
  );

  api.get(
    "/api/v3/ticker/tradingDay",
    {
      schema: publicDoc("Statistics of the current trading day (UTC)", {
        symbol: d.symbol,
        symbols: d.symbols,
        timeZone: { type: "string", description: "Only UTC (0) is served" },
        type: { type: "string", description: "FULL (default) or MINI" },
      }),
    },
    async (call) => {
      const params = call.params();
      const { markets, single } = namedMarkets(params);
      const timeZone = params.optional("timeZone");
      if (timeZone !== undefined && !/^[+-]?0{1,2}(:00)?$/.test(timeZone))
        throw errors.invalidValue("timeZone");
      const full = tickerType(params);
      params.done();
      const now = clock();
      const dayStart = now - (now % DAY);
      const views = markets.map((m) =>
        windowTickerView(m, stats.rolling(m.id, now, now - dayStart), dayStart, dayStart + DAY - 1, full),
      );
      return single ? views[0] : views;
    },
  );

  api.get(
    "/api/v3/avgPrice",
    { schema: publicDoc("Average price of the last 5 minutes' trades", { symbol: d.symbol }, ["symbol"]) },
    async (call) => {
      const params = call.params();
      const m = marketOf(params);
      params.done();
      const window = stats.rolling(m.id, clock(), AVG_PRICE_MINUTES * 60_000);
      // No trade in the window: the last trade's price, as Binance answers.
      const last = core.tradesOf(m.id).at(-1);
      const ticks =
        window && window.volumeLots > 0 ? Number(weightedAverageTicks(m, window)) : (last?.priceTicks ?? 0);
      return { mins: AVG_PRICE_MINUTES, price: ticksToPrice(m, ticks), closeTime: last?.time ?? 0 };
    },
  );

  api.get(
    "/api/v3/ticker/price",
    { schema: publicDoc("Last price", { symbol: d.symbol, symbols: d.symbols }) },
    async (call) => {
      const params = call.params();
      const { markets, single } = selected(params);
      params.done();
      const views = markets.map((m) => ({
        symbol: m.symbol,
        price: ticksToPrice(m, core.tradesOf(m.id).at(-1)?.priceTicks ?? 0),
      }));
      return single ? views[0] : views;
    },
  );

  api.get(
    "/api/v3/ticker/bookTicker",
    { schema: publicDoc("Best bid and ask", { symbol: d.symbol, symbols: d.symbols }) },
    async (call) => {
      const params = call.params();
      const { markets, single } = selected(params);
      params.done();
      const views = markets.map((m) => {
        const { bids, asks } = core.book(m.id).depth(1);
        return {
          symbol: m.symbol,
          bidPrice: ticksToPrice(m, bids[0]?.priceTicks ?? 0),
          bidQty: lotsToQuantity(m, bids[0]?.totalLots ?? 0),
          askPrice: ticksToPrice(m, asks[0]?.priceTicks ?? 0),
          askQty: lotsToQuantity(m, asks[0]?.totalLots ?? 0),
        };
      });
      return single ? views[0] : views;
    },
  );

  api.post(
    "/api/v3/order",
    { schema: signedDoc("Place an order", orderParams, ["symbol", "side", "type"], true) },
    async (call) => {
      const { key, params, once } = call.signed();
      const orders = limiter.newOrder(key.userId);
      call.orders(orders);
      if (!orders.allowed) {
        const [limit, per] =
          orders.refusedBy === "10S"
            ? [limiter.limits.ordersPer10s, "TEN_SECONDS"]
            : [limiter.limits.ordersPerDay, "DAY"];
        throw new ApiError(429, -1015, `Too many new orders; current limit is ${limit} orders per ${per}.`, {
          ...orderCountHeaders(orders),
          "Retry-After": String(orders.retryAfter),
        });
      }
      const { market: m, order: place, respType } = readNewOrder(params, core.exchange, key.userId, clock());
      params.done();
      const { order } = await submit(() => service.submit({ ...place, ...once }));
      // The request's log line names the order it made (a no-op unless request logs are on).
      call.log.info({ orderId: order!.orderId, status: order!.status }, "order placed");
      if (order!.status === "REJECTED")
        throw isTriggered(order!.type) ? errors.wouldTrigger() : errors.wouldTake();
      return newOrderView(m, order!, respType);
    },
  );

  api.post(
    "/api/v3/order/test",
    {
      schema: signedDoc(
        "Check an order as placing it would (parameters and filters), without placing it",
        {
          ...orderParams,
          computeCommissionRates: { type: "string", description: "true: answer the commission rates" },
        },
        ["symbol", "side", "type"],
        true,
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const { market: m, order } = readNewOrder(params, core.exchange, key.userId, clock());
      const rates = params.oneOf(
        "computeCommissionRates",
        ["true", "false"],
        () => errors.invalidValue("computeCommissionRates"),
        "false",
      );
      params.done();
      try {
        checkOrderFilters(m, order);
      } catch (e) {
        throw toApiError(e);
      }
      if (rates === "false") return {};
      const none = feeRate(0n);
      return {
        standardCommissionForOrder: { maker: feeRate(m.makerFeePpm), taker: feeRate(m.takerFeePpm) },
        specialCommissionForOrder: { maker: none, taker: none },
        taxCommissionForOrder: { maker: none, taker: none },
        discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: "BNB", discount: none },
      };
    },
  );

  api.get(
    "/api/v3/order",
    {
      schema: signedDoc("Query an order", orderRefParams, ["symbol"]),
    },
    async (call) => {
      const { key, params } = call.signed();
      const m = market(params);
      const order = await queryOrder(params, key.userId, m);
      params.done();
      return orderView(m, order);
    },
  );

  api.delete(
    "/api/v3/order",
    {
      schema: signedDoc("Cancel an order", orderRefParams, ["symbol"]),
    },
    async (call) => {
      const { key, params, once } = call.signed();
      const m = market(params);
      const { orderId, clientOrderId } = orderRef(params);
      params.optional("newClientOrderId");
      params.done();
      const { order } = await submit(
        () =>
          service.submit({
            kind: "cancel",
            userId: key.userId,
            symbol: m.symbol,
            orderId,
            clientOrderId: orderId === undefined ? clientOrderId : undefined,
            time: clock(),
            ...once,
          }),
        errors.cancelRejected,
      );
      return { ...orderView(m, order!), origClientOrderId: order!.clientOrderId };
    },
  );

  api.post(
    "/api/v3/order/cancelReplace",
    {
      schema: signedDoc(
        "Cancel an order and place a new one (cancelReplaceMode STOP_ON_FAILURE or ALLOW_FAILURE)",
        {
          ...orderParams,
          cancelReplaceMode: { type: "string", description: "STOP_ON_FAILURE or ALLOW_FAILURE" },
          cancelOrderId: d.orderId,
          cancelOrigClientOrderId: d.origClientOrderId,
          cancelNewClientOrderId: {
            type: "string",
            description: "Accepted; Bourse keeps the order's own id",
          },
        },
        ["symbol", "side", "type", "cancelReplaceMode"],
        true,
      ),
    },
    async (call) => {
      const { key, params, once } = call.signed();
      const mode = params.oneOf("cancelReplaceMode", ["STOP_ON_FAILURE", "ALLOW_FAILURE"] as const, () =>
        errors.invalidValue("cancelReplaceMode"),
      );
      const orderId = params.optionalInt("cancelOrderId", 1);
      const clientOrderId = params.optional("cancelOrigClientOrderId");
      if (orderId === undefined && clientOrderId === undefined) {
        throw new ApiError(
          400,
          -1102,
          "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!",
        );
      }
      params.optional("cancelNewClientOrderId");
      const { market: m, order: place, respType } = readNewOrder(params, core.exchange, key.userId, clock());
      params.done();
      // The request is taken once, by its first command: a replay is refused whatever the mode.
      const cancelled = await submit(
        () =>
          service.submit({
            kind: "cancel",
            userId: key.userId,
            symbol: m.symbol,
            orderId,
            clientOrderId: orderId === undefined ? clientOrderId : undefined,
            time: clock(),
            ...once,
          }),
        errors.cancelRejected,
      ).then(
        ({ order }) => ({
          ok: true as const,
          view: { ...orderView(m, order!), origClientOrderId: order!.clientOrderId },
        }),
        (e: unknown) => ({ ok: false as const, error: toApiError(e) }),
      );
      if (!cancelled.ok && (cancelled.error.code === -1021 || mode === "STOP_ON_FAILURE")) {
        if (cancelled.error.code === -1021) throw cancelled.error;
        throw cancelReplaceFailure(-2022, "Order cancel-replace failed.", cancelled, undefined);
      }
      const placed = await submit(() => service.submit(place)).then(
        ({ order }) =>
          order!.status === "REJECTED"
            ? { ok: false as const, error: errors.wouldTake() }
            : { ok: true as const, view: newOrderView(m, order!, respType) },
        (e: unknown) => ({ ok: false as const, error: toApiError(e) }),
      );
      if (cancelled.ok && placed.ok) {
        return {
          cancelResult: "SUCCESS",
          newOrderResult: "SUCCESS",
          cancelResponse: cancelled.view,
          newOrderResponse: placed.view,
        };
      }
      throw cancelReplaceFailure(
        cancelled.ok || placed.ok ? -2021 : -2022,
        cancelled.ok || placed.ok ? "Order cancel-replace partially failed." : "Order cancel-replace failed.",
        cancelled,
        placed,
      );
    },
  );

  api.get(
    "/api/v3/openOrders",
    { schema: signedDoc("Open orders", { symbol: d.symbol }, []) },
    async (call) => {
      const { key, params } = call.signed();
      const symbol = params.optional("symbol");
      params.done();
      const m = symbol === undefined ? undefined : (core.exchange.market(symbol) ?? invalidSymbol());
      return core
        .openOrders(key.userId, m?.id)
        .map((o) => orderView(core.exchange.marketById(o.marketId)!, o));
    },
  );

  api.delete(
    "/api/v3/openOrders",
    { schema: signedDoc("Cancel all open orders on a market", { symbol: d.symbol }, ["symbol"]) },
    async (call) => {
      const { key, params, once } = call.signed();
      const m = market(params);
      params.done();
      const { orders } = await submit(
        () =>
          service.submit({ kind: "cancelAll", userId: key.userId, symbol: m.symbol, time: clock(), ...once }),
        errors.cancelRejected,
      );
      return orders!.map((o) => ({ ...orderView(m, o), origClientOrderId: o.clientOrderId }));
    },
  );

  api.get(
    "/api/v3/allOrders",
    {
      schema: signedDoc(
        "All orders on a market",
        {
          symbol: d.symbol,
          orderId: d.orderId,
          limit: d.limit,
          startTime: d.timestamp,
          endTime: d.timestamp,
        },
        ["symbol"],
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const m = market(params);
      const fromId = params.optionalInt("orderId", 1);
      const limit = params.optionalInt("limit", 1, 1000) ?? 500;
      params.optionalInt("startTime");
      params.optionalInt("endTime");
      params.done();
      // Binance: from orderId onwards when given, else the most recent. The same page of the
      // store's history, with UBSCore's newer state laid over it (settlement writes behind).
      const page = { fromId, limit };
      const byId = new Map<number, StoredOrder | OrderRecord>();
      if (core.hasForgottenOrders()) {
        for (const o of await history.ordersByUser(key.userId, m.id, page)) byId.set(o.orderId, o);
      }
      for (const o of core.allOrders(key.userId, m.id)) byId.set(o.orderId, o);
      const orders = [...byId.values()].sort((a, b) => a.orderId - b.orderId);
      return pageOf(orders, (o) => o.orderId, page).map((o) => orderView(m, o));
    },
  );

  api.get(
    "/api/v3/rateLimit/order",
    { schema: signedDoc("The order limits and what this account has used of them", {}, []) },
    async (call) => {
      const { key, params } = call.signed();
      params.done();
      return limiter.orderUsage(key.userId);
    },
  );

  api.get(
    "/api/v3/historicalTrades",
    {
      schema: publicDoc(
        "Older trades from an id, among those UBSCore keeps in memory (ubscore.retention)",
        { symbol: d.symbol, fromId: d.fromId, limit: d.limit },
        ["symbol"],
      ),
    },
    async (call) => {
      const params = call.params();
      const m = marketOf(params);
      const fromId = params.optionalInt("fromId");
      const limit = params.optionalInt("limit", 1, 1000) ?? 500;
      params.done();
      const trades = core.tradesOf(m.id);
      const picked =
        fromId === undefined
          ? trades.slice(-limit)
          : trades.filter((t) => t.tradeId >= fromId).slice(0, limit);
      return picked.map((t) => publicTradeView(m, t));
    },
  );

  api.get(
    "/api/v3/account/commission",
    { schema: signedDoc("The commission rates of one market", { symbol: d.symbol }, ["symbol"]) },
    async (call) => {
      const { params } = call.signed();
      const m = marketOf(params);
      params.done();
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
  );

  api.get(
    "/api/v3/account",
    {
      schema: signedDoc(
        "Balances",
        { omitZeroBalances: { type: "string", description: "true or false" } },
        [],
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      params.optional("omitZeroBalances");
      params.done();
      const balances = core.balancesOf(key.userId);
      return {
        makerCommission: 0,
        takerCommission: 0,
        buyerCommission: 0,
        sellerCommission: 0,
        commissionRates: {
          maker: "0.00000000",
          taker: "0.00000000",
          buyer: "0.00000000",
          seller: "0.00000000",
        },
        canTrade: true,
        canWithdraw: true,
        canDeposit: true,
        brokered: false,
        requireSelfTradePrevention: false,
        preventSor: false,
        updateTime: clock(),
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
  );

  api.get(
    "/api/v3/myTrades",
    {
      schema: signedDoc(
        "Your trades on a market",
        {
          symbol: d.symbol,
          orderId: d.orderId,
          limit: d.limit,
          fromId: d.orderId,
          startTime: d.timestamp,
          endTime: d.timestamp,
        },
        ["symbol"],
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const m = market(params);
      const limit = params.optionalInt("limit", 1, 1000) ?? 500;
      const orderId = params.optionalInt("orderId", 1);
      const fromId = params.optionalInt("fromId", 0);
      params.optionalInt("startTime");
      params.optionalInt("endTime");
      params.done();
      const mine = (t: TradeRecord) =>
        (t.buyerUserId === key.userId || t.sellerUserId === key.userId) &&
        (orderId === undefined || t.buyerOrderId === orderId || t.sellerOrderId === orderId);
      // Binance: from trade id fromId onwards when given, else the most recent. One order's trades
      // are not indexed by order in the store: for those, the user's whole history is read.
      const page = { fromId, limit };
      const byId = new Map<number, TradeRecord>();
      if (core.hasForgottenTrades(m.id)) {
        const stored = await history.tradesByUser(key.userId, m.id, orderId === undefined ? page : undefined);
        for (const t of stored) if (mine(t)) byId.set(t.tradeId, t);
      }
      for (const t of core.tradesOf(m.id)) if (mine(t)) byId.set(t.tradeId, t);
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
  );

  const marketOf = (params: Params) => core.exchange.market(params.required("symbol")) ?? invalidSymbol();
  amendRoutes(api, service, clock, submit);

  /** An order UBSCore still holds, else one from the history store. */
  async function queryOrder(params: Params, userId: number, m: Market): Promise<OrderRecord | StoredOrder> {
    const { orderId, clientOrderId } = orderRef(params);
    const recent = orderId !== undefined ? core.order(orderId) : core.orderByClientId(userId, clientOrderId!);
    // Until UBSCore has forgotten an order, what it does not hold does not exist.
    const order =
      recent ??
      (!core.hasForgottenOrders()
        ? undefined
        : orderId !== undefined
          ? await history.order(orderId)
          : await history.orderByClientId(userId, m.id, clientOrderId!));
    if (!order || order.userId !== userId || order.marketId !== m.id) throw errors.noSuchOrder();
    return order;
  }
}

/** An existing order is named by `orderId` or `origClientOrderId` (at least one). */
const orderRefParams = { symbol: d.symbol, orderId: d.orderId, origClientOrderId: d.origClientOrderId };

export function orderRef(params: Params): { orderId?: number; clientOrderId?: string } {
  const orderId = params.optionalInt("orderId", 1);
  const clientOrderId = params.optional("origClientOrderId");
  if (orderId === undefined && clientOrderId === undefined) {
    throw new ApiError(
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );
  }
  return { orderId, clientOrderId };
}

/**
 * Logging for both APIs: JSON lines of `component` (observability/src/log.ts), never the API key
 * header, the operator token nor a request's signature.
 */
export function loggerOptions(logger: boolean | NodeJS.WritableStream | undefined, component: string) {
  if (!logger) return false;
  return httpLogOptions(component, logger === true ? undefined : logger);
}

/** Weighs every request before it runs; over the limit it is refused with 429 and changes nothing. */
function installRateLimit(app: FastifyInstance, limiter: Limiter, clock: () => number): void {
  // A callback hook, not an async one: a promise per request for nothing asynchronous.
  app.addHook("onRequest", (req, reply, done) => {
    const q = req.url.indexOf("?");
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const verdict = limiter.request(
      req.ip,
      requestWeight(req.method, path, q < 0 ? "" : req.url.slice(q + 1)),
    );
    const refused = weightRefusal(verdict, limiter.limits, req.ip, clock());
    if (!verdict.banned) void reply.header("X-MBX-USED-WEIGHT-1M", String(verdict.used));
    done(refused);
  });
}

/**
 * The order a new-order request describes (POST order and order/test alike), read and checked
 * the Binance way; the caller calls params.done() once it has read the rest.
 */
function readNewOrder(
  params: Params,
  exchange: ExchangeDefinition,
  userId: number,
  time: number,
): { market: Market; order: PlaceOrder; respType: RespType } {
  const m = exchange.market(params.required("symbol")) ?? invalidSymbol();
  const side = SIDE[params.oneOf("side", ["BUY", "SELL"], errors.invalidSide)];
  const typeName = params.oneOf(
    "type",
    Object.keys(ORDER_TYPE) as (keyof typeof ORDER_TYPE)[],
    errors.invalidOrderType,
  );
  const type = ORDER_TYPE[typeName];
  // Triggered orders run as a MARKET or LIMIT order, and take that order's parameters.
  const runsAs = triggersAs(type);
  const tif =
    runsAs === OrderType.Limit
      ? TIF[params.oneOf("timeInForce", ["GTC", "IOC", "FOK"], errors.invalidTif)]
      : runsAs === OrderType.Market
        ? TimeInForce.IOC
        : TimeInForce.GTC;
  const stopPriceTicks = readStopPrice(params, m, type);
  const quantity = params.optional("quantity");
  const quoteOrderQty = type === OrderType.Market ? params.optional("quoteOrderQty") : undefined;
  if (type === OrderType.Market && (quantity === undefined) === (quoteOrderQty === undefined)) {
    throw new ApiError(
      400,
      -1102,
      "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
    );
  }
  if (type !== OrderType.Market && quantity === undefined) throw errors.mandatory("quantity");
  const priceTicks =
    runsAs === OrderType.Market ? 0 : field("price", () => priceToTicks(m, params.required("price")));
  const qtyLots = quantity === undefined ? 0 : field("quantity", () => quantityToLots(m, quantity));
  const quoteUnits =
    quoteOrderQty === undefined ? 0n : field("quoteOrderQty", () => quoteToUnits(m, quoteOrderQty));
  const clientOrderId = newClientOrderId(params);
  const defaultResp: RespType = type === OrderType.LimitMaker ? "ACK" : "FULL";
  const respType = params.oneOf(
    "newOrderRespType",
    ["ACK", "RESULT", "FULL"],
    () => errors.invalidValue("newOrderRespType"),
    defaultResp,
  );
  const stp =
    STP[
      params.oneOf(
        "selfTradePreventionMode",
        Object.keys(STP) as (keyof typeof STP)[],
        () => errors.invalidValue("selfTradePreventionMode"),
        "NONE",
      )
    ];
  return {
    market: m,
    order: {
      kind: "place",
      userId,
      symbol: m.symbol,
      clientOrderId,
      side,
      type,
      tif,
      priceTicks,
      qtyLots,
      quoteUnits,
      stp,
      time,
      ...(stopPriceTicks === undefined ? {} : { stopPriceTicks }),
    },
    respType,
  };
}

/** A triggered order's `stopPrice` (required), in ticks; no other order takes one, nor `trailingDelta`. */
function readStopPrice(params: Params, m: Market, type: OrderType): number | undefined {
  if (params.optional("trailingDelta") !== undefined) throw errors.noTrailingStop();
  const stopPrice = params.optional("stopPrice");
  if (stopPrice !== undefined && !isTriggered(type)) throw errors.notRequired("stopPrice");
  if (stopPrice === undefined && isTriggered(type)) throw errors.mandatory("stopPrice");
  return stopPrice === undefined ? undefined : field("stopPrice", () => priceToTicks(m, stopPrice));
}

/** `newClientOrderId` as sent, or one drawn at random as Binance does. */
export function newClientOrderId(params: Params): string {
  return field("newClientOrderId", () =>
    checkClientOrderId(params.optional("newClientOrderId") ?? `bourse-${randomBytes(11).toString("hex")}`),
  );
}

type Attempt = { ok: true; view: unknown } | { ok: false; error: ApiError };

/**
 * Binance's answer when either half of a cancel-replace failed: each half's result, with the
 * error of a half that failed and the view of one that succeeded (HTTP 409 if one did, else 400).
 */
function cancelReplaceFailure(
  code: number,
  msg: string,
  cancel: Attempt,
  place: Attempt | undefined,
): ApiError {
  const result = (a: Attempt | undefined) =>
    a === undefined ? "NOT_ATTEMPTED" : a.ok ? "SUCCESS" : "FAILURE";
  const response = (a: Attempt | undefined) =>
    a === undefined ? null : a.ok ? a.view : { code: a.error.code, msg: a.error.message };
  return new ApiError(
    cancel.ok || place?.ok ? 409 : 400,
    code,
    msg,
    {},
    {
      data: {
        cancelResult: result(cancel),
        newOrderResult: result(place),
        cancelResponse: response(cancel),
        newOrderResponse: response(place),
      },
    },
  );
}

/** The window of /api/v3/avgPrice, as Binance's. */
const AVG_PRICE_MINUTES = 5;

/** A fee in parts per million as Binance writes a rate: 1000 ppm is "0.00100000". */
function feeRate(ppm: bigint): string {
  return formatUnits(ppm * 100n, 8);
}

function invalidSymbol(): never {
  throw new ApiError(400, -1121, "Invalid symbol.");
}

/** Converts a domain error raised while reading one parameter into that parameter's Binance error. */
export function field<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw toApiError(e, name);
  }
}

/** Runs a change against UBSCore; its errors in Binance's terms, `unknownOrder` for -2013. */
export type Submitter = <T>(run: () => Promise<T>, unknownOrder?: () => ApiError) => Promise<T>;

/**
 * A change that gets no answer within `timeoutMs` (UBSCore busy, or the matching service away)
 * is answered -1007: it was sent and may still happen, as Binance says of its own timeouts.
 */
export function submitter(timeoutMs: number): Submitter {
  return async (run, unknownOrder) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(errors.backendTimeout()), timeoutMs);
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (e) {
      const err = toApiError(e);
      if (unknownOrder && err.code === -2013) throw unknownOrder();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}

interface ValidationFailure extends Error {
  readonly validation: { instancePath: string; message?: string; params: Record<string, unknown> }[];
  readonly validationContext?: string;
}

/** A schema's refusal, naming the field (and an unknown property by its name). */
function validationError(error: ValidationFailure): ApiError {
  const [first] = error.validation;
  if (!first) return new ApiError(400, -1102, error.message);
  const where = `${error.validationContext ?? "body"}${first.instancePath.replaceAll("/", ".")}`;
  const extra = first.params.additionalProperty;
  const msg =
    typeof extra === "string"
      ? `${where}: unknown property '${extra}'.`
      : `${where} ${first.message ?? "is not valid"}.`;
  return new ApiError(400, -1102, msg);
}

/** Every failure, including fastify's own (body too large, bad media type), as a Binance body. */
export function installErrorHandling(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, req, reply: FastifyReply) => {
    let api: ApiError;
    if (error instanceof ApiError) api = error;
    else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") api = errors.tooLarge(maxBodyBytes);
    else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") api = errors.unsupportedMedia();
    else if ((error as { validation?: unknown }).validation)
      api = validationError(error as ValidationFailure);
    else if (error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
      api = new ApiError(400, -1100, `Malformed JSON body: ${error.message}`);
    } else if (error.statusCode && error.statusCode < 500)
      api = new ApiError(error.statusCode, -1000, error.message);
    else {
      req.log.error({ err: error }, "unhandled error");
      api = toApiError(error);
    }
    gatewayMetrics().rejections.inc({ code: api.code });
    void reply
      .status(api.httpStatus)
      .headers(api.headers)
      .send({ code: api.code, msg: api.message, ...api.extra });
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send({ code: -1000, msg: "Not found." });
  });
}

/** Binance wallet endpoints: Funding <-> Spot transfers and Funding balances. */
function fundingRoutes(
  app: FastifyInstance,
  service: UbsCoreView,
  funding: FundingPort,
  auth: RequestAuthenticator,
  clock: () => number,
  submit: Submitter,
  operations: Map<string, Handler>,
): void {
  const core = service.core;
  const api = operationRoutes(app, auth, operations);
  const TYPES = ["MAIN_FUNDING", "FUNDING_MAIN"] as const;
  const typeParam = {
    type: "string",
    enum: TYPES,
    description: "MAIN_FUNDING (Spot -> Funding) or FUNDING_MAIN",
  } as const;

  api.post(
    "/sapi/v1/asset/transfer",
    {
      schema: signedDoc(
        "Transfer between the Funding and Spot (trading) wallets",
        {
          type: typeParam,
          asset: { type: "string", description: "Asset, e.g. USDT" },
          amount: { type: "string", description: "Amount (decimal)" },
          clientTranId: { type: "string", description: "Idempotency key: a retry returns the same transfer" },
        },
        ["type", "asset", "amount"],
        true,
      ),
    },
    async (call) => {
      const { key, params, once } = call.signed();
      const type = params.oneOf("type", TYPES, () => errors.invalidValue("type"));
      const symbol = params.required("asset");
      const asset = core.exchange.asset(symbol) ?? errors.invalidValue("asset").throwSelf();
      const amount = field("amount", () => parseUnits(params.required("amount"), asset.decimals, "amount"));
      // Without a client id, the request's signature is the id: a replayed request is the same
      // transfer (the saga answers it again), never a second one.
      const clientTranId = field("clientTranId", () =>
        checkClientOrderId(
          params.optional("clientTranId") ?? `sig-${Buffer.from(once.signature).toString("hex", 0, 16)}`,
        ),
      );
      params.done();
      const record = await submit(() =>
        funding.transfer({
          userId: key.userId,
          type,
          asset: asset.symbol,
          amount,
          clientTranId,
          time: clock(),
        }),
      );
      if (record.state === "ROLLED_BACK") {
        throw new ApiError(400, -5013, `Asset transfer failed: ${record.reason ?? "refused"}`);
      }
      return { tranId: record.seq };
    },
  );

  api.get(
    "/sapi/v1/asset/transfer",
    {
      schema: signedDoc(
        "Transfer history of one type",
        {
          type: typeParam,
          startTime: d.timestamp,
          endTime: d.timestamp,
          current: d.limit,
          size: d.limit,
        },
        ["type"],
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const type = params.oneOf("type", TYPES, () => errors.invalidValue("type"));
      const startTime = params.optionalInt("startTime") ?? 0;
      const endTime = params.optionalInt("endTime") ?? Number.MAX_SAFE_INTEGER;
      const current = params.optionalInt("current", 1) ?? 1;
      const size = params.optionalInt("size", 1, 100) ?? 10;
      params.done();
      const rows = (await funding.history(key.userId, type))
        .filter((r) => r.time >= startTime && r.time <= endTime)
        .reverse();
      return {
        total: rows.length,
        rows: rows.slice((current - 1) * size, current * size).map((r) => {
          const asset = core.exchange.asset(r.asset)!;
          return {
            asset: r.asset,
            amount: formatUnits(r.amount, asset.decimals),
            type: r.type,
            status: r.state === "COMMITTED" ? "CONFIRMED" : r.state === "ROLLED_BACK" ? "FAILED" : "PENDING",
            tranId: r.seq,
            timestamp: r.time,
          };
        }),
      };
    },
  );

  // No maintenance mode: a halted market is shown as such in exchangeInfo, not here.
  api.get("/sapi/v1/system/status", { schema: publicDoc("System status (0: normal)") }, async () => ({
    status: 0,
    msg: "normal",
  }));

  api.get(
    "/sapi/v1/asset/tradeFee",
    { schema: signedDoc("Maker and taker commission rates per market", { symbol: d.symbol }, []) },
    async (call) => {
      const { params } = call.signed();
      const symbol = params.optional("symbol");
      params.done();
      const markets = symbol ? [core.exchange.market(symbol) ?? invalidSymbol()] : core.exchange.markets;
      return markets.map((m) => ({
        symbol: m.symbol,
        makerCommission: feeRate(m.makerFeePpm),
        takerCommission: feeRate(m.takerFeePpm),
      }));
    },
  );

  api.post(
    "/sapi/v3/asset/getUserAsset",
    {
      schema: signedDoc(
        "Spot (trading) balances, those above zero",
        {
          asset: { type: "string", description: "One asset only" },
          needBtcValuation: { type: "string", description: "Accepted; valuations are 0" },
        },
        [],
        true,
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const only = params.optional("asset");
      params.optional("needBtcValuation");
      params.done();
      const balances = core.balancesOf(key.userId);
      return core.exchange.assets
        .filter((a) => (only === undefined ? true : a.symbol === only))
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
  );

  api.post(
    "/sapi/v1/asset/get-funding-asset",
    {
      schema: signedDoc(
        "Funding wallet balances",
        { asset: { type: "string", description: "One asset only" } },
        [],
        true,
      ),
    },
    async (call) => {
      const { key, params } = call.signed();
      const only = params.optional("asset");
      params.done();
      const balances = await funding.balances(key.userId);
      return balances
        .filter((b) => (only === undefined ? b.free + b.locked > 0n : b.asset === only))
        .map((b) => {
          const decimals = core.exchange.asset(b.asset)!.decimals;
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
  );
}
