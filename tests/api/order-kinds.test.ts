import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { type Credentials, TestClient, userStream } from "./client.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * Order kinds beyond a plain order, over real HTTP and WebSocket on the embedded exchange (UBSCore
 * checks its money invariants after every command): `PUT /api/v3/order/amend/keepPriority` and
 * triggered orders (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT). Answers and user
 * stream events as Binance's; bad requests are refused with Binance's codes and change nothing.
 */
const TOKEN = "order-kinds-test-operator-token0";
const PATH = "/api/v3/order/amend/keepPriority";
let exchange: EmbeddedExchange;
let seller: TestClient;
let other: TestClient;
let buyer: TestClient;

async function newUser(deposits: Record<string, string>): Promise<TestClient> {
  const post = (path: string, body: unknown) =>
    fetch(`${exchange.adminUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<Credentials & { userId: number }>);
  const user = await post("/admin/v1/users", {});
  for (const [asset, amount] of Object.entries(deposits))
    await post("/admin/v1/deposits", { userId: user.userId, asset, amount });
  return new TestClient(exchange.tradingUrl, user);
}

const limit = (side: string, quantity: string, price: string) => ({
  symbol: "ETHUSDT",
  side,
  type: "LIMIT",
  timeInForce: "GTC",
  quantity,
  price,
});
const sell = (quantity: string, price: string, newClientOrderId: string) => ({
  ...limit("SELL", quantity, price),
  newClientOrderId,
});

type Balance = { asset: string; free: string; locked: string };
const eth = async (client: TestClient) =>
  (await client.signed<{ balances: Balance[] }>("GET", "/api/v3/account")).body.balances.find(
    (b) => b.asset === "ETH",
  );

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-order-kinds-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, verify: true, gateway: { port: 0, adminPort: 0, adminToken: TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
  seller = await newUser({ ETH: "10" });
  other = await newUser({ ETH: "10" });
  buyer = await newUser({ USDT: "100000" });
});

afterAll(async () => {
  await exchange.close();
});

describe("PUT /api/v3/order/amend/keepPriority", () => {
  it("reduces in place: Binance's answer, a REPLACED executionReport, funds freed, priority kept", async () => {
    const placed = await seller.signed<{ orderId: number }>("POST", "/api/v3/order", sell("2", "2000", "s1"));
    await other.signed("POST", "/api/v3/order", sell("1", "2000", "o1"));
    const stream = await userStream(exchange.tradingUrl, seller);

    const reply = await seller.signed<Record<string, unknown>>("PUT", PATH, {
      symbol: "ETHUSDT",
      orderId: placed.body.orderId,
      newQty: "0.5",
      newClientOrderId: "s1-amended",
    });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(["transactTime", "executionId", "amendedOrder"]);
    expect(reply.body.amendedOrder).toEqual({
      symbol: "ETHUSDT",
      orderId: placed.body.orderId,
      orderListId: -1,
      origClientOrderId: "s1",
      clientOrderId: "s1-amended",
      price: "2000.00000000",
      qty: "0.50000000",
      executedQty: "0.00000000",
      preventedQty: "0.00000000",
      quoteOrderQty: "0.00000000",
      cumulativeQuoteQty: "0.00000000",
      status: "NEW",
      timeInForce: "GTC",
      type: "LIMIT",
      side: "SELL",
      workingTime: expect.any(Number),
      selfTradePreventionMode: "NONE",
    });
    expect(await eth(seller)).toEqual({ asset: "ETH", free: "9.50000000", locked: "0.50000000" });
    const [report] = await stream.reports(1);
    stream.socket.close();
    expect(report).toMatchObject({
      x: "REPLACED",
      X: "NEW",
      i: placed.body.orderId,
      c: "s1-amended",
      q: "0.50000000",
    });
    // Still ahead of the other seller at 2000: a buy of 0.6 fills the amended 0.5 first.
    const bought = await buyer.signed<{ fills: { qty: string }[] }>("POST", "/api/v3/order", {
      symbol: "ETHUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.6",
      price: "2000",
    });
    expect(bought.body.fills.map((f) => f.qty)).toEqual(["0.50000000", "0.10000000"]);
    const query = await seller.signed<{ status: string; origQty: string; clientOrderId: string }>(
      "GET",
      "/api/v3/order",
      { symbol: "ETHUSDT", origClientOrderId: "s1-amended" },
    );
    expect(query.body).toMatchObject({
      status: "FILLED",
      origQty: "0.50000000",
      clientOrderId: "s1-amended",
    });
  });

  it("names the order by origClientOrderId and draws a new client order id when none is sent", async () => {
    await seller.signed("POST", "/api/v3/order", sell("1", "2100", "s2"));
    const reply = await seller.signed<{ amendedOrder: { origClientOrderId: string; clientOrderId: string } }>(
      "PUT",
      PATH,
      { symbol: "ETHUSDT", origClientOrderId: "s2", newQty: "0.9" },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.amendedOrder.origClientOrderId).toBe("s2");
    expect(reply.body.amendedOrder.clientOrderId).toMatch(/^bourse-[0-9a-f]{22}$/);
  });

  it("weighs 4, as on Binance", async () => {
    const res = await fetch(`${exchange.tradingUrl}${PATH}`, { method: "PUT" });
    const first = Number(res.headers.get("x-mbx-used-weight-1m"));
    const again = await fetch(`${exchange.tradingUrl}${PATH}`, { method: "PUT" });
    expect(Number(again.headers.get("x-mbx-used-weight-1m")) - first).toBe(4);
  });
});

describe("PUT /api/v3/order/amend/keepPriority: refusals, and the WebSocket API", () => {
  it("refuses bad requests with Binance's codes and changes nothing", async () => {
    const placed = await seller.signed<{ orderId: number }>("POST", "/api/v3/order", sell("1", "2200", "s3"));
    await seller.signed("POST", "/api/v3/order", sell("1", "2300", "taken"));
    const before = await eth(seller);
    const orderId = placed.body.orderId;
    const cases: [Record<string, string | number>, number, number, string?][] = [
      [
        { symbol: "ETHUSDT", orderId, newQty: "1" },
        400,
        -2038,
        "The requested action would change no state; rejecting",
      ],
      [
        { symbol: "ETHUSDT", orderId, newQty: "2" },
        400,
        -2038,
        "Order amend (quantity increase) is not supported.",
      ],
      [
        { symbol: "ETHUSDT", orderId, newQty: "0.5", newClientOrderId: "taken" },
        400,
        -2038,
        "Duplicate order sent.",
      ],
      [{ symbol: "ETHUSDT", orderId, newQty: "0.00001" }, 400, -1013, "Filter failure: LOT_SIZE"],
      [{ symbol: "ETHUSDT", orderId, newQty: "abc" }, 400, -1100],
      [{ symbol: "ETHUSDT", orderId, newQty: "0" }, 400, -1013, "Filter failure: LOT_SIZE"],
      [
        { symbol: "ETHUSDT", orderId },
        400,
        -1102,
        "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed.",
      ],
      [{ symbol: "ETHUSDT", newQty: "0.5" }, 400, -1102],
      [{ symbol: "ETHUSDT", orderId: 999_999, newQty: "0.5" }, 400, -2038, "Unknown order sent."],
      [{ symbol: "BTCUSDT", orderId, newQty: "0.5" }, 400, -2038, "Unknown order sent."],
      [{ symbol: "NOPE", orderId, newQty: "0.5" }, 400, -1121, "Invalid symbol."],
      [{ symbol: "ETHUSDT", orderId, newQty: "0.5", extra: "1" }, 400, -1104],
    ];
    for (const [params, status, code, msg] of cases) {
      const reply = await seller.signed<{ code: number; msg: string }>("PUT", PATH, params);
      expect([reply.status, reply.body.code], JSON.stringify(params)).toEqual([status, code]);
      if (msg) expect(reply.body.msg).toBe(msg);
    }
    // Another user's order is unknown to this one.
    const foreign = await other.signed<{ code: number }>("PUT", PATH, {
      symbol: "ETHUSDT",
      orderId,
      newQty: "0.5",
    });
    expect(foreign.body.code).toBe(-2038);
    expect(await eth(seller)).toEqual(before);
    const open = await seller.signed<{ origQty: string; clientOrderId: string }>("GET", "/api/v3/order", {
      symbol: "ETHUSDT",
      orderId,
    });
    expect(open.body).toMatchObject({ origQty: "1.00000000", clientOrderId: "s3" });
  });

  it("is served on the WebSocket API as order.amend.keepPriority, with the same rules", async () => {
    const placed = await seller.signed<{ orderId: number }>(
      "POST",
      "/api/v3/order",
      sell("1", "2500", "ws1"),
    );
    const user = seller.credentials!;
    const ws = await Connection.open(exchange.tradingUrl);
    const params = { symbol: "ETHUSDT", orderId: placed.body.orderId, newClientOrderId: "ws1b" };
    const refused = await ws.request("order.amend.keepPriority", signed(user, { ...params, newQty: "3" }));
    expect([refused.status, refused.error?.code]).toEqual([400, -2038]);
    const done = await ws.request("order.amend.keepPriority", signed(user, { ...params, newQty: "0.25" }));
    ws.close();
    expect(done.status).toBe(200);
    expect(done.result?.amendedOrder).toMatchObject({
      clientOrderId: "ws1b",
      qty: "0.25000000",
      status: "NEW",
    });
    expect(done.rateLimits?.find((l) => l.rateLimitType === "REQUEST_WEIGHT")).toBeDefined();
  });
});

describe("GET /api/v3/order/amendments", () => {
  it("lists an order's amends oldest first, from an executionId, up to a limit, on REST and the WebSocket API", async () => {
    const placed = await seller.signed<{ orderId: number }>(
      "POST",
      "/api/v3/order",
      sell("2", "2600", "am1"),
    );
    const { orderId } = placed.body;
    const executionIds: number[] = [];
    for (const [newQty, newClientOrderId] of [
      ["1.5", "am2"],
      ["1.2", "am3"],
    ] as const) {
      const amended = await seller.signed<{ executionId: number }>("PUT", PATH, {
        symbol: "ETHUSDT",
        orderId,
        newQty,
        newClientOrderId,
      });
      executionIds.push(amended.body.executionId);
    }
    const list = (query: Record<string, string | number>) =>
      seller.signed<unknown[]>("GET", "/api/v3/order/amendments", { symbol: "ETHUSDT", orderId, ...query });
    const [first, second] = [
      { origClientOrderId: "am1", newClientOrderId: "am2", origQty: "2.00000000", newQty: "1.50000000" },
      { origClientOrderId: "am2", newClientOrderId: "am3", origQty: "1.50000000", newQty: "1.20000000" },
    ].map((a, i) => ({
      symbol: "ETHUSDT",
      orderId,
      executionId: executionIds[i],
      ...a,
      time: expect.any(Number),
    }));
    expect((await list({})).body).toEqual([first, second]);
    expect((await list({ fromExecutionId: executionIds[1]! })).body).toEqual([second]);
    expect((await list({ limit: 1 })).body).toEqual([first]);
    const ws = await Connection.open(exchange.tradingUrl);
    const viaWs = await ws.request(
      "order.amendments",
      signed(seller.credentials!, { symbol: "ETHUSDT", orderId, limit: 5 }),
    );
    ws.close();
    expect(viaWs.result).toEqual([first, second]);
    // Another user's order, an unknown one, no orderId: Binance's errors.
    expect(
      (await buyer.signed("GET", "/api/v3/order/amendments", { symbol: "ETHUSDT", orderId })).body,
    ).toMatchObject({
      code: -2013,
    });
    expect((await list({ orderId: 999_999 })).body).toMatchObject({ code: -2013 });
    expect(
      (await seller.signed("GET", "/api/v3/order/amendments", { symbol: "ETHUSDT" })).body,
    ).toMatchObject({ code: -1102 });
    // An order never amended has none.
    const plain = await seller.signed<{ orderId: number }>("POST", "/api/v3/order", sell("1", "2700", "am4"));
    expect((await list({ orderId: plain.body.orderId })).body).toEqual([]);
  });
});

describe("GET /api/v3/myPreventedMatches", () => {
  type Prevented = { preventedMatchId: number; takerOrderId: number; makerOrderId: number };
  const order = (side: string, price: string, stp: string) => ({
    symbol: "BTCUSDT",
    side,
    type: "LIMIT",
    timeInForce: "GTC",
    quantity: "0.01",
    price,
    selfTradePreventionMode: stp,
  });

  it("lists each mode's prevention with the maker it met, by id and by order, only to its user", async () => {
    const trader = await newUser({ BTC: "1", USDT: "10000" });
    const place = async (side: string, price: string, stp = "NONE") =>
      (
        await trader.signed<{ orderId: number; status: string }>(
          "POST",
          "/api/v3/order",
          order(side, price, stp),
        )
      ).body;
    const byOrder = (orderId: number, query: Record<string, number> = {}) =>
      trader.signed<Prevented[]>("GET", "/api/v3/myPreventedMatches", {
        symbol: "BTCUSDT",
        orderId,
        ...query,
      });
    // Two asks of its own; a bid crossing both meets the cheaper one first.
    const cheap = await place("SELL", "50000");
    const dear = await place("SELL", "50100");
    const takerExpired = await place("BUY", "50200", "EXPIRE_TAKER");
    expect(takerExpired.status).toBe("EXPIRED_IN_MATCH");
    const [first] = (await byOrder(takerExpired.orderId)).body;
    expect(first).toEqual({
      symbol: "BTCUSDT",
      preventedMatchId: expect.any(Number),
      takerOrderId: takerExpired.orderId,
      makerSymbol: "BTCUSDT",
      makerOrderId: cheap.orderId,
      tradeGroupId: -1,
      selfTradePreventionMode: "EXPIRE_TAKER",
      price: "50000.00000000",
      makerPreventedQuantity: "0.01000000",
      transactTime: expect.any(Number),
    });
    // EXPIRE_MAKER expires both asks, one prevention each, and the bid rests.
    const makersExpired = await place("BUY", "50200", "EXPIRE_MAKER");
    expect(makersExpired.status).toBe("NEW");
    const both = (await byOrder(makersExpired.orderId)).body;
    expect(both.map((p) => p.makerOrderId)).toEqual([cheap.orderId, dear.orderId]);
    expect(both.map((p) => p.preventedMatchId)).toEqual([
      first!.preventedMatchId + 1,
      first!.preventedMatchId + 2,
    ]);
    expect((await byOrder(cheap.orderId)).body).toEqual([first, both[0]]);
    // By id, and from an id on.
    const one = await trader.signed<Prevented[]>("GET", "/api/v3/myPreventedMatches", {
      symbol: "BTCUSDT",
      preventedMatchId: both[1]!.preventedMatchId,
    });
    expect(one.body).toEqual([both[1]]);
    expect(
      (await byOrder(makersExpired.orderId, { fromPreventedMatchId: both[1]!.preventedMatchId })).body,
    ).toEqual([both[1]]);
    // EXPIRE_BOTH: a SELL meeting that bid expires both, once.
    const bothExpired = await place("SELL", "50200", "EXPIRE_BOTH");
    expect(bothExpired.status).toBe("EXPIRED_IN_MATCH");
    expect((await byOrder(bothExpired.orderId)).body).toMatchObject([
      {
        takerOrderId: bothExpired.orderId,
        makerOrderId: makersExpired.orderId,
        selfTradePreventionMode: "EXPIRE_BOTH",
      },
    ]);
    // Someone else's, by order or by id: nothing. Both ways at once, or neither: Binance's errors.
    const query = { symbol: "BTCUSDT", preventedMatchId: first!.preventedMatchId };
    expect((await buyer.signed("GET", "/api/v3/myPreventedMatches", query)).body).toEqual([]);
    expect(
      (await buyer.signed("GET", "/api/v3/myPreventedMatches", { symbol: "BTCUSDT", orderId: cheap.orderId }))
        .body,
    ).toEqual([]);
    expect(
      (await trader.signed("GET", "/api/v3/myPreventedMatches", { ...query, orderId: cheap.orderId })).body,
    ).toMatchObject({ code: -1128 });
    expect(
      (await trader.signed("GET", "/api/v3/myPreventedMatches", { symbol: "BTCUSDT" })).body,
    ).toMatchObject({
      code: -1102,
    });
  });
});

/** A trade of 0.1 ETH at `price` between the other seller and the buyer: the last price. */
const tradeAt = async (price: string) => {
  await other.signed("POST", "/api/v3/order", limit("SELL", "0.1", price));
  await buyer.signed("POST", "/api/v3/order", limit("BUY", "0.1", price));
};

describe("triggered orders (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT)", () => {
  beforeAll(async () => {
    // An empty ETHUSDT book, so that each trade below is at the price it names.
    for (const client of [seller, other, buyer])
      await client.signed("DELETE", "/api/v3/openOrders", { symbol: "ETHUSDT" });
  });

  it("waits with its funds locked, is listed with its stopPrice, and goes off when a trade reaches it", async () => {
    await tradeAt("3000");
    const stream = await userStream(exchange.tradingUrl, seller);
    const before = await eth(seller);
    const placed = await seller.signed<Record<string, unknown>>("POST", "/api/v3/order", {
      symbol: "ETHUSDT",
      side: "SELL",
      type: "STOP_LOSS_LIMIT",
      timeInForce: "GTC",
      quantity: "0.5",
      price: "2890",
      stopPrice: "2900",
      newClientOrderId: "stop1",
    });
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({
      status: "NEW",
      type: "STOP_LOSS_LIMIT",
      executedQty: "0.00000000",
      stopPrice: "2900.00000000",
      workingTime: -1,
      fills: [],
    });
    const orderId = placed.body.orderId as number;
    const locked = (b: Balance | undefined) => Number(b!.locked);
    expect(locked(await eth(seller)) - locked(before)).toBeCloseTo(0.5, 8);
    const open = await seller.signed<Record<string, unknown>[]>("GET", "/api/v3/openOrders", {
      symbol: "ETHUSDT",
    });
    expect(open.body.find((o) => o.orderId === orderId)).toMatchObject({
      type: "STOP_LOSS_LIMIT",
      stopPrice: "2900.00000000",
      price: "2890.00000000",
      status: "NEW",
      isWorking: false,
      workingTime: -1,
    });
    const depth = await seller.public<{ asks: string[][] }>("/api/v3/depth", { symbol: "ETHUSDT" });
    expect(depth.body.asks.map(([p]) => p)).not.toContain("2890.00000000");

    await buyer.signed("POST", "/api/v3/order", limit("BUY", "1", "2890")); // a bid for the stop to hit
    await tradeAt("2950"); // not yet
    expect(
      (await seller.signed<{ status: string }>("GET", "/api/v3/order", { symbol: "ETHUSDT", orderId })).body
        .status,
    ).toBe("NEW");
    await tradeAt("2900"); // reached: sells 0.5 at 2890 into the bid
    const filled = await seller.signed<Record<string, unknown>>("GET", "/api/v3/order", {
      symbol: "ETHUSDT",
      orderId,
    });
    expect(filled.body).toMatchObject({ status: "FILLED", executedQty: "0.50000000", isWorking: true });
    const reports = (await stream.reports(3)).filter((r) => r.i === orderId);
    stream.socket.close();
    expect(reports.map((r) => [r.x, r.X, r.w])).toEqual([
      ["NEW", "NEW", false],
      ["NEW", "NEW", true],
      ["TRADE", "FILLED", false],
    ]);
    expect(reports[0]).toMatchObject({
      o: "STOP_LOSS_LIMIT",
      P: "2900.00000000",
      p: "2890.00000000",
      c: "stop1",
    });
  });
});

describe("triggered orders: refusals, cancels, and exchangeInfo's order types", () => {
  it("refuses what Binance refuses, changing nothing; a waiting order cancels and unlocks", async () => {
    await tradeAt("3000");
    const before = await eth(seller);
    const stop = { symbol: "ETHUSDT", side: "SELL", type: "STOP_LOSS", quantity: "0.2" };
    const cases: [Record<string, string>, number, string][] = [
      [{ ...stop, stopPrice: "3100" }, -2010, "Order would trigger immediately."], // a sell stop below the market
      [{ ...stop, type: "TAKE_PROFIT", stopPrice: "2900" }, -2010, "Order would trigger immediately."],
      [
        { ...stop, stopPrice: "2900", trailingDelta: "100" },
        -2010,
        "Trailing stop orders are not supported for this symbol.",
      ],
      [stop, -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."],
      [
        { ...limit("SELL", "0.2", "3000"), stopPrice: "2900" },
        -1106,
        "Parameter 'stopPrice' sent when not required.",
      ],
      [
        { ...stop, type: "STOP_LOSS_LIMIT", stopPrice: "2900", price: "2800" },
        -1102,
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
      ],
      [{ ...stop, stopPrice: "2900.001" }, -1013, "Filter failure: PRICE_FILTER"],
      [
        { ...stop, stopPrice: "2900", quoteOrderQty: "10" },
        -1106,
        "Parameter 'quoteOrderQty' sent when not required.",
      ],
    ];
    for (const [params, code, msg] of cases) {
      const reply = await seller.signed<{ code: number; msg: string }>("POST", "/api/v3/order", params);
      expect([reply.status, reply.body.code, reply.body.msg], JSON.stringify(params)).toEqual([
        400,
        code,
        msg,
      ]);
    }
    expect(await eth(seller)).toEqual(before);
    const waiting = await seller.signed<{ orderId: number }>("POST", "/api/v3/order", {
      ...stop,
      stopPrice: "2500",
    });
    expect(await eth(seller)).not.toEqual(before);
    const cancelled = await seller.signed<{ status: string; stopPrice: string }>("DELETE", "/api/v3/order", {
      symbol: "ETHUSDT",
      orderId: waiting.body.orderId,
    });
    expect(cancelled.body).toMatchObject({ status: "CANCELED", stopPrice: "2500.00000000" });
    expect(await eth(seller)).toEqual(before);
  });

  it("exchangeInfo lists the order types served", async () => {
    const info = await seller.public<{ symbols: { orderTypes: string[]; allowTrailingStop: boolean }[] }>(
      "/api/v3/exchangeInfo",
      { symbol: "ETHUSDT" },
    );
    expect(info.body.symbols[0]!.orderTypes).toEqual([
      "LIMIT",
      "LIMIT_MAKER",
      "MARKET",
      "STOP_LOSS",
      "STOP_LOSS_LIMIT",
      "TAKE_PROFIT",
      "TAKE_PROFIT_LIMIT",
    ]);
    expect(info.body.symbols[0]!.allowTrailingStop).toBe(false);
  });
});
