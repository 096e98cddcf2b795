import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../components/config/src/load.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { type Credentials, TestClient } from "./client.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * `PUT /api/v3/order/amend/keepPriority` over real HTTP on the embedded exchange (UBSCore checks
 * its money invariants after every command): the answer and the user stream as Binance's, the
 * order keeps its place, freed funds are available at once, and bad requests change nothing.
 */
const TOKEN = "amend-test-operator-token-00000";
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

const sell = (quantity: string, price: string, newClientOrderId: string) => ({
  symbol: "ETHUSDT",
  side: "SELL",
  type: "LIMIT",
  timeInForce: "GTC",
  quantity,
  price,
  newClientOrderId,
});

type Balance = { asset: string; free: string; locked: string };
const eth = async (client: TestClient) =>
  (await client.signed<{ balances: Balance[] }>("GET", "/api/v3/account")).body.balances.find(
    (b) => b.asset === "ETH",
  );

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-amend-"));
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
    const key = (await seller.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "")).body
      .listenKey;
    const socket = new WebSocket(`${exchange.tradingUrl.replace("http", "ws")}/ws/${key}`);
    const messages: Record<string, unknown>[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once("open", resolve));

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
    for (let i = 0; i < 200 && !messages.some((m) => m.e === "executionReport"); i++)
      await new Promise((r) => setTimeout(r, 10));
    socket.close();
    expect(messages.find((m) => m.e === "executionReport")).toMatchObject({
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
