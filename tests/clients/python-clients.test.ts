import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { TestClient } from "../api/client.ts";
import { pythonEnv } from "../infra/python-tools.ts";
import { type ClientsExchange, type KeyType, onEachLayout } from "./exchange.ts";

/**
 * Binance's Python clients (from PyPI, each in a virtualenv of its own), unchanged but for their
 * base URL, against each layout over real HTTP: every spot call each offers that Bourse serves,
 * then the money checked to the unit. In the multi-process layout the seller goes through one
 * gateway, the buyer and the public calls through the other.
 */
const run = promisify(execFile);

interface Line {
  readonly call: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly status?: number;
  readonly code?: number;
  readonly msg?: string;
}

/** A Python client: its virtualenv, its script, and the names its script gives the calls checked below. */
interface PythonClient {
  readonly name: string;
  readonly requirement: string;
  readonly script: string;
  readonly calls: number;
  readonly taker: string;
  readonly cancel: string;
  readonly after: (who: "seller" | "buyer") => string;
  /** The users' key type (HMAC unless said). */
  readonly keyType?: KeyType;
  /** Calls whose answers after the one trade (0.01 BTC at 60,000) are checked field by field. */
  readonly marketData?: Record<string, object>;
}

/** The seller's user socket over the trade: its order accepted, then half of it filled. */
const USER_SOCKET = {
  user_socket: [
    { e: "executionReport", x: "NEW", X: "NEW", c: "pb-ws-sell-1", q: "0.02000000" },
    { e: "outboundAccountPosition", B: [{ a: "BTC", f: "0.98000000", l: "0.02000000" }, { a: "USDT" }] },
    { e: "executionReport", x: "TRADE", X: "PARTIALLY_FILLED", l: "0.01000000", L: "60000.00000000" },
    { e: "outboundAccountPosition", B: [{ a: "BTC", f: "0.98000000", l: "0.01000000" }, { a: "USDT" }] },
  ],
};

/** binance-connector's REST client: every call, the market data after the one trade checked. */
const CONNECTOR: PythonClient = {
  name: "binance-connector (Binance's official Python connector)",
  requirement: "binance-connector==3.13.0",
  script: "binance_connector.py",
  calls: 59,
  taker: "new_order (buyer, LIMIT IOC, takes half)",
  cancel: "cancel_order",
  after: (who) => `account (${who}, after)`,
  marketData: {
    agg_trades: [{ p: "60000.00000000", q: "0.01000000", m: false }],
    avg_price: { mins: 5, price: "60000.00000000" },
    "ticker_24hr (symbols)": [
      { symbol: "BTCUSDT", lastPrice: "60000.00000000", lastQty: "0.01000000" },
      { symbol: "ETHUSDT" },
    ],
    rolling_window_ticker: {
      symbol: "BTCUSDT",
      lastPrice: "60000.00000000",
      volume: "0.01000000",
      count: 1,
    },
    "rolling_window_ticker (symbols, MINI)": [
      { symbol: "BTCUSDT", lastPrice: "60000.00000000" },
      { symbol: "ETHUSDT", count: 0 },
    ],
    trading_day_ticker: { symbol: "BTCUSDT", quoteVolume: "600.00000000" },
    system_status: { status: 0, msg: "normal" },
    historical_trades: [{ price: "60000.00000000", qty: "0.01000000", isBuyerMaker: false }],
    "ticker_24hr (MINI)": { symbol: "BTCUSDT", lastPrice: "60000.00000000", count: 1 },
    // The seller placed two orders (one test order counts nothing), as Binance counts them.
    get_order_rate_limit: [
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, count: 1 },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, count: 1 },
    ],
    user_asset: [{ asset: "BTC", free: "0.98000000", locked: "0.01000000" }],
    new_order_test: { standardCommissionForOrder: { maker: "0.00100000", taker: "0.00100000" } },
    trade_fee: [{ symbol: "BTCUSDT", makerCommission: "0.00100000", takerCommission: "0.00100000" }],
    query_commission_rates: {
      symbol: "BTCUSDT",
      standardCommission: { maker: "0.00100000", taker: "0.00100000" },
    },
    // An OCO around the last price (60,000): placed, listed, cancelled whole.
    "new_oco_order (seller)": {
      contingencyType: "OCO",
      listOrderStatus: "EXECUTING",
      listClientOrderId: "connector-oco-1",
      orderReports: [
        { type: "STOP_LOSS_LIMIT", stopPrice: "58000.00000000", price: "57900.00000000", status: "NEW" },
        { type: "LIMIT_MAKER", price: "62000.00000000", status: "NEW" },
      ],
    },
    get_oco_order: { listClientOrderId: "connector-oco-1", listStatusType: "EXEC_STARTED" },
    get_oco_open_orders: [{ listClientOrderId: "connector-oco-1" }],
    cancel_oco_order: {
      listOrderStatus: "ALL_DONE",
      orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }],
    },
    get_oco_orders: [{ listClientOrderId: "connector-oco-1", listOrderStatus: "ALL_DONE" }],
    // An OTO and an OTOCO whose working SELL rests: the pending orders wait (PENDING_NEW), reserving nothing.
    new_oto_order: {
      contingencyType: "OTO",
      listClientOrderId: "connector-oto-1",
      orderReports: [
        { type: "LIMIT", side: "SELL", price: "65000.00000000", status: "NEW" },
        { type: "LIMIT_MAKER", side: "BUY", price: "50000.00000000", status: "PENDING_NEW", workingTime: -1 },
      ],
    },
    "cancel_oco_order (the OTO)": {
      contingencyType: "OTO",
      listOrderStatus: "ALL_DONE",
      orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }],
    },
    new_otoco_order: {
      contingencyType: "OTO",
      listClientOrderId: "connector-otoco-1",
      orderReports: [
        { status: "NEW" },
        { type: "STOP_LOSS_LIMIT", stopPrice: "61000.00000000", status: "PENDING_NEW" },
        { type: "LIMIT_MAKER", price: "55000.00000000", status: "PENDING_NEW" },
      ],
    },
    "cancel_oco_order (the OTOCO)": {
      listOrderStatus: "ALL_DONE",
      orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }, { status: "CANCELED" }],
    },
    "new_order (seller, meets itself, EXPIRE_TAKER)": {
      status: "EXPIRED_IN_MATCH",
      executedQty: "0.00000000",
    },
    query_prevented_matches: [
      {
        symbol: "BTCUSDT",
        selfTradePreventionMode: "EXPIRE_TAKER",
        price: "63000.00000000",
        makerPreventedQuantity: "0.00100000",
      },
    ],
    "exchange_info (permissions)": {
      symbols: expect.arrayContaining([expect.objectContaining({ symbol: "BTCUSDT" })]),
    },
  },
};

const PYTHON_BINANCE_WS: PythonClient = {
  name: "python-binance's WebSocket API calls and user socket",
  requirement: "python-binance==1.0.37",
  script: "python_binance_ws.py",
  calls: 33,
  taker: "ws_order_limit_buy (IOC, takes half)",
  cancel: "ws_cancel_order",
  after: (who) => `ws_get_account (${who}, after)`,
  marketData: {
    ...USER_SOCKET,
    ws_create_oto_order: {
      contingencyType: "OTO",
      orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }],
    },
    ws_create_otoco_order: {
      contingencyType: "OTO",
      orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }, { status: "PENDING_NEW" }],
    },
  },
};

const CLIENTS: PythonClient[] = [
  CONNECTOR,
  // After the first run, the market's figures count two trades: those checks are the first run's.
  { ...CONNECTOR, name: `${CONNECTOR.name}, Ed25519 keys`, keyType: "ED25519", marketData: undefined },
  {
    name: "binance-connector's WebSocket API client",
    requirement: "binance-connector==3.13.0",
    script: "binance_connector_ws.py",
    calls: 42,
    taker: "new_order (buyer, LIMIT IOC, takes half)",
    cancel: "cancel_order",
    after: (who) => `account (${who}, after)`,
    marketData: {
      avg_price: { mins: 5, price: "60000.00000000" },
      ticker: { symbol: "BTCUSDT", lastPrice: "60000.00000000" },
      ticker_price: { symbol: "BTCUSDT", price: "60000.00000000" },
      cancel_replace_order: {
        cancelResult: "SUCCESS",
        newOrderResult: "SUCCESS",
        newOrderResponse: { price: "61500.00000000", status: "NEW" },
      },
      "my_trades (seller)": [{ price: "60000.00000000", qty: "0.01000000", isBuyer: false, isMaker: true }],
      new_oco_order: {
        contingencyType: "OCO",
        listClientOrderId: "connector-ws-oco-1",
        orderReports: [
          { type: "STOP_LOSS_LIMIT", status: "NEW" },
          { type: "LIMIT_MAKER", status: "NEW" },
        ],
      },
      get_oco_order: { listClientOrderId: "connector-ws-oco-1", listOrderStatus: "EXECUTING" },
      get_open_oco_orders: [{ listClientOrderId: "connector-ws-oco-1" }],
      cancel_oco_order: {
        listOrderStatus: "ALL_DONE",
        orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }],
      },
      oco_history: [{ listClientOrderId: "connector-ws-oco-1", listOrderStatus: "ALL_DONE" }],
      new_oto_order: {
        contingencyType: "OTO",
        listClientOrderId: "connector-ws-oto-1",
        orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }],
      },
      "cancel_oco_order (the OTO)": { orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }] },
      new_otoco_order: {
        contingencyType: "OTO",
        orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }, { status: "PENDING_NEW" }],
      },
      "cancel_oco_order (the OTOCO)": {
        listOrderStatus: "ALL_DONE",
        orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }, { status: "CANCELED" }],
      },
    },
  },
  {
    name: "binance-connector's WebSocket stream client (user data and market streams)",
    requirement: "binance-connector==3.13.0",
    script: "binance_connector_streams.py",
    calls: 22,
    taker: "new_order (buyer, LIMIT IOC, takes half)",
    cancel: "cancel_order",
    after: (who) => `account (${who}, after)`,
    marketData: {
      "stream executionReport": [
        { x: "NEW", X: "NEW", c: "connector-stream-sell-1", q: "0.02000000" },
        { x: "TRADE", X: "PARTIALLY_FILLED", l: "0.01000000", L: "60000.00000000" },
        { x: "CANCELED", X: "CANCELED", z: "0.01000000" },
      ],
      "stream trade": [{ s: "BTCUSDT", p: "60000.00000000", q: "0.01000000", m: false }],
      "stream aggTrade": [{ s: "BTCUSDT", p: "60000.00000000", q: "0.01000000", m: false }],
      // One trade, one command: one event on each ticker stream; every market's arrays carry BTCUSDT's.
      "stream 1hTicker": [{ e: "1hTicker", s: "BTCUSDT", c: "60000.00000000" }],
      "stream 4hTicker@arr": [[{ e: "4hTicker", s: "BTCUSDT", c: "60000.00000000" }]],
      "stream 24hrMiniTicker@arr": [[{ e: "24hrMiniTicker", s: "BTCUSDT", c: "60000.00000000" }]],
      "stream 24hrTicker@arr": [[{ e: "24hrTicker", s: "BTCUSDT", c: "60000.00000000" }]],
    },
  },
  PYTHON_BINANCE_WS,
  { ...PYTHON_BINANCE_WS, name: `${PYTHON_BINANCE_WS.name}, Ed25519 keys`, keyType: "ED25519" },
  {
    name: "python-binance",
    requirement: "python-binance==1.0.37",
    script: "python_binance.py",
    calls: 36,
    taker: "order_limit_buy (IOC, takes half)",
    cancel: "cancel_order",
    after: (who) => `get_account (${who}, after)`,
    // An OCO around the last price (60,000), under the list client id the client draws itself.
    marketData: {
      create_oco_order: {
        contingencyType: "OCO",
        listOrderStatus: "EXECUTING",
        orderReports: [
          { type: "STOP_LOSS", stopPrice: "58000.00000000", status: "NEW" },
          { type: "LIMIT_MAKER", price: "62000.00000000", status: "NEW" },
        ],
      },
      get_open_oco_orders: [{ contingencyType: "OCO", listOrderStatus: "EXECUTING" }],
      v3_get_order_list: { listStatusType: "EXEC_STARTED" },
      v3_delete_order_list: {
        listOrderStatus: "ALL_DONE",
        orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }],
      },
      v3_get_all_order_list: [{ listOrderStatus: "ALL_DONE" }],
      v3_post_order_list_oto: {
        contingencyType: "OTO",
        orderReports: [
          { side: "SELL", status: "NEW" },
          { side: "BUY", status: "PENDING_NEW" },
        ],
      },
      "v3_delete_order_list (the OTO)": {
        listOrderStatus: "ALL_DONE",
        orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }],
      },
    },
  },
];

const envOf = (client: PythonClient) =>
  pythonEnv(client.requirement.replace("==", "-"), [client.requirement]);

async function runClient(
  exchange: ClientsExchange,
  client: PythonClient,
): Promise<Map<string, Record<string, unknown>>> {
  const bin = await envOf(client);
  const seller = await exchange.fundedUser({ BTC: "1" }, client.keyType);
  const buyer = await exchange.fundedUser({ USDT: "10000" }, client.keyType);
  const { stdout } = await run(
    join(bin, "python"),
    [
      join(import.meta.dirname, client.script),
      exchange.tradingUrl,
      exchange.otherUrl,
      seller.apiKey,
      seller.secretKey,
      buyer.apiKey,
      buyer.secretKey,
    ],
    { timeout: 120_000 },
  );
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
  const failed = lines.filter((l) => !l.ok);
  expect(failed, JSON.stringify(failed)).toEqual([]);
  expect(lines).toHaveLength(client.calls);
  return new Map(lines.map((l) => [l.call, l.result as Record<string, unknown>]));
}

beforeAll(async () => {
  for (const client of CLIENTS) await envOf(client);
});

onEachLayout("Binance's Python clients, unchanged but for the base URL", (layout) => {
  for (const client of CLIENTS) {
    it(`${client.name}: every call it offers that Bourse serves, one trade, every unit accounted for`, async () => {
      const exchange = layout();
      const before = await exchange.totals();
      const byCall = await runClient(exchange, client);
      expect(byCall.get(client.taker)).toMatchObject({
        status: "FILLED",
        executedQty: "0.01000000",
        cummulativeQuoteQty: "600.00000000",
      });
      expect(byCall.get(client.cancel)).toMatchObject({ status: "CANCELED", executedQty: "0.01000000" });
      for (const [call, expected] of Object.entries(client.marketData ?? {}))
        expect(byCall.get(call), call).toMatchObject(expected);
      // To the unit: what each holds, and no asset's total moved but by the deposits.
      const balance = (who: "seller" | "buyer", asset: string) =>
        (byCall.get(client.after(who))!.balances as { asset: string; free: string; locked: string }[]).find(
          (b) => b.asset === asset,
        );
      expect(balance("seller", "BTC")).toEqual({ asset: "BTC", free: "0.99000000", locked: "0.00000000" });
      // The buyer's 0.1% fee out of the BTC it received, as on Binance.
      expect(balance("buyer", "BTC")).toEqual({ asset: "BTC", free: "0.00999000", locked: "0.00000000" });
      await exchange.expectConserved(before, { BTC: 10n ** 8n, USDT: 10_000n * 10n ** 8n });
    });
  }

  it("takes an empty body of any declared type, as Binance does, and refuses a body it would not read", async () => {
    const exchange = layout();
    const seller = new TestClient(exchange.tradingUrl, await exchange.fundedUser({ BTC: "1" }));
    const order = {
      symbol: "BTCUSDT",
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "70000",
    };
    const json = { "content-type": "application/json;charset=utf-8" };
    const withBody = await fetch(`${exchange.tradingUrl}/api/v3/order`, {
      method: "POST",
      headers: { ...json, "X-MBX-APIKEY": seller.credentials!.apiKey },
      body: JSON.stringify(order),
    });
    expect(withBody.status).toBe(415);
    expect(await withBody.json()).toMatchObject({ code: -1000 });
    const { body: open } = await seller.signed<unknown[]>("GET", "/api/v3/openOrders", {
      symbol: "BTCUSDT",
    });
    expect(open).toEqual([]);
  });
});
