import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { MatchingService } from "../../components/matching/src/index.ts";
import type { Transport } from "../../components/transport/src/index.ts";
import { linkTransport, tcpTransport } from "../../components/transport/src/index.ts";
import { freePort } from "../infra/ports.ts";
import { moneyTotals } from "../support/money.ts";
import { limitOrder, TestClient, userStream } from "./client.ts";

/**
 * The trading API with the books in a matching service (matching.kind service, over TCP): a real
 * `MatchingService` in this process, the exchange's UBSCore dialling it. While matching is away
 * an order is journaled but unanswered: the client hears Binance's -1007 (status unknown), and the
 * order runs once matching is back.
 */
let exchange: EmbeddedExchange;
let matching: MatchingService;
let address: string;
let alice: TestClient;
let bob: TestClient;
let markets: { id: number; quotePerTickLot: number }[];
/** The matching service's side of the UBSCore <-> matching link, keyed as the exchange's data dir says. */
let linked: Transport;

const order = (side: "BUY" | "SELL", quantity: string, price: string) => ({
  ...limitOrder(side, quantity, price),
  newOrderRespType: "FULL",
});

beforeAll(async () => {
  address = `127.0.0.1:${await freePort()}`;
  const config = await loadConfig({
    overrides: {
      dataDir: await mkdtemp(join(tmpdir(), "bourse-matching-api-")),
      demo: true,
      verify: true,
      gateway: { port: 0, adminPort: 0, backendTimeoutMs: 500 },
      matching: { kind: "service", listen: address, address },
    },
  });
  exchange = await startEmbeddedExchange(config, false);
  linked = linkTransport(config, tcpTransport, "ubscore", "matching");
  markets = exchange.service.core.exchange.markets.map((m) => ({
    id: m.id,
    quotePerTickLot: Number(m.quotePerTickLot),
  }));
  matching = await MatchingService.start({ transport: linked, listen: address, markets, verify: true });
  const [a, b] = exchange.demoKeys;
  alice = new TestClient(exchange.tradingUrl, a);
  bob = new TestClient(exchange.tradingUrl, b);
}, 60_000);

afterAll(async () => {
  await exchange?.close();
  await matching?.close();
});

describe("the trading API with bourse matching", () => {
  it("matches through the service: fills, balances and depth as with local books", async () => {
    const before = await moneyTotals(exchange);
    const sell = await alice.signed<{ status: string }>(
      "POST",
      "/api/v3/order",
      order("SELL", "0.1", "60000"),
    );
    expect(sell.body.status).toBe("NEW");
    const buy = await bob.signed<{ status: string; fills: { qty: string; price: string }[] }>(
      "POST",
      "/api/v3/order",
      order("BUY", "0.04", "60000"),
    );
    expect(buy.status).toBe(200);
    expect(buy.body.status).toBe("FILLED");
    expect(buy.body.fills).toEqual([expect.objectContaining({ qty: "0.04000000", price: "60000.00000000" })]);
    const depth = await alice.public<{ asks: string[][]; lastUpdateId: number }>("/api/v3/depth", {
      symbol: "BTCUSDT",
    });
    expect(depth.body.asks).toEqual([["60000.00000000", "0.06000000"]]);
    expect(depth.body.lastUpdateId).toBeGreaterThan(0);
    expect(await moneyTotals(exchange)).toEqual(before);
    expect(matching.commands).toBe(2);
  });

  it("answers -1007 while matching is away, and runs the order once it is back", async () => {
    const before = await moneyTotals(exchange);
    await matching.close();
    const buy = await bob.signed<{ code: number; msg: string }>(
      "POST",
      "/api/v3/order",
      order("BUY", "0.05", "59000"),
    );
    expect(buy.status).toBe(503);
    expect(buy.body).toEqual({
      code: -1007,
      msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    });
    // Journaled and its funds frozen: it is an open order that has not reached the book yet.
    const open = await bob.signed<{ orderId: number; price: string }[]>("GET", "/api/v3/openOrders", {
      symbol: "BTCUSDT",
    });
    expect(open.body.map((o) => o.price)).toEqual(["59000.00000000"]);

    matching = await MatchingService.start({ transport: linked, listen: address, markets, verify: true });
    for (let i = 0; i < 200 && exchange.service.core.matchingHandover().pending.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const depth = await bob.public<{ bids: string[][]; asks: string[][] }>("/api/v3/depth", {
      symbol: "BTCUSDT",
    });
    expect(depth.body).toMatchObject({
      bids: [["59000.00000000", "0.05000000"]],
      asks: [["60000.00000000", "0.06000000"]],
    });
    expect(matching.handovers).toBe(1);

    const cancel = await bob.signed<{ status: string }>("DELETE", "/api/v3/order", {
      symbol: "BTCUSDT",
      orderId: open.body[0]!.orderId,
    });
    expect(cancel.body.status).toBe("CANCELED");
    expect(await moneyTotals(exchange)).toEqual(before);
  });
});

describe("OCO lists with bourse matching", () => {
  it("an OCO through the service: its link survives a handover, and a fill of one order expires the other", async () => {
    const before = await moneyTotals(exchange);
    // Alice's 0.06 BTC still asks at 60000, the last price: a SELL OCO of 0.01 BTC around it.
    const placed = await alice.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oco",
      {
        symbol: "BTCUSDT",
        side: "SELL",
        quantity: "0.01",
        aboveType: "LIMIT_MAKER",
        abovePrice: "61000",
        belowType: "STOP_LOSS",
        belowStopPrice: "59000",
      },
    );
    expect(placed.status).toBe(200);
    const [stop, maker] = placed.body.orders.map((o) => o.orderId) as [number, number];
    // Matching restarts: UBSCore hands the books over, the OCO's link with them.
    await matching.close();
    matching = await MatchingService.start({ transport: linked, listen: address, markets, verify: true });
    const buy = await bob.signed<{ status: string; fills: { qty: string; price: string }[] }>(
      "POST",
      "/api/v3/order",
      order("BUY", "0.07", "61000"),
    );
    expect(buy.status).toBe(200);
    expect(buy.body.fills.map((f) => [f.price, f.qty])).toEqual([
      ["60000.00000000", "0.06000000"],
      ["61000.00000000", "0.01000000"],
    ]);
    const status = async (orderId: number) =>
      (await alice.signed<{ status: string }>("GET", "/api/v3/order", { symbol: "BTCUSDT", orderId })).body
        .status;
    expect([await status(maker), await status(stop)]).toEqual(["FILLED", "EXPIRED"]);
    const list = await alice.signed<{ listOrderStatus: string }>("GET", "/api/v3/orderList", {
      orderListId: placed.body.orderListId,
    });
    expect(list.body.listOrderStatus).toBe("ALL_DONE");
    expect(await moneyTotals(exchange)).toEqual(before);
  });
});

describe("OTO lists with bourse matching", () => {
  it("an OTO through the service: the working order's fill places the pending order, forwarded by UBSCore itself", async () => {
    const before = await moneyTotals(exchange);
    const btc = async () => {
      const account = await bob.signed<{ balances: { asset: string; free: string; locked: string }[] }>(
        "GET",
        "/api/v3/account",
      );
      const b = account.body.balances.find((x) => x.asset === "BTC")!;
      return [b.free, b.locked];
    };
    const [free] = await btc();
    const stream = await userStream(exchange.tradingUrl, bob);
    // Bob buys 0.01 BTC at 58000, then sells what he gets (0.00999 BTC after the fee) at 62000.
    const placed = await bob.signed<{ orderListId: number; orders: { orderId: number }[] }>(
      "POST",
      "/api/v3/orderList/oto",
      {
        symbol: "BTCUSDT",
        workingType: "LIMIT",
        workingSide: "BUY",
        workingPrice: "58000",
        workingQuantity: "0.01",
        workingTimeInForce: "GTC",
        pendingType: "LIMIT_MAKER",
        pendingSide: "SELL",
        pendingPrice: "62000",
        pendingQuantity: "0.00999",
      },
    );
    expect(placed.status).toBe(200);
    const [working, pending] = placed.body.orders.map((o) => o.orderId) as [number, number];
    const status = async (orderId: number) =>
      (await bob.signed<{ status: string }>("GET", "/api/v3/order", { symbol: "BTCUSDT", orderId })).body
        .status;
    expect([await status(working), await status(pending)]).toEqual(["NEW", "PENDING_NEW"]);
    const commands = matching.commands;
    await alice.signed("POST", "/api/v3/order", order("SELL", "0.01", "58000"));
    // The pending order's place follows the outcome of Alice's sell: the service runs it too.
    for (let i = 0; i < 200 && matching.commands < commands + 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    for (let i = 0; i < 200 && exchange.service.core.forwardedWaiting() > 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect([await status(working), await status(pending)]).toEqual(["FILLED", "NEW"]);
    // The pending order reported PENDING_NEW as the list was placed, before its working order's NEW.
    const reports = await stream.reports(4);
    stream.socket.close();
    expect(reports.map((r) => [r.i, r.x, r.X])).toEqual([
      [pending, "NEW", "PENDING_NEW"],
      [working, "NEW", "NEW"],
      [working, "TRADE", "FILLED"],
      [pending, "NEW", "NEW"],
    ]);
    const depth = await bob.public<{ asks: string[][] }>("/api/v3/depth", { symbol: "BTCUSDT" });
    expect(depth.body.asks).toContainEqual(["62000.00000000", "0.00999000"]);
    // What the buy received, all of it locked by the pending SELL.
    const [freeAfter, locked] = await btc();
    expect(locked).toBe("0.00999000");
    expect(freeAfter).toBe(free);
    expect(await moneyTotals(exchange)).toEqual(before);
  });
});
