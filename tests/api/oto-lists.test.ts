import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { moneyTotals } from "../support/money.ts";
import { newUser as operatorUser } from "../support/operator-api.ts";
import { assetBalance, limitOrder, type TestClient, userStream } from "./client.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * Binance's OTO and OTOCO order lists over real HTTP and the WebSocket API on the embedded
 * exchange (UBSCore checks its money invariants after every command): the working order placed,
 * the pending orders placed when it fills (their funds checked and frozen only then), cancels,
 * refusals and the user data stream; balances to the unit.
 */
const TOKEN = "oto-lists-test-operator-token00";
let exchange: EmbeddedExchange;
let api: { adminUrl: string; token: string; tradingUrl: string };
let maker: TestClient;
let taker: TestClient;

const limit = (side: "BUY" | "SELL", quantity: string, price: string) =>
  limitOrder(side, quantity, price, "ETHUSDT");

const balance = assetBalance;

/** BUY 1 ETH LIMIT at 2900, then SELL 0.999 ETH (what the buy leaves after its fee) LIMIT_MAKER at 3200. */
const takeProfit = (over: Record<string, string> = {}) => ({
  symbol: "ETHUSDT",
  listClientOrderId: "oto1",
  workingType: "LIMIT",
  workingSide: "BUY",
  workingClientOrderId: "w1",
  workingPrice: "2900",
  workingQuantity: "1",
  workingTimeInForce: "GTC",
  pendingType: "LIMIT_MAKER",
  pendingSide: "SELL",
  pendingClientOrderId: "p1",
  pendingPrice: "3200",
  pendingQuantity: "0.999",
  ...over,
});

/** SELL 1 ETH LIMIT at 3100, then BUY 0.9 ETH back: above STOP_LOSS_LIMIT 3150 / 3160, below LIMIT_MAKER 2800. */
const buyBack = (over: Record<string, string> = {}) => ({
  symbol: "ETHUSDT",
  listClientOrderId: "otoco1",
  workingType: "LIMIT",
  workingSide: "SELL",
  workingClientOrderId: "w2",
  workingPrice: "3100",
  workingQuantity: "1",
  workingTimeInForce: "GTC",
  pendingSide: "BUY",
  pendingQuantity: "0.9",
  pendingAboveType: "STOP_LOSS_LIMIT",
  pendingAboveClientOrderId: "above2",
  pendingAbovePrice: "3160",
  pendingAboveStopPrice: "3150",
  pendingAboveTimeInForce: "GTC",
  pendingBelowType: "LIMIT_MAKER",
  pendingBelowClientOrderId: "below2",
  pendingBelowPrice: "2800",
  ...over,
});

const trader = (funds: Record<string, string>) => operatorUser(api, funds);
const order = async (client: TestClient, orderId: number) =>
  (await client.signed<Record<string, unknown>>("GET", "/api/v3/order", { symbol: "ETHUSDT", orderId })).body;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-oto-lists-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, verify: true, gateway: { port: 0, adminPort: 0, adminToken: TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
  api = { adminUrl: exchange.adminUrl, token: TOKEN, tradingUrl: exchange.tradingUrl };
  maker = await trader({ ETH: "10" });
  taker = await trader({ USDT: "100000" });
  // The last price: 3000.
  await maker.signed("POST", "/api/v3/order", limit("SELL", "0.1", "3000"));
  await taker.signed("POST", "/api/v3/order", limit("BUY", "0.1", "3000"));
});

afterAll(async () => {
  await exchange.close();
});

describe("POST /api/v3/orderList/oto", () => {
  it("exchangeInfo says OCO, OTO and OPO lists are allowed", async () => {
    const info = await maker.public<{ symbols: Record<string, unknown>[] }>("/api/v3/exchangeInfo", {
      symbol: "ETHUSDT",
    });
    expect(info.body.symbols[0]).toMatchObject({ ocoAllowed: true, otoAllowed: true, opoAllowed: true });
  });

  it("a BUY then a take-profit SELL: the SELL needs no ETH until the BUY fills, then freezes what it bought", async () => {
    const before = await moneyTotals(exchange);
    const user = await trader({ USDT: "10000" });
    const counted = async () =>
      (await user.signed<{ count: number }[]>("GET", "/api/v3/rateLimit/order")).body.map((l) => l.count);
    const placed = await user.signed<Record<string, unknown>>("POST", "/api/v3/orderList/oto", takeProfit());
    expect(placed.status).toBe(200);
    expect((await counted())[1]).toBe(2);
    const listId = placed.body.orderListId as number;
    const [working, pending] = (placed.body.orders as { orderId: number }[]).map((o) => o.orderId) as [
      number,
      number,
    ];
    expect(placed.body).toMatchObject({
      contingencyType: "OTO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      listClientOrderId: "oto1",
      symbol: "ETHUSDT",
      orders: [
        { symbol: "ETHUSDT", orderId: working, clientOrderId: "w1" },
        { symbol: "ETHUSDT", orderId: pending, clientOrderId: "p1" },
      ],
      orderReports: [
        {
          orderId: working,
          orderListId: listId,
          status: "NEW",
          type: "LIMIT",
          side: "BUY",
          price: "2900.00000000",
        },
        {
          orderId: pending,
          orderListId: listId,
          status: "PENDING_NEW",
          type: "LIMIT_MAKER",
          side: "SELL",
          price: "3200.00000000",
          origQty: "0.99900000",
          workingTime: -1,
        },
      ],
    });
    expect(await balance(user, "USDT")).toEqual(["7100.00000000", "2900.00000000"]);
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "0.00000000"]);
    const open = await user.signed<{ orderId: number; status: string }[]>("GET", "/api/v3/openOrders", {
      symbol: "ETHUSDT",
    });
    expect(open.body.map((o) => [o.orderId, o.status])).toEqual([
      [working, "NEW"],
      [pending, "PENDING_NEW"],
    ]);

    // The maker sells 1 ETH at 2900: the BUY fills (1 ETH less the 0.001 ETH fee), the SELL goes to the book.
    await maker.signed("POST", "/api/v3/order", limit("SELL", "1", "2900"));
    expect(await order(user, working)).toMatchObject({ status: "FILLED" });
    expect(await order(user, pending)).toMatchObject({ status: "NEW", isWorking: true });
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "0.99900000"]);
    expect(await balance(user, "USDT")).toEqual(["7100.00000000", "0.00000000"]);
    const depth = await user.public<{ asks: string[][] }>("/api/v3/depth", { symbol: "ETHUSDT" });
    expect(depth.body.asks).toContainEqual(["3200.00000000", "0.99900000"]);

    // The taker buys it at 3200: 3196.80 USDT less the 3.1968 USDT fee.
    await taker.signed("POST", "/api/v3/order", limit("BUY", "0.999", "3200"));
    expect(await order(user, pending)).toMatchObject({ status: "FILLED" });
    expect(await balance(user, "USDT")).toEqual(["10293.60320000", "0.00000000"]);
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "0.00000000"]);
    const list = await user.signed<Record<string, unknown>>("GET", "/api/v3/orderList", {
      orderListId: listId,
    });
    expect(list.body).toMatchObject({
      contingencyType: "OTO",
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
    });
    expect((await user.signed<unknown[]>("GET", "/api/v3/openOrderList")).body).toEqual([]);
    // Every asset's total as it was, but the 10,000 USDT credited to the new user.
    const usdt = exchange.service.core.exchange.asset("USDT")!.id - 1;
    expect(await moneyTotals(exchange)).toEqual(
      before.map((t, i) => (i === usdt ? t + 10_000_00000000n : t)),
    );
  });
});

describe("POST /api/v3/orderList/oto: funds at activation, cancels, refusals", () => {
  it("rejects the pending order, changing nothing else, when its funds are not there once the working order fills", async () => {
    const user = await trader({ USDT: "10000" });
    const placed = await user.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oto",
      takeProfit({ pendingQuantity: "1" }),
    );
    const [working, pending] = placed.body.orders.map((o) => o.orderId) as [number, number];
    await maker.signed("POST", "/api/v3/order", limit("SELL", "1", "2900"));
    expect(await order(user, working)).toMatchObject({ status: "FILLED" });
    expect(await order(user, pending)).toMatchObject({ status: "REJECTED" });
    const list = await user.signed<Record<string, unknown>>("GET", "/api/v3/orderList", {
      orderListId: placed.body.orderListId,
    });
    expect(list.body).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(await balance(user, "ETH")).toEqual(["0.99900000", "0.00000000"]);
    expect(await balance(user, "USDT")).toEqual(["7100.00000000", "0.00000000"]);
  });

  it("cancelling the pending order cancels the list and releases the working order's funds", async () => {
    const user = await trader({ USDT: "10000" });
    const placed = await user.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oto",
      takeProfit(),
    );
    const [working, pending] = placed.body.orders.map((o) => o.orderId) as [number, number];
    const cancelled = await user.signed<Record<string, unknown>>("DELETE", "/api/v3/order", {
      symbol: "ETHUSDT",
      origClientOrderId: "p1",
    });
    expect(cancelled.body).toMatchObject({ orderId: pending, status: "CANCELED", origClientOrderId: "p1" });
    expect(await order(user, working)).toMatchObject({ status: "CANCELED" });
    expect(await balance(user, "USDT")).toEqual(["10000.00000000", "0.00000000"]);
    const list = await user.signed<Record<string, unknown>>("GET", "/api/v3/orderList", {
      origClientOrderId: "oto1",
    });
    expect(list.body).toMatchObject({ orderListId: placed.body.orderListId, listOrderStatus: "ALL_DONE" });
  });

  it("DELETE /api/v3/openOrders cancels an OTO's pending order with its working order, and says so", async () => {
    const user = await trader({ USDT: "10000" });
    const placed = await user.signed<{ orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oto",
      takeProfit({ listClientOrderId: "all1" }),
    );
    const cancelled = await user.signed<{ orderId: number; status: string }[]>(
      "DELETE",
      "/api/v3/openOrders",
      {
        symbol: "ETHUSDT",
      },
    );
    expect(cancelled.body.map((o) => [o.orderId, o.status])).toEqual(
      placed.body.orders.map((o) => [o.orderId, "CANCELED"]),
    );
    expect(await balance(user, "USDT")).toEqual(["10000.00000000", "0.00000000"]);
  });

  it("is refused with Binance's codes, changing nothing", async () => {
    const user = await trader({ USDT: "10000" });
    const refused = async (over: Record<string, string>, code: number) => {
      const r = await user.signed<{ code: number; msg: string }>(
        "POST",
        "/api/v3/orderList/oto",
        takeProfit(over),
      );
      expect(r.status).toBe(400);
      expect(r.body.code).toBe(code);
      return r.body.msg;
    };
    expect(await refused({ workingTimeInForce: "" }, -1102)).toMatch(/workingTimeInForce/);
    expect(await refused({ pendingPrice: "" }, -1102)).toMatch(/pendingPrice/);
    expect(await refused({ pendingQuantity: "" }, -1102)).toMatch(/pendingQuantity/);
    expect(await refused({ pendingStopPrice: "3300" }, -1106)).toMatch(/pendingStopPrice/);
    expect(await refused({ workingType: "MARKET" }, -1116)).toBeDefined();
    expect(await refused({ workingQuantity: "100" }, -2010)).toMatch(/insufficient balance/);
    expect(await refused({ pendingQuantity: "0.001" }, -1013)).toMatch(/NOTIONAL/);
    expect(await refused({ pendingPrice: "3200.001" }, -1013)).toMatch(/PRICE_FILTER/);
    expect(await refused({ pendingClientOrderId: "w1" }, -2010)).toMatch(/Duplicate/);
    // A LIMIT_MAKER working order that would take the ask at 2950.
    await maker.signed("POST", "/api/v3/order", { ...limit("SELL", "0.1", "2950"), newClientOrderId: "ask" });
    expect(
      await refused({ workingType: "LIMIT_MAKER", workingTimeInForce: "", workingPrice: "2960" }, -2010),
    ).toBe("Order would immediately match and take.");
    await maker.signed("DELETE", "/api/v3/order", { symbol: "ETHUSDT", origClientOrderId: "ask" });
    expect(await balance(user, "USDT")).toEqual(["10000.00000000", "0.00000000"]);
    expect((await user.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "ETHUSDT" })).body).toEqual(
      [],
    );
  });
});

describe("POST /api/v3/orderList/otoco", () => {
  it("places the pending OCO pair once the working SELL fills, on one reservation, and DELETE orderList cancels it", async () => {
    await maker.signed("POST", "/api/v3/order", limit("SELL", "0.1", "3000"));
    await taker.signed("POST", "/api/v3/order", limit("BUY", "0.1", "3000"));
    const user = await trader({ ETH: "1" });
    const placed = await user.signed<Record<string, unknown>>("POST", "/api/v3/orderList/otoco", buyBack());
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({
      contingencyType: "OTO",
      listClientOrderId: "otoco1",
      orders: [{ clientOrderId: "w2" }, { clientOrderId: "above2" }, { clientOrderId: "below2" }],
      orderReports: [
        { clientOrderId: "w2", status: "NEW", side: "SELL" },
        {
          clientOrderId: "above2",
          status: "PENDING_NEW",
          type: "STOP_LOSS_LIMIT",
          stopPrice: "3150.00000000",
        },
        { clientOrderId: "below2", status: "PENDING_NEW", type: "LIMIT_MAKER", price: "2800.00000000" },
      ],
    });
    const ids = (placed.body.orders as { orderId: number }[]).map((o) => o.orderId);
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "1.00000000"]);
    // The taker buys the 1 ETH at 3100: 3100 USDT less 3.1; the pair freezes its costlier leg, 0.9 x 3160.
    await taker.signed("POST", "/api/v3/order", limit("BUY", "1", "3100"));
    const statuses = async () => Promise.all(ids.map(async (id) => (await order(user, id)).status));
    expect(await statuses()).toEqual(["FILLED", "NEW", "NEW"]);
    expect(await balance(user, "USDT")).toEqual(["252.90000000", "2844.00000000"]);
    const cancelled = await user.signed<Record<string, unknown>>("DELETE", "/api/v3/orderList", {
      symbol: "ETHUSDT",
      listClientOrderId: "otoco1",
    });
    expect(cancelled.body).toMatchObject({
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
      orderReports: [{ status: "FILLED" }, { status: "CANCELED" }, { status: "CANCELED" }],
    });
    expect(await balance(user, "USDT")).toEqual(["3096.90000000", "0.00000000"]);
  });

  it("refuses a pending pair that is not an OCO's (-2010), and missing legs (-1102)", async () => {
    const user = await trader({ ETH: "1" });
    const post = (over: Record<string, string>) =>
      user.signed<{ code: number; msg: string }>("POST", "/api/v3/orderList/otoco", buyBack(over));
    expect((await post({ pendingBelowPrice: "3300" })).body).toEqual({
      code: -2010,
      msg: "The relationship of the prices for the orders is not correct.",
    });
    expect((await post({ pendingBelowType: "" })).body.code).toBe(-1102);
    expect((await post({ pendingAboveStopPrice: "" })).body.code).toBe(-1102);
    expect(await balance(user, "ETH")).toEqual(["1.00000000", "0.00000000"]);
  });
});

describe("POST /api/v3/orderList/opo and /opoco (One Pays the Other)", () => {
  it("sells exactly what the working BUY bought, locked until then; the WebSocket API places an OPOCO", async () => {
    const user = await trader({ USDT: "10000" });
    const { pendingQuantity: _, ...withoutQuantity } = takeProfit({
      listClientOrderId: "opo1",
      workingClientOrderId: "opo-w",
      pendingClientOrderId: "opo-p",
    });
    const placed = await user.signed<Record<string, unknown>>(
      "POST",
      "/api/v3/orderList/opo",
      withoutQuantity,
    );
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({
      contingencyType: "OTO",
      orderReports: [{ status: "NEW" }, { status: "PENDING_NEW", origQty: "0.00000000" }],
    });
    const pending = (placed.body.orders as { orderId: number }[])[1]!.orderId;
    // Half of it fills: what it bought (0.4995 ETH) is locked, not free.
    await maker.signed("POST", "/api/v3/order", limit("SELL", "0.5", "2900"));
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "0.49950000"]);
    await maker.signed("POST", "/api/v3/order", limit("SELL", "0.5", "2900"));
    expect(await order(user, pending)).toMatchObject({ status: "NEW", origQty: "0.99900000" });
    expect(await balance(user, "ETH")).toEqual(["0.00000000", "0.99900000"]);
    // A quantity is not an OPO's parameter.
    const refused = await user.signed<{ code: number }>("POST", "/api/v3/orderList/opo", {
      ...withoutQuantity,
      listClientOrderId: "opo2",
      pendingQuantity: "1",
    });
    expect(refused.body.code).toBe(-1104);

    const ws = await Connection.open(exchange.tradingUrl);
    try {
      const { pendingQuantity: ___, ...pair } = buyBack({
        listClientOrderId: "ws-opoco",
        workingSide: "BUY",
        workingPrice: "2900",
        pendingSide: "SELL",
        pendingAboveType: "LIMIT_MAKER",
        pendingAbovePrice: "3300",
        pendingAboveStopPrice: "",
        pendingAboveTimeInForce: "",
        pendingBelowType: "STOP_LOSS",
        pendingBelowStopPrice: "2500",
        pendingBelowPrice: "",
      });
      const params = Object.fromEntries(Object.entries(pair).filter(([, v]) => v !== ""));
      const opoco = await ws.request("orderList.place.opoco", signed(user.credentials!, params));
      expect(opoco).toMatchObject({
        status: 200,
        result: { orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }, { status: "PENDING_NEW" }] },
      });
      expect(
        await ws.request(
          "orderList.cancel",
          signed(user.credentials!, { symbol: "ETHUSDT", listClientOrderId: "ws-opoco" }),
        ),
      ).toMatchObject({ result: { listOrderStatus: "ALL_DONE" } });
    } finally {
      ws.close();
    }
    // Cancelling the SELL (the list is done) frees what it was selling.
    await user.signed("DELETE", "/api/v3/order", { symbol: "ETHUSDT", orderId: pending });
    expect(await balance(user, "ETH")).toEqual(["0.99900000", "0.00000000"]);
    expect(await balance(user, "USDT")).toEqual(["7100.00000000", "0.00000000"]);
  });
});

describe("OTO lists on the WebSocket API and the user data stream", () => {
  it("orderList.place.oto and orderList.place.otoco, then orderList.cancel", async () => {
    const user = await trader({ USDT: "10000", ETH: "1" });
    const ws = await Connection.open(exchange.tradingUrl);
    try {
      const call = (method: string, params: Record<string, unknown>) =>
        ws.request(method, signed(user.credentials!, params));
      const oto = await call("orderList.place.oto", takeProfit({ listClientOrderId: "ws-oto" }));
      expect(oto).toMatchObject({
        status: 200,
        result: {
          contingencyType: "OTO",
          listClientOrderId: "ws-oto",
          orderReports: [{ status: "NEW" }, { status: "PENDING_NEW" }],
        },
      });
      const otoco = await call(
        "orderList.place.otoco",
        buyBack({ listClientOrderId: "ws-otoco", newOrderRespType: "ACK" }),
      );
      expect(otoco).toMatchObject({
        status: 200,
        result: { contingencyType: "OTO", listClientOrderId: "ws-otoco" },
      });
      expect((otoco.result as { orders: unknown[] }).orders).toHaveLength(3);
      const id = (oto.result as { orderListId: number }).orderListId;
      expect(await call("orderList.cancel", { symbol: "ETHUSDT", orderListId: id })).toMatchObject({
        result: { orderListId: id, orderReports: [{ status: "CANCELED" }, { status: "CANCELED" }] },
      });
      const otocoId = (otoco.result as { orderListId: number }).orderListId;
      expect(
        await call("orderList.cancel", { symbol: "ETHUSDT", listClientOrderId: "ws-otoco" }),
      ).toMatchObject({
        result: { orderListId: otocoId, listOrderStatus: "ALL_DONE" },
      });
      expect(await balance(user, "USDT")).toEqual(["10000.00000000", "0.00000000"]);
      expect(await balance(user, "ETH")).toEqual(["1.00000000", "0.00000000"]);
    } finally {
      ws.close();
    }
  });

  it("reports the pending order PENDING_NEW, then NEW once placed, with the list's id, and the list's status as it changes", async () => {
    const user = await trader({ USDT: "10000" });
    const stream = await userStream(exchange.tradingUrl, user);
    const placed = await user.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oto",
      takeProfit({ listClientOrderId: "streamed" }),
    );
    const { orderListId } = placed.body;
    const [working, pending] = placed.body.orders.map((o) => o.orderId);
    await maker.signed("POST", "/api/v3/order", limit("SELL", "1", "2900"));
    await taker.signed("POST", "/api/v3/order", limit("BUY", "0.999", "3200"));
    const reports = await stream.reports(5);
    stream.socket.close();
    expect(reports.map((r) => [r.i, r.x, r.X, r.g])).toEqual([
      [pending, "NEW", "PENDING_NEW", orderListId],
      [working, "NEW", "NEW", orderListId],
      [working, "TRADE", "FILLED", orderListId],
      [pending, "NEW", "NEW", orderListId],
      [pending, "TRADE", "FILLED", orderListId],
    ]);
    const statuses = stream.messages.filter((m) => m.e === "listStatus");
    expect(statuses.map((s) => [s.g, s.c, s.l, s.L])).toEqual([
      [orderListId, "OTO", "EXEC_STARTED", "EXECUTING"],
      [orderListId, "OTO", "EXEC_STARTED", "EXECUTING"],
      [orderListId, "OTO", "ALL_DONE", "ALL_DONE"],
    ]);
  });
});
