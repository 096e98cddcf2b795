import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { newUser as operatorUser } from "../support/operator-api.ts";
import { assetBalance, limitOrder, type TestClient, userStream } from "./client.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * Binance's order lists (OCO) over real HTTP and the WebSocket API on the embedded exchange
 * (UBSCore checks its money invariants after every command): placing, one leg filling or
 * triggering and the other expiring, cancelling, the queries; balances to the unit.
 */
const TOKEN = "order-lists-test-operator-token0";
let exchange: EmbeddedExchange;
let seller: TestClient;
let other: TestClient;
let buyer: TestClient;

const limit = (side: "BUY" | "SELL", quantity: string, price: string) =>
  limitOrder(side, quantity, price, "ETHUSDT");

const balance = assetBalance;

/** A SELL OCO of 1 ETH: LIMIT_MAKER at 3100 above, STOP_LOSS_LIMIT 2900 / 2890 below. */
const sellOco = (over: Record<string, string> = {}) => ({
  symbol: "ETHUSDT",
  side: "SELL",
  quantity: "1",
  listClientOrderId: "list1",
  aboveType: "LIMIT_MAKER",
  abovePrice: "3100",
  aboveClientOrderId: "up1",
  belowType: "STOP_LOSS_LIMIT",
  belowPrice: "2890",
  belowStopPrice: "2900",
  belowTimeInForce: "GTC",
  belowClientOrderId: "down1",
  ...over,
});

/** A trade of 0.1 ETH at `price` between `other` and the buyer: the last price. */
async function tradeAt(price: string): Promise<void> {
  await other.signed("POST", "/api/v3/order", limit("SELL", "0.1", price));
  await buyer.signed("POST", "/api/v3/order", limit("BUY", "0.1", price));
}

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-order-lists-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, verify: true, gateway: { port: 0, adminPort: 0, adminToken: TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
  const api = { adminUrl: exchange.adminUrl, token: TOKEN, tradingUrl: exchange.tradingUrl };
  seller = await operatorUser(api, { ETH: "10" });
  other = await operatorUser(api, { ETH: "10" });
  buyer = await operatorUser(api, { USDT: "100000" });
  await tradeAt("3000");
});

afterAll(async () => {
  await exchange.close();
});

describe("POST /api/v3/orderList/oco", () => {
  it("places both orders on one reservation; a fill of the limit order expires the stop order", async () => {
    const counted = async () =>
      (await seller.signed<{ count: number }[]>("GET", "/api/v3/rateLimit/order")).body.map((l) => l.count);
    const [tenSeconds, day] = await counted();
    const placed = await seller.signed<Record<string, unknown>>("POST", "/api/v3/orderList/oco", sellOco());
    expect(placed.status).toBe(200);
    // Two orders, as Binance counts an OCO against the order limits (the 10 s window may have moved on).
    const [tenSecondsAfter, dayAfter] = await counted();
    expect(dayAfter).toBe(day! + 2);
    expect([tenSeconds! + 2, 2]).toContain(tenSecondsAfter);
    const listId = placed.body.orderListId as number;
    expect(placed.body).toMatchObject({
      contingencyType: "OCO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      listClientOrderId: "list1",
      symbol: "ETHUSDT",
      orders: [
        { symbol: "ETHUSDT", clientOrderId: "down1" },
        { symbol: "ETHUSDT", clientOrderId: "up1" },
      ],
      orderReports: [
        {
          clientOrderId: "down1",
          orderListId: listId,
          type: "STOP_LOSS_LIMIT",
          side: "SELL",
          price: "2890.00000000",
          stopPrice: "2900.00000000",
          origQty: "1.00000000",
          status: "NEW",
          timeInForce: "GTC",
        },
        {
          clientOrderId: "up1",
          orderListId: listId,
          type: "LIMIT_MAKER",
          price: "3100.00000000",
          status: "NEW",
        },
      ],
    });
    // 1 ETH locked, not 2: both orders sell the same ETH.
    expect(await balance(seller, "ETH")).toEqual(["9.00000000", "1.00000000"]);
    const [down, up] = (placed.body.orders as { orderId: number }[]).map((o) => o.orderId) as [
      number,
      number,
    ];
    const open = await seller.signed<Record<string, unknown>[]>("GET", "/api/v3/openOrders", {
      symbol: "ETHUSDT",
    });
    expect(open.body.map((o) => [o.orderId, o.orderListId])).toEqual([
      [down, listId],
      [up, listId],
    ]);

    // The buyer takes 0.4 ETH at 3100 from the limit order: 1,240 USDT less the 1.24 USDT fee.
    await buyer.signed("POST", "/api/v3/order", limit("BUY", "0.4", "3100"));
    const order = async (orderId: number) =>
      (await seller.signed<Record<string, unknown>>("GET", "/api/v3/order", { symbol: "ETHUSDT", orderId }))
        .body;
    expect(await order(up)).toMatchObject({ status: "PARTIALLY_FILLED", executedQty: "0.40000000" });
    expect(await order(down)).toMatchObject({ status: "EXPIRED", orderListId: listId });
    expect(await balance(seller, "ETH")).toEqual(["9.00000000", "0.60000000"]);
    expect(await balance(seller, "USDT")).toEqual(["1238.76000000", "0.00000000"]);
    const list = await seller.signed<Record<string, unknown>>("GET", "/api/v3/orderList", {
      orderListId: listId,
    });
    expect(list.body).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(list.body).not.toHaveProperty("orderReports");
    expect((await seller.signed<unknown[]>("GET", "/api/v3/openOrderList")).body).toEqual([]);
    // The rest of the limit order is an open order like any other.
    await seller.signed("DELETE", "/api/v3/order", { symbol: "ETHUSDT", orderId: up });
    expect(await balance(seller, "ETH")).toEqual(["9.60000000", "0.00000000"]);
  });

  it("the stop order going off expires the limit order, and sells what was locked once", async () => {
    await tradeAt("3000"); // the last price back below the limit order's 3100
    const placed = await seller.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oco",
      sellOco({ listClientOrderId: "list2", aboveClientOrderId: "up2", belowClientOrderId: "down2" }),
    );
    expect(placed.status).toBe(200);
    const [down, up] = placed.body.orders.map((o) => o.orderId) as [number, number];
    await buyer.signed("POST", "/api/v3/order", limit("BUY", "1", "2890")); // a bid for the stop order
    await tradeAt("2900"); // reached: the stop order sells 1 ETH at 2890
    const status = async (orderId: number) =>
      (await seller.signed<{ status: string }>("GET", "/api/v3/order", { symbol: "ETHUSDT", orderId })).body
        .status;
    expect([await status(down), await status(up)]).toEqual(["FILLED", "EXPIRED"]);
    // 9.6 - 1 ETH; 1238.76 + 2890 - 2.89 fee USDT.
    expect(await balance(seller, "ETH")).toEqual(["8.60000000", "0.00000000"]);
    expect(await balance(seller, "USDT")).toEqual(["4125.87000000", "0.00000000"]);
  });
});

describe("POST /api/v3/orderList/oco refused", () => {
  it("is refused with Binance's codes, changing nothing", async () => {
    await tradeAt("3000");
    const before = await balance(seller, "ETH");
    const refused = async (over: Record<string, string>, code: number) => {
      const r = await seller.signed<{ code: number; msg: string }>(
        "POST",
        "/api/v3/orderList/oco",
        sellOco({
          listClientOrderId: "bad",
          aboveClientOrderId: "bad-up",
          belowClientOrderId: "bad-down",
          ...over,
        }),
      );
      expect(r.status).toBe(400);
      expect(r.body.code).toBe(code);
      return r.body.msg;
    };
    // The limit order below the last price (3000).
    expect(await refused({ abovePrice: "2950" }, -2010)).toBe(
      "The relationship of the prices for the orders is not correct.",
    );
    expect(await refused({ belowStopPrice: "3050" }, -2010)).toMatch(/relationship/);
    expect(await refused({ belowTimeInForce: "" }, -1102)).toMatch(/belowTimeInForce/);
    expect(await refused({ aboveStopPrice: "3200" }, -1106)).toMatch(/aboveStopPrice/);
    expect(await refused({ aboveType: "LIMIT" }, -1116)).toBeDefined();
    expect(await refused({ quantity: "100" }, -2010)).toMatch(/insufficient balance/);
    // A LIMIT_MAKER at 3045 would take the bid at 3050 (the last price 3000).
    await buyer.signed("POST", "/api/v3/order", { ...limit("BUY", "0.1", "3050"), newClientOrderId: "bid" });
    expect(await refused({ abovePrice: "3045" }, -2010)).toBe("Order would immediately match and take.");
    await buyer.signed("DELETE", "/api/v3/order", { symbol: "ETHUSDT", origClientOrderId: "bid" });
    expect(await balance(seller, "ETH")).toEqual(before);
  });
});

describe("cancelling and querying order lists", () => {
  it("DELETE /api/v3/orderList cancels both orders and releases the one reservation", async () => {
    const before = await balance(seller, "ETH");
    const placed = await seller.signed<{ orderListId: number }>(
      "POST",
      "/api/v3/orderList/oco",
      sellOco({ listClientOrderId: "list3", aboveClientOrderId: "up3", belowClientOrderId: "down3" }),
    );
    expect(placed.status).toBe(200);
    const openLists = await seller.signed<{ orderListId: number }[]>("GET", "/api/v3/openOrderList");
    expect(openLists.body.map((l) => l.orderListId)).toEqual([placed.body.orderListId]);
    const cancelled = await seller.signed<Record<string, unknown>>("DELETE", "/api/v3/orderList", {
      symbol: "ETHUSDT",
      listClientOrderId: "list3",
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      orderListId: placed.body.orderListId,
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
      orderReports: [
        { clientOrderId: "down3", origClientOrderId: "down3", status: "CANCELED" },
        { clientOrderId: "up3", status: "CANCELED" },
      ],
    });
    expect(await balance(seller, "ETH")).toEqual(before);
    const again = await seller.signed<{ code: number }>("DELETE", "/api/v3/orderList", {
      symbol: "ETHUSDT",
      orderListId: placed.body.orderListId,
    });
    expect(again.body.code).toBe(-2011);
    const byClientId = await seller.signed<{ orderListId: number }>("GET", "/api/v3/orderList", {
      origClientOrderId: "list3",
    });
    expect(byClientId.body.orderListId).toBe(placed.body.orderListId);
    expect(
      (
        await other.signed<{ code: number }>("GET", "/api/v3/orderList", {
          orderListId: placed.body.orderListId,
        })
      ).body.code,
    ).toBe(-2013);
    // The most recent three, oldest first; the one the book refused is listed as Binance's REJECT.
    const all = await seller.signed<{ listClientOrderId: string; listOrderStatus: string }[]>(
      "GET",
      "/api/v3/allOrderList",
      { limit: 3 },
    );
    expect(all.body.map((l) => [l.listClientOrderId, l.listOrderStatus])).toEqual([
      ["list2", "ALL_DONE"],
      ["bad", "REJECT"],
      ["list3", "ALL_DONE"],
    ]);
  });

  it("the WebSocket API: orderList.place.oco, orderList.status, openOrderLists.status, orderList.cancel, allOrderLists", async () => {
    const ws = await Connection.open(exchange.tradingUrl);
    try {
      const call = (method: string, params: Record<string, unknown>) =>
        ws.request(method, signed(seller.credentials!, params));
      const placed = await call(
        "orderList.place.oco",
        sellOco({
          listClientOrderId: "ws1",
          aboveClientOrderId: "wu",
          belowClientOrderId: "wd",
          newOrderRespType: "ACK",
        }),
      );
      expect(placed).toMatchObject({
        status: 200,
        result: { contingencyType: "OCO", listClientOrderId: "ws1" },
      });
      // ACK: each order's ids and time, no status.
      const reports = (placed.result as { orderReports: Record<string, unknown>[] }).orderReports;
      expect(reports.map((r) => Object.keys(r).sort())).toEqual([
        ["clientOrderId", "orderId", "orderListId", "symbol", "transactTime"],
        ["clientOrderId", "orderId", "orderListId", "symbol", "transactTime"],
      ]);
      const id = (placed.result as { orderListId: number }).orderListId;
      expect(await call("orderList.status", { orderListId: id })).toMatchObject({
        result: { orderListId: id, listOrderStatus: "EXECUTING" },
      });
      expect(await call("openOrderLists.status", {})).toMatchObject({ result: [{ orderListId: id }] });
      expect(await call("orderList.cancel", { symbol: "ETHUSDT", orderListId: id })).toMatchObject({
        result: { orderListId: id, listOrderStatus: "ALL_DONE" },
      });
      const all = (await call("allOrderLists", {})).result as unknown as { orderListId: number }[];
      expect(all.at(-1)!.orderListId).toBe(id);
    } finally {
      ws.close();
    }
  });
});

describe("the user data stream", () => {
  it("says listStatus as an OCO starts and once as it ends, and names the list in each executionReport", async () => {
    const api = { adminUrl: exchange.adminUrl, token: TOKEN, tradingUrl: exchange.tradingUrl };
    const trader = await operatorUser(api, { ETH: "2" });
    const stream = await userStream(exchange.tradingUrl, trader);
    const placed = await trader.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oco",
      sellOco({ listClientOrderId: "streamed", aboveClientOrderId: "s-up", belowClientOrderId: "s-down" }),
    );
    const { orderListId } = placed.body;
    const [down, up] = placed.body.orders.map((o) => o.orderId);
    // The buyer takes part of the limit order (the list ends), then the rest (it does not change again).
    await buyer.signed("POST", "/api/v3/order", limit("BUY", "0.4", "3100"));
    await buyer.signed("POST", "/api/v3/order", limit("BUY", "0.6", "3100"));
    const reports = await stream.reports(5);
    stream.socket.close();
    expect(reports.map((r) => [r.i, r.x, r.g])).toEqual([
      [down, "NEW", orderListId],
      [up, "NEW", orderListId],
      [up, "TRADE", orderListId],
      [down, "EXPIRED", orderListId],
      [up, "TRADE", orderListId],
    ]);
    const statuses = stream.messages.filter((m) => m.e === "listStatus");
    const legs = [
      { s: "ETHUSDT", i: down, c: "s-down" },
      { s: "ETHUSDT", i: up, c: "s-up" },
    ];
    const status = { s: "ETHUSDT", g: orderListId, c: "OCO", r: "NONE", C: "streamed", O: legs };
    expect(statuses).toMatchObject([
      { ...status, l: "EXEC_STARTED", L: "EXECUTING" },
      { ...status, l: "ALL_DONE", L: "ALL_DONE" },
    ]);
  });
});
