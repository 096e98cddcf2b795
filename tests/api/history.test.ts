import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../components/matching/src/index.ts";
import { TestClient } from "./client.ts";

/**
 * History beyond what UBSCore keeps in memory: with the smallest retention (1,000 closed orders,
 * 1,000 trades per market), 4,400 crossing orders make 2,200 trades; the oldest orders and trades
 * are gone from UBSCore and must come from the history store, through the same API. With
 * settlement on UBSCore's thread and on a worker thread (whose store is read through it).
 */
const PAIRS = 2_200;

/** PAIRS buys by alice crossing PAIRS sells by bob, one pair at a time: PAIRS trades. */
async function crossOrders(exchange: EmbeddedExchange): Promise<void> {
  const [a, b] = exchange.demoKeys;
  const base = { symbol: "BTCUSDT", type: OrderType.Limit, tif: TimeInForce.GTC, quoteUnits: 0n, stp: 0 };
  for (let i = 0; i < PAIRS; i++) {
    await Promise.all([
      exchange.service.submit({
        kind: "place",
        ...base,
        userId: a!.userId,
        clientOrderId: `buy${i}`,
        side: Side.Buy,
        priceTicks: 6_000_000,
        qtyLots: 10,
        time: Date.now(),
      }),
      exchange.service.submit({
        kind: "place",
        ...base,
        userId: b!.userId,
        clientOrderId: `sell${i}`,
        side: Side.Sell,
        priceTicks: 6_000_000,
        qtyLots: 10,
        time: Date.now(),
      }),
    ]);
  }
}

/** Snapshots every thousand commands (the restart below starts from one), the least retention. */
function historyConfig(kind: "inline" | "worker") {
  return mkdtemp(join(tmpdir(), "bourse-history-")).then((dataDir) =>
    loadConfig({
      overrides: {
        dataDir,
        demo: true,
        gateway: { port: 0, adminPort: 0 },
        settlement: { kind },
        ubscore: { snapshotEvery: 1_000, retention: { closedOrders: 1_000, tradesPerMarket: 1_000 } },
      },
    }),
  );
}

/**
 * The exchange of the settlement kind under test, set by its beforeAll (the kinds run one after the
 * other).
 */
let exchange: EmbeddedExchange;
let alice: TestClient;
let config: Awaited<ReturnType<typeof loadConfig>>;

function ordersBeyondRetention(): void {
  it("UBSCore forgot the oldest orders and trades", () => {
    expect(exchange.service.core.orderByClientId(exchange.demoKeys[0]!.userId, "buy0")).toBeUndefined();
    expect(exchange.service.core.tradesOf(1).length).toBeLessThan(PAIRS);
  });

  it("serves an old order by id and by client order id from the store", async () => {
    const byClientId = await alice.signed<{ orderId: number; status: string; clientOrderId: string }>(
      "GET",
      "/api/v3/order",
      { symbol: "BTCUSDT", origClientOrderId: "buy0" },
    );
    expect(byClientId.status).toBe(200);
    expect(byClientId.body).toMatchObject({
      clientOrderId: "buy0",
      status: "FILLED",
      executedQty: "0.00010000",
    });
    const byId = await alice.signed("GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      orderId: byClientId.body.orderId,
    });
    expect(byId.body).toEqual(byClientId.body);
  });

  it("lists every order across the store and UBSCore, oldest from orderId, newest without", async () => {
    const oldest = await alice.signed<{ clientOrderId: string }[]>("GET", "/api/v3/allOrders", {
      symbol: "BTCUSDT",
      orderId: 1,
      limit: 1000,
    });
    expect(oldest.body.map((o) => o.clientOrderId).slice(0, 3)).toEqual(["buy0", "buy1", "buy2"]);
    const newest = await alice.signed<{ clientOrderId: string }[]>("GET", "/api/v3/allOrders", {
      symbol: "BTCUSDT",
      limit: 1000,
    });
    expect(newest.body).toHaveLength(1000);
    expect(newest.body.at(-1)!.clientOrderId).toBe(`buy${PAIRS - 1}`);
  });
}

function tradesBeyondRetention(): void {
  it("finds the trades of an old order, and the most recent trades, each once", async () => {
    const order = await alice.signed<{ orderId: number }>("GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      origClientOrderId: "buy1",
    });
    const trades = await alice.signed<{ orderId: number; isBuyer: boolean }[]>("GET", "/api/v3/myTrades", {
      symbol: "BTCUSDT",
      orderId: order.body.orderId,
    });
    expect(trades.body).toEqual([expect.objectContaining({ orderId: order.body.orderId, isBuyer: true })]);
    const recent = await alice.signed<{ id: number }[]>("GET", "/api/v3/myTrades", {
      symbol: "BTCUSDT",
      limit: 1000,
    });
    expect(recent.body).toHaveLength(1000);
    expect(new Set(recent.body.map((t) => t.id)).size).toBe(1000);
    // From a trade id on: the store's oldest trades, in order, then on into UBSCore's.
    const first = await alice.signed<{ id: number }[]>("GET", "/api/v3/myTrades", {
      symbol: "BTCUSDT",
      fromId: 0,
      limit: 3,
    });
    const firstId = first.body[0]!.id;
    expect(first.body.map((t) => t.id)).toEqual([firstId, firstId + 1, firstId + 2]);
    const next = await alice.signed<{ id: number }[]>("GET", "/api/v3/myTrades", {
      symbol: "BTCUSDT",
      fromId: firstId + 2,
      limit: 2,
    });
    expect(next.body.map((t) => t.id)).toEqual([firstId + 2, firstId + 3]);
  });

  it("serves historicalTrades from any id: the store's oldest, on into UBSCore's, each once", async () => {
    const from = (fromId: number, limit: number) =>
      alice.public<{ id: number }[]>("/api/v3/historicalTrades", { symbol: "BTCUSDT", fromId, limit });
    const held = exchange.service.core.tradesOf(1);
    const oldestHeld = held[0]!.tradeId;
    expect((await from(1, 3)).body.map((t) => t.id)).toEqual([1, 2, 3]);
    // Across the edge of what UBSCore holds: no gap, nothing twice.
    const across = await from(oldestHeld - 2, 5);
    expect(across.body.map((t) => t.id)).toEqual([0, 1, 2, 3, 4].map((i) => oldestHeld - 2 + i));
    expect((await from(1, 1000)).body).toHaveLength(1000);
  });

  it("keeps klines and the 24h ticker over every trade, across a restart", async () => {
    const tradesIn = async () => {
      const klines = await new TestClient(exchange.tradingUrl).public<unknown[][]>("/api/v3/klines", {
        symbol: "BTCUSDT",
        interval: "1d",
      });
      return klines.body.reduce((n, k) => n + Number(k[8]), 0);
    };
    expect(exchange.service.core.tradesOf(1).length).toBeLessThan(PAIRS);
    expect(await tradesIn()).toBe(PAIRS);
    await exchange.close();
    exchange = await startEmbeddedExchange(config, false);
    expect(await tradesIn()).toBe(PAIRS);
    const ticker = await new TestClient(exchange.tradingUrl).public<{ count: number }>(
      "/api/v3/ticker/24hr",
      {
        symbol: "BTCUSDT",
      },
    );
    expect(ticker.body.count).toBe(PAIRS);
  });
}

describe.each(["inline", "worker"] as const)("settlement %s", (kind) => {
  beforeAll(async () => {
    config = await historyConfig(kind);
    exchange = await startEmbeddedExchange(config, false);
    alice = new TestClient(exchange.tradingUrl, exchange.demoKeys[0]);
    await crossOrders(exchange);
    await exchange.settlement.waitSettled(exchange.service.lastLsn);
  }, 120_000);

  afterAll(async () => {
    await exchange?.close();
  });

  describe("orders beyond UBSCore's retention", ordersBeyondRetention);
  describe("trades beyond UBSCore's retention", tradesBeyondRetention);
});
