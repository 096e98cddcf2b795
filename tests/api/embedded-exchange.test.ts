import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { ENDPOINTS, sign } from "../../components/gateway/src/index.ts";
import { moneyTotals } from "../support/money.ts";
import { adminRequest, newUser as createUser } from "../support/operator-api.ts";
import { ccxtBinance, limitOrder, TestClient } from "./client.ts";

/**
 * The embedded exchange over real HTTP: the trading API in Binance conventions, the operator API,
 * durability across a restart, every class of bad input, and an off-the-shelf Binance client.
 */
const ADMIN_TOKEN = "test-operator-token-0123456789";
let dataDir: string;
let exchange: EmbeddedExchange;
let alice: TestClient;
let bob: TestClient;
let publicApi: TestClient;

async function start(): Promise<void> {
  const config = await loadConfig({
    overrides: {
      dataDir,
      demo: false,
      verify: true,
      gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN },
    },
  });
  exchange = await startEmbeddedExchange(config, false);
  publicApi = new TestClient(exchange.tradingUrl);
}

const admin = <T>(path: string, body: unknown, token = ADMIN_TOKEN) =>
  adminRequest<T>({ adminUrl: exchange.adminUrl, token }, "POST", path, body);
const newUser = (deposits: Record<string, string>) =>
  createUser({ adminUrl: exchange.adminUrl, tradingUrl: exchange.tradingUrl, token: ADMIN_TOKEN }, deposits);

type Balances = Record<string, { free: string; locked: string }>;
async function balances(client: TestClient): Promise<Balances> {
  const { body } = await client.signed<{ balances: { asset: string; free: string; locked: string }[] }>(
    "GET",
    "/api/v3/account",
  );
  return Object.fromEntries(body.balances.map((b) => [b.asset, { free: b.free, locked: b.locked }]));
}

/** Every unit of each asset is somewhere (tests/support/money.ts): the sums are what was deposited. */
async function expectConserved(deposited: Record<string, bigint>): Promise<void> {
  const expected: bigint[] = [];
  for (const a of exchange.service.core.exchange.assets) expected[a.id - 1] = deposited[a.symbol] ?? 0n;
  expect(await moneyTotals(exchange)).toEqual(expected);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "bourse-api-"));
  await start();
  alice = await newUser({ USDT: "100000" });
  bob = await newUser({ BTC: "1" });
});

afterAll(async () => {
  await exchange.close();
});

/** What the beforeAll deposits, in units: alice's USDT and bob's BTC. */
const deposited = { USDT: 100_000n * 10n ** 8n, BTC: 10n ** 8n };

describe("trading flow", () => {
  it("rests, fills at the maker's price with fees, and cancels: balances exact to the unit", async () => {
    const sell = await bob.signed<{ orderId: number; status: string }>("POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.5",
      price: "60000",
      newClientOrderId: "bob-1",
    });
    expect(sell.status).toBe(200);
    expect(sell.body.status).toBe("NEW");
    expect((await balances(bob)).BTC).toEqual({ free: "0.50000000", locked: "0.50000000" });
    await expectConserved(deposited);

    const depth = await publicApi.public<{ asks: string[][]; lastUpdateId: number }>("/api/v3/depth", {
      symbol: "BTCUSDT",
    });
    expect(depth.body.asks).toEqual([["60000.00000000", "0.50000000"]]);

    const buy = await alice.signed<{
      status: string;
      fills: { price: string; qty: string; commission: string; commissionAsset: string }[];
    }>("POST", "/api/v3/order", limitOrder("BUY", "0.2", "61000"));
    expect(buy.body.status).toBe("FILLED");
    expect(buy.body.fills).toEqual([
      expect.objectContaining({
        price: "60000.00000000",
        qty: "0.20000000",
        commission: "0.00020000",
        commissionAsset: "BTC",
      }),
    ]);
    // 0.2 BTC at 60,000 = 12,000 USDT, the rest of the 61,000 reservation released; the 0.1%
    // taker fee comes out of the BTC received, as on Binance.
    expect(await balances(alice)).toMatchObject({
      USDT: { free: "88000.00000000", locked: "0.00000000" },
      BTC: { free: "0.19980000", locked: "0.00000000" },
    });
    expect(await balances(bob)).toMatchObject({
      USDT: { free: "11988.00000000", locked: "0.00000000" },
      BTC: { free: "0.50000000", locked: "0.30000000" },
    });
    await expectConserved(deposited);

    const cancel = await bob.signed<{ status: string; executedQty: string }>("DELETE", "/api/v3/order", {
      symbol: "BTCUSDT",
      origClientOrderId: "bob-1",
    });
    expect(cancel.body).toMatchObject({ status: "CANCELED", executedQty: "0.20000000" });
    expect((await balances(bob)).BTC).toEqual({ free: "0.80000000", locked: "0.00000000" });
    await expectConserved(deposited);

    const trades = await alice.signed<
      { price: string; commission: string; commissionAsset: string; isBuyer: boolean }[]
    >("GET", "/api/v3/myTrades", {
      symbol: "BTCUSDT",
    });
    expect(trades.body).toEqual([
      expect.objectContaining({
        price: "60000.00000000",
        commission: "0.00020000",
        commissionAsset: "BTC",
        isBuyer: true,
      }),
    ]);
    const order = await bob.signed<{ status: string }>("GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      origClientOrderId: "bob-1",
    });
    expect(order.body.status).toBe("CANCELED");
  });
});

describe("durability", () => {
  it("keeps every acknowledged order, balance and trade across a restart", async () => {
    await bob.signed("POST", "/api/v3/order", limitOrder("SELL", "0.1", "65000"));
    const before = {
      alice: await balances(alice),
      bob: await balances(bob),
      open: (await bob.signed("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body,
      all: (await alice.signed("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" })).body,
      trades: (await publicApi.public("/api/v3/trades", { symbol: "BTCUSDT" })).body,
      depth: (await publicApi.public("/api/v3/depth", { symbol: "BTCUSDT" })).body,
    };
    await exchange.close();
    await start();
    alice = new TestClient(exchange.tradingUrl, alice.credentials);
    bob = new TestClient(exchange.tradingUrl, bob.credentials);
    expect({
      alice: await balances(alice),
      bob: await balances(bob),
      open: (await bob.signed("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body,
      all: (await alice.signed("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" })).body,
      trades: (await publicApi.public("/api/v3/trades", { symbol: "BTCUSDT" })).body,
      depth: (await publicApi.public("/api/v3/depth", { symbol: "BTCUSDT" })).body,
    }).toEqual(before);
    await expectConserved(deposited);
  });
});

const order = limitOrder("BUY", "0.01", "50000");
/** Alice's order with `changes`. */
const placing = (changes: Record<string, string>) => () =>
  alice.signed("POST", "/api/v3/order", { ...order, ...changes });
/** Each bad request, what it must get (HTTP status, Binance code, message) and change: nothing. */
const cases: [string, () => Promise<{ status: number; body: unknown }>, number, number, RegExp?][] = [
  ["malformed quantity", placing({ quantity: "abc" }), 400, -1100],
  ["excess precision", placing({ quantity: "0.000000001" }), 400, -1111],
  ["price off the tick", placing({ price: "50000.001" }), 400, -1013, /PRICE_FILTER/],
  ["quantity off the step", placing({ quantity: "0.000015" }), 400, -1013, /LOT_SIZE/],
  ["below min notional", placing({ quantity: "0.00001", price: "100" }), 400, -1013, /NOTIONAL/],
  ["unknown symbol", placing({ symbol: "DOGEUSDT" }), 400, -1121],
  ["unknown symbol (public)", () => publicApi.public("/api/v3/depth", { symbol: "DOGEUSDT" }), 400, -1121],
  ["invalid side", placing({ side: "HOLD" }), 400, -1117],
  ["invalid type", placing({ type: "STOP" }), 400, -1116],
  ["missing price", placing({ price: "" }), 400, -1102],
  ["unknown parameter", placing({ leverage: "10" }), 400, -1104],
  ["insufficient balance", placing({ quantity: "100" }), 400, -2010, /insufficient/],
  [
    "bad signature",
    () => alice.signed("POST", "/api/v3/order", order, { tamper: (p) => p.replace("0.01", "0.02") }),
    400,
    -1022,
  ],
  [
    "stale timestamp",
    () => alice.signed("POST", "/api/v3/order", order, { timestamp: Date.now() - 60_000 }),
    400,
    -1021,
  ],
  [
    "future timestamp",
    () => alice.signed("POST", "/api/v3/order", order, { timestamp: Date.now() + 5_000 }),
    400,
    -1021,
  ],
  [
    "missing signature",
    () =>
      alice.raw(
        "POST",
        "/api/v3/order",
        new URLSearchParams({ ...order, timestamp: `${Date.now()}` }).toString(),
      ),
    400,
    -1102,
  ],
  [
    "unknown API key",
    () =>
      new TestClient(exchange.tradingUrl, { apiKey: "nope", secretKey: "x" }).signed(
        "GET",
        "/api/v3/account",
      ),
    401,
    -2015,
  ],
  [
    "JSON instead of a form",
    () => alice.raw("POST", "/api/v3/order", "{}", { "content-type": "application/json" }),
    415,
    -1000,
  ],
  ["oversized body", () => alice.raw("POST", "/api/v3/order", `a=${"x".repeat(70_000)}`), 413, -1000],
  [
    "unknown order",
    () => alice.signed("GET", "/api/v3/order", { symbol: "BTCUSDT", orderId: 999_999 }),
    400,
    -2013,
  ],
  [
    "cancel of an unknown order",
    () => alice.signed("DELETE", "/api/v3/order", { symbol: "BTCUSDT", orderId: 999_999 }),
    400,
    -2011,
  ],
];

describe("bad input gets a precise Binance error and changes nothing", () => {
  it.each(cases)("%s", async (_name, send, status, code, msg) => {
    const before = {
      a: await balances(alice),
      orders: (await alice.signed("GET", "/api/v3/openOrders")).body,
    };
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ code });
    if (msg) expect((reply.body as { msg: string }).msg).toMatch(msg);
    expect({
      a: await balances(alice),
      orders: (await alice.signed("GET", "/api/v3/openOrders")).body,
    }).toEqual(before);
  });

  it("refuses a replayed signed request and a duplicate open client order id", async () => {
    const payload = new URLSearchParams({
      ...order,
      newClientOrderId: "dup",
      timestamp: `${Date.now()}`,
    }).toString();
    const { sign } = await import("../../components/gateway/src/index.ts");
    const signed = `${payload}&signature=${sign(alice.credentials!.secretKey, payload)}`;
    expect((await alice.raw("POST", "/api/v3/order", signed)).status).toBe(200);
    expect((await alice.raw("POST", "/api/v3/order", signed)).body).toMatchObject({
      code: -1021,
      msg: /already received/,
    });
    expect(
      (await alice.signed("POST", "/api/v3/order", { ...order, newClientOrderId: "dup" })).body,
    ).toMatchObject({
      code: -2010,
      msg: "Duplicate order sent.",
    });
    await alice.signed("DELETE", "/api/v3/order", { symbol: "BTCUSDT", origClientOrderId: "dup" });
  });

  it("keeps the operator API closed to trading keys and wrong tokens", async () => {
    const res = await admin(
      "/admin/v1/deposits",
      { userId: 1, asset: "USDT", amount: "1" },
      alice.credentials!.apiKey,
    );
    expect(res.status).toBe(401);
    const bad = await admin("/admin/v1/deposits", { userId: 1, asset: "USDT", amount: "1.123456789" });
    expect(bad).toMatchObject({ status: 400, body: { code: -1111 } });
  });
});

describe("an off-the-shelf Binance client (ccxt)", () => {
  it("loads markets, reads balances and the book, places, queries and cancels orders, lists trades", async () => {
    const client = ccxtBinance(alice.credentials!, exchange.tradingUrl);
    const markets = await client.loadMarkets();
    expect(Object.keys(markets)).toEqual(expect.arrayContaining(["BTC/USDT", "ETH/USDT"]));
    expect(markets["BTC/USDT"]!.precision.price).toBe(0.01);
    const balance = await client.fetchBalance();
    expect((balance.total as unknown as Record<string, number>).USDT).toBeGreaterThan(80_000);
    const book = await client.fetchOrderBook("BTC/USDT");
    expect(book.asks[0]).toEqual([65000, 0.1]);
    const resting = await client.createLimitBuyOrder("BTC/USDT", 0.01, 59000);
    expect(resting.status).toBe("open");
    expect((await client.fetchOrder(resting.id!, "BTC/USDT")).amount).toBe(0.01);
    expect(await client.fetchOpenOrders("BTC/USDT")).toHaveLength(1);
    expect((await client.cancelOrder(resting.id!, "BTC/USDT")).status).toBe("canceled");
    const taken = await client.createMarketBuyOrder("BTC/USDT", 0.05);
    expect(taken.status).toBe("closed");
    expect(taken.filled).toBe(0.05);
    const trades = await client.fetchMyTrades("BTC/USDT");
    expect(trades.at(-1)).toMatchObject({ price: 65000, amount: 0.05, side: "buy" });
    // Funding <-> Spot with the client's own transfer call.
    const moved = await client.transfer("USDT", 25, "spot", "funding");
    expect(moved.id).toBeTruthy();
    const back = await client.transfer("USDT", 5, "funding", "spot");
    expect(back.id).toBeTruthy();
    const funding = await alice.signed<{ asset: string; free: string }[]>(
      "POST",
      "/sapi/v1/asset/get-funding-asset",
      {
        asset: "USDT",
      },
    );
    expect(funding.body).toEqual([expect.objectContaining({ asset: "USDT", free: "20.00000000" })]);
  });
});

describe("exchangeInfo's filters", () => {
  type Info = { symbols: { symbol: string; status: string; permissionSets: string[][] }[] };
  const info = (query: Record<string, string>) => alice.public<Info>("/api/v3/exchangeInfo", query);
  const names = (reply: { body: Info }) => reply.body.symbols.map((m) => m.symbol);

  it("selects by symbolStatus and permissions, hides permission sets, and refuses bad combinations", async () => {
    const all = names(await info({}));
    expect(all.length).toBeGreaterThan(1);
    await admin("/admin/v1/markets/ETHUSDT/halt", {});
    try {
      expect(names(await info({ symbolStatus: "HALT" }))).toEqual(["ETHUSDT"]);
      expect(names(await info({ symbolStatus: "TRADING" }))).toEqual(all.filter((m) => m !== "ETHUSDT"));
    } finally {
      await admin("/admin/v1/markets/ETHUSDT/resume", {});
    }
    expect(names(await info({ symbolStatus: "BREAK" }))).toEqual([]);
    expect(names(await info({ permissions: "SPOT" }))).toEqual(all);
    expect(names(await info({ permissions: '["MARGIN","SPOT"]' }))).toEqual(all);
    expect(names(await info({ permissions: "MARGIN" }))).toEqual([]);
    const hidden = await info({ symbol: "BTCUSDT", showPermissionSets: "false" });
    expect(hidden.body.symbols[0]!.permissionSets).toEqual([]);
    expect((await info({ symbol: "BTCUSDT" })).body.symbols[0]!.permissionSets).toEqual([["SPOT"]]);
    const refusals = [
      [{ symbolStatus: "OPEN" }, -1122, "Invalid symbolStatus."],
      [{ symbol: "BTCUSDT", symbolStatus: "TRADING" }, -1128, "Combination of optional parameters invalid."],
      [{ symbols: '["BTCUSDT"]', permissions: "SPOT" }, -1128, "Combination of optional parameters invalid."],
      [{ permissions: '["SPOT","SPOT"]' }, -1101, "Duplicate values for parameter 'permissions'."],
      [{ permissions: "[spot" }, -1130, "Data sent for parameter 'permissions' is not valid."],
      [{ showPermissionSets: "yes" }, -1130, "Data sent for parameter 'showPermissionSets' is not valid."],
    ] as const;
    for (const [query, code, msg] of refusals) {
      expect(await info(query)).toMatchObject({ status: 400, body: { code, msg } });
    }
  });
});

describe("OpenAPI", () => {
  it("documents exactly the declared endpoints, each with its parameters, and serves a browsable UI", async () => {
    type Operation = {
      parameters?: { name: string; required?: boolean }[];
      requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
      responses: Record<string, unknown>;
    };
    const doc = (await (await fetch(`${exchange.tradingUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Every route in the document is declared (so its weight is the declaration's), and back.
    expect(documented.sort()).toEqual(ENDPOINTS.map((e) => `${e.method} ${e.path}`).sort());
    for (const spec of ENDPOINTS) {
      const op = doc.paths[spec.path]![spec.method.toLowerCase()]!;
      const names = op.requestBody
        ? Object.keys(op.requestBody.content["application/x-www-form-urlencoded"]!.schema.properties)
        : (op.parameters ?? []).map((p) => p.name);
      expect(names, `${spec.method} ${spec.path}`).toEqual(expect.arrayContaining(Object.keys(spec.params)));
      expect(Object.keys(op.responses), spec.path).toEqual(["200", "default"]);
    }
    const ui = await fetch(`${exchange.tradingUrl}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain("swagger");
    const admin = (await (await fetch(`${exchange.adminUrl}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(admin.paths).toHaveProperty(["/admin/v1/deposits"]);
  });
});

describe("withdrawals (two-phase)", () => {
  it("holds funds, then completes once or cancels, with conflicts and bad ids reported", async () => {
    const user = await newUser({ USDT: "1000" });
    const userId = (await user.signed<{ uid: number }>("GET", "/api/v3/account")).body.uid;
    const hold = await admin<{ withdrawalId: string; status: string }>("/admin/v1/withdrawals", {
      userId,
      asset: "USDT",
      amount: "400",
    });
    expect(hold).toMatchObject({ status: 201, body: { status: "HELD" } });
    expect((await balances(user)).USDT).toEqual({ free: "600.00000000", locked: "400.00000000" });
    const complete = await admin(`/admin/v1/withdrawals/${hold.body.withdrawalId}/complete`, {});
    expect(complete).toMatchObject({ status: 200, body: { status: "COMPLETED" } });
    expect((await balances(user)).USDT).toEqual({ free: "600.00000000", locked: "0.00000000" });
    // Completing again changes nothing; cancelling a completed withdrawal is a conflict.
    expect((await admin(`/admin/v1/withdrawals/${hold.body.withdrawalId}/complete`, {})).status).toBe(200);
    expect((await admin(`/admin/v1/withdrawals/${hold.body.withdrawalId}/cancel`, {})).status).toBe(409);
    expect((await balances(user)).USDT).toEqual({ free: "600.00000000", locked: "0.00000000" });

    const second = await admin<{ withdrawalId: string }>("/admin/v1/withdrawals", {
      userId,
      asset: "USDT",
      amount: "100",
    });
    await admin(`/admin/v1/withdrawals/${second.body.withdrawalId}/cancel`, {});
    expect((await balances(user)).USDT).toEqual({ free: "600.00000000", locked: "0.00000000" });
    expect(
      (await admin("/admin/v1/withdrawals", { userId, asset: "USDT", amount: "600.00000001" })).body,
    ).toMatchObject({
      code: -2010,
    });
    expect((await admin("/admin/v1/withdrawals/nope/complete", {})).status).toBe(400);
  });
});

describe("settlement into the ledger and reconcile", () => {
  it("reports zero difference after trades, fees, withdrawals and a restart, and finds a tampered unit", async () => {
    const clean = await admin<{ differences: unknown[]; accountsChecked: number }>("/admin/v1/reconcile", {});
    expect(clean.status).toBe(200);
    expect(clean.body.differences).toEqual([]);
    expect(clean.body.accountsChecked).toBeGreaterThan(6);
    expect(exchange.service.core.tradesOf(1).length).toBeGreaterThan(1);

    // One unit moved in the ledger behind UBSCore's back must show up, to the unit.
    const { AccountKind, accountId, TransferKind, transferId, transfer } = await import(
      "../../components/ledger/src/index.ts"
    );
    const aliceId = (await alice.signed<{ uid: number }>("GET", "/api/v3/account")).body.uid;
    const usdt = exchange.service.core.exchange.asset("USDT")!.id;
    await exchange.ledger.createTransfers([
      transfer({
        id: transferId(TransferKind.Deposit, 0xffff, 1, 0),
        debit_account_id: accountId(AccountKind.Deposits, usdt),
        credit_account_id: accountId(AccountKind.Trading, usdt, aliceId),
        amount: 1n,
        ledger: usdt,
        code: 1,
      }),
    ]);
    const dirty = await admin<{
      differences: { userId: number; asset: string; ubscore: string; ledger: string }[];
    }>("/admin/v1/reconcile", {});
    const { parseUnits } = await import("../../components/domain/src/index.ts");
    expect(dirty.body.differences).toHaveLength(1);
    const [diff] = dirty.body.differences;
    expect(diff).toMatchObject({ userId: aliceId, asset: "USDT" });
    expect(parseUnits(diff!.ledger, 8) - parseUnits(diff!.ubscore, 8)).toBe(1n);
    // Put the unit back: reconcile is clean again.
    await exchange.ledger.createTransfers([
      transfer({
        id: transferId(TransferKind.Withdrawal, 0xffff, 1, 0),
        debit_account_id: accountId(AccountKind.Trading, usdt, aliceId),
        credit_account_id: accountId(AccountKind.Deposits, usdt),
        amount: 1n,
        ledger: usdt,
        code: 2,
      }),
    ]);
    expect((await admin<{ differences: unknown[] }>("/admin/v1/reconcile", {})).body.differences).toEqual([]);
  });
});

describe("Funding <-> Spot transfers end to end", () => {
  it("deposit to Funding -> Funding->Spot -> trade -> Spot->Funding -> withdraw, reconciling to zero", async () => {
    const buyer = await newUser({});
    const seller = await newUser({ BTC: "1" });
    const buyerId = (await buyer.signed<{ uid: number }>("GET", "/api/v3/account")).body.uid;
    const deposit = await admin("/admin/v1/deposits", {
      userId: buyerId,
      asset: "USDT",
      amount: "10000",
      wallet: "FUNDING",
    });
    expect(deposit).toMatchObject({ status: 200, body: { wallet: "FUNDING", free: "10000.00000000" } });

    const toSpot = await buyer.signed<{ tranId: number }>("POST", "/sapi/v1/asset/transfer", {
      type: "FUNDING_MAIN",
      asset: "USDT",
      amount: "6000",
      clientTranId: "move-1",
    });
    expect(toSpot.status).toBe(200);
    // The same clientTranId again is the same transfer, not a second one.
    const retry = await buyer.signed<{ tranId: number }>("POST", "/sapi/v1/asset/transfer", {
      type: "FUNDING_MAIN",
      asset: "USDT",
      amount: "6000",
      clientTranId: "move-1",
    });
    expect(retry.body.tranId).toBe(toSpot.body.tranId);
    expect((await balances(buyer)).USDT).toEqual({ free: "6000.00000000", locked: "0.00000000" });

    await seller.signed("POST", "/api/v3/order", limitOrder("SELL", "0.05", "50000"));
    const buy = await buyer.signed<{ status: string }>(
      "POST",
      "/api/v3/order",
      limitOrder("BUY", "0.05", "50000"),
    );
    expect(buy.body.status).toBe("FILLED");
    // 0.05 BTC x 50,000 = 2,500 USDT; the 0.1% fee comes out of the BTC: 0.04995 BTC received.
    expect((await balances(buyer)).USDT?.free).toBe("3500.00000000");
    expect((await balances(buyer)).BTC?.free).toBe("0.04995000");

    const toFunding = await buyer.signed("POST", "/sapi/v1/asset/transfer", {
      type: "MAIN_FUNDING",
      asset: "USDT",
      amount: "1000",
    });
    expect(toFunding.status).toBe(200);
    const tooMuch = await buyer.signed("POST", "/sapi/v1/asset/transfer", {
      type: "MAIN_FUNDING",
      asset: "USDT",
      amount: "99999",
    });
    expect(tooMuch.body).toMatchObject({ code: -5013 });
    const fundingNow = await buyer.signed<{ free: string }[]>("POST", "/sapi/v1/asset/get-funding-asset", {
      asset: "USDT",
    });
    expect(fundingNow.body[0]!.free).toBe("5000.00000000");
    const history = await buyer.signed<{ total: number; rows: { status: string }[] }>(
      "GET",
      "/sapi/v1/asset/transfer",
      {
        type: "MAIN_FUNDING",
      },
    );
    expect(history.body.total).toBe(2);
    expect(history.body.rows.map((r) => r.status).sort()).toEqual(["CONFIRMED", "FAILED"]);

    const hold = await admin<{ withdrawalId: string }>("/admin/v1/withdrawals", {
      userId: buyerId,
      asset: "USDT",
      amount: "500",
    });
    await admin(`/admin/v1/withdrawals/${hold.body.withdrawalId}/complete`, {});
    expect((await balances(buyer)).USDT).toEqual({ free: "2000.00000000", locked: "0.00000000" });

    const check = await admin<{ differences: unknown[] }>("/admin/v1/reconcile", {});
    expect(check.body.differences).toEqual([]);
  });
});

describe("order/test", () => {
  it("checks an order as placing it would and places nothing", async () => {
    const open = async () =>
      (await alice.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body;
    const before = await open();
    const limit = limitOrder("BUY", "0.01", "50000");
    expect(await alice.signed("POST", "/api/v3/order/test", limit)).toEqual({ status: 200, body: {} });
    const rates = await alice.signed("POST", "/api/v3/order/test", {
      ...limit,
      computeCommissionRates: "true",
    });
    expect(rates.body).toMatchObject({
      standardCommissionForOrder: { maker: "0.00100000", taker: "0.00100000" },
    });
    const failures = [
      [{ ...limit, price: "50000.001" }, -1013],
      [{ ...limit, price: "0.001" }, -1013],
      [{ ...limit, quantity: "0.00001", price: "1" }, -1013],
      [{ ...limit, timeInForce: "GTX" }, -1115],
      [{ ...limit, symbol: "NOPE" }, -1121],
    ] as const;
    for (const [params, code] of failures) {
      const res = await alice.signed<{ code: number }>("POST", "/api/v3/order/test", params);
      expect([res.status, res.body.code], JSON.stringify(params)).toEqual([400, code]);
    }
    expect(await open()).toEqual(before);
  });
});

describe("order/cancelReplace", () => {
  const sell = { symbol: "BTCUSDT", side: "SELL", type: "LIMIT", timeInForce: "GTC", quantity: "0.01" };
  type Answer = {
    code?: number;
    data?: Record<string, unknown>;
    cancelResult?: string;
    newOrderResponse?: { orderId: number };
  };

  it("replaces an order; a failed cancel stops or goes on by mode; a replayed request changes nothing", async () => {
    const open = async () =>
      (await bob.signed<{ orderId: number }[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" })).body.map(
        (o) => o.orderId,
      );
    const first = await bob.signed<{ orderId: number }>("POST", "/api/v3/order", { ...sell, price: "90000" });
    const replaced = await bob.signed<Answer>("POST", "/api/v3/order/cancelReplace", {
      ...sell,
      price: "91000",
      cancelReplaceMode: "STOP_ON_FAILURE",
      cancelOrderId: first.body.orderId,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ cancelResult: "SUCCESS", newOrderResult: "SUCCESS" });
    const second = replaced.body.newOrderResponse!.orderId;
    expect(await open()).toContain(second);
    expect(await open()).not.toContain(first.body.orderId);

    const before = await open();
    const stopped = await bob.signed<Answer>("POST", "/api/v3/order/cancelReplace", {
      ...sell,
      price: "92000",
      cancelReplaceMode: "STOP_ON_FAILURE",
      cancelOrderId: first.body.orderId,
    });
    expect([stopped.status, stopped.body.code]).toEqual([400, -2022]);
    expect(stopped.body.data).toMatchObject({ cancelResult: "FAILURE", newOrderResult: "NOT_ATTEMPTED" });
    expect(await open()).toEqual(before);

    const allowed = await bob.signed<Answer>("POST", "/api/v3/order/cancelReplace", {
      ...sell,
      price: "92000",
      cancelReplaceMode: "ALLOW_FAILURE",
      cancelOrderId: first.body.orderId,
    });
    expect([allowed.status, allowed.body.code]).toEqual([409, -2021]);
    expect(allowed.body.data).toMatchObject({ cancelResult: "FAILURE", newOrderResult: "SUCCESS" });
    expect((await open()).length).toBe(before.length + 1);

    // The same signed request again: refused as a replay, nothing cancelled or placed.
    const after = await open();
    const payload = new URLSearchParams({
      ...sell,
      price: "93000",
      cancelReplaceMode: "ALLOW_FAILURE",
      cancelOrderId: String(second),
      timestamp: String(Date.now()),
    }).toString();
    const signed = `${payload}&signature=${sign(bob.credentials!.secretKey, payload)}`;
    expect((await bob.raw("POST", "/api/v3/order/cancelReplace", signed)).status).toBe(200);
    const replay = await bob.raw<Answer>("POST", "/api/v3/order/cancelReplace", signed);
    expect([replay.status, replay.body.code]).toEqual([400, -1021]);
    expect((await open()).length).toBe(after.length);
  });
});
