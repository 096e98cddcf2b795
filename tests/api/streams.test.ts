import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../components/config/src/load.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { newUser as createUser } from "../support/operator-api.ts";
import { until } from "../support/until.ts";
import type { TestClient } from "./client.ts";

/** Market data and user data over real WebSockets, checked against the REST views. */
const TOKEN = "stream-test-operator-token-000";
let exchange: EmbeddedExchange;
let maker: TestClient;
let taker: TestClient;

const newUser = (deposits: Record<string, string>) =>
  createUser({ adminUrl: exchange.adminUrl, tradingUrl: exchange.tradingUrl, token: TOKEN }, deposits);

/** Opens a stream and collects its messages. */
async function listen(
  path: string,
): Promise<{ messages: unknown[]; socket: WebSocket; closed: Promise<number> }> {
  const socket = new WebSocket(`${exchange.tradingUrl.replace("http", "ws")}${path}`);
  const messages: unknown[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { messages, socket, closed };
}

const order = (side: string, quantity: string, price: string) => ({
  symbol: "ETHUSDT",
  side,
  type: "LIMIT",
  timeInForce: "GTC",
  quantity,
  price,
});

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-streams-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, verify: true, gateway: { port: 0, adminPort: 0, adminToken: TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
  maker = await newUser({ ETH: "10" });
  taker = await newUser({ USDT: "100000" });
});

afterAll(async () => {
  await exchange.close();
});

describe("market data streams", () => {
  it("depth diffs chain onto the REST snapshot's lastUpdateId and rebuild the same book", async () => {
    await maker.signed("POST", "/api/v3/order", order("SELL", "1", "2000"));
    const depthStream = await listen("/ws/ethusdt@depth");
    const snapshot = (
      await taker.public<{ lastUpdateId: number; bids: string[][]; asks: string[][] }>("/api/v3/depth", {
        symbol: "ETHUSDT",
      })
    ).body;
    await maker.signed("POST", "/api/v3/order", order("SELL", "2", "2001"));
    await taker.signed("POST", "/api/v3/order", order("BUY", "1.5", "2001"));
    await taker.signed("POST", "/api/v3/order", order("BUY", "0.5", "1990"));
    type Diff = { U: number; u: number; b: string[][]; a: string[][] };
    const diffs = await until(
      () => (depthStream.messages.length >= 3 ? (depthStream.messages as Diff[]) : undefined),
      "3 diffs",
    );
    // Binance's rule: drop diffs with u <= lastUpdateId; the first kept has U <= lastUpdateId+1 <= u;
    // each next U is the previous u + 1.
    const kept = diffs.filter((d) => d.u > snapshot.lastUpdateId);
    expect(kept[0]!.U).toBeLessThanOrEqual(snapshot.lastUpdateId + 1);
    expect(kept[0]!.u).toBeGreaterThanOrEqual(snapshot.lastUpdateId + 1);
    for (let i = 1; i < kept.length; i++) expect(kept[i]!.U).toBe(kept[i - 1]!.u + 1);
    const book = {
      bids: new Map(snapshot.bids.map(([p, q]) => [p!, q!])),
      asks: new Map(snapshot.asks.map(([p, q]) => [p!, q!])),
    };
    for (const d of kept) {
      for (const [side, levels] of [
        [book.bids, d.b],
        [book.asks, d.a],
      ] as const) {
        for (const [p, q] of levels) Number(q) === 0 ? side.delete(p!) : side.set(p!, q!);
      }
    }
    const now = (
      await taker.public<{ bids: string[][]; asks: string[][] }>("/api/v3/depth", { symbol: "ETHUSDT" })
    ).body;
    expect([...book.bids].sort((a, b) => Number(b[0]) - Number(a[0]))).toEqual(now.bids);
    expect([...book.asks].sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(now.asks);
    depthStream.socket.close();
  });

  it("publishes trades, 1m klines and book tickers on a combined stream, matching REST", async () => {
    const combined = await listen("/stream?streams=ethusdt@trade/ethusdt@kline_1m/ethusdt@bookTicker");
    await taker.signed("POST", "/api/v3/order", order("BUY", "0.25", "2001"));
    type Msg = { stream: string; data: Record<string, unknown> };
    const msgs = () => combined.messages as Msg[];
    const trade = await until(() => msgs().find((m) => m.stream === "ethusdt@trade"), "trade");
    expect(trade.data).toMatchObject({
      e: "trade",
      s: "ETHUSDT",
      p: "2001.00000000",
      q: "0.25000000",
      m: false,
    });
    const kline = await until(() => msgs().find((m) => m.stream === "ethusdt@kline_1m"), "kline");
    const rest = (await taker.public<unknown[][]>("/api/v3/klines", { symbol: "ETHUSDT", interval: "1m" }))
      .body;
    expect((kline.data.k as Record<string, unknown>).c).toBe("2001.00000000");
    expect(rest.at(-1)![4]).toBe("2001.00000000");
    expect((kline.data.k as Record<string, unknown>).v).toBe(rest.at(-1)![5]);
    const ticker = await until(() => msgs().find((m) => m.stream === "ethusdt@bookTicker"), "bookTicker");
    const restTicker = (
      await taker.public<Record<string, string>>("/api/v3/ticker/bookTicker", { symbol: "ETHUSDT" })
    ).body;
    expect(ticker.data).toMatchObject({
      s: "ETHUSDT",
      a: restTicker.askPrice,
      A: restTicker.askQty,
      b: restTicker.bidPrice,
    });
    const day = (await taker.public<Record<string, unknown>>("/api/v3/ticker/24hr", { symbol: "ETHUSDT" }))
      .body;
    expect(day).toMatchObject({
      symbol: "ETHUSDT",
      lastPrice: "2001.00000000",
      count: 3,
      highPrice: "2001.00000000",
    });
    combined.socket.close();
  });

  it("refuses unknown streams with an error and a close", async () => {
    const bad = await listen("/ws/dogeusdt@trade");
    expect(await bad.closed).toBe(1008);
    expect(bad.messages[0]).toMatchObject({ code: -1100 });
  });
});

describe("user data stream", () => {
  it("sends executionReports and account positions to the listen key's owner only", async () => {
    const key = (await taker.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "")).body.listenKey;
    const stream = await listen(`/ws/${key}`);
    const other = await listen(
      `/ws/${(await maker.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "")).body.listenKey}`,
    );
    await maker.signed("POST", "/api/v3/order", order("SELL", "1", "2002"));
    await taker.signed("POST", "/api/v3/order", { ...order("BUY", "0.4", "2002"), newClientOrderId: "ws-1" });
    type Report = {
      e: string;
      c?: string;
      x?: string;
      X?: string;
      l?: string;
      z?: string;
      B?: { a: string }[];
    };
    const reports = () => stream.messages as Report[];
    await until(() => reports().find((r) => r.e === "outboundAccountPosition"), "account position");
    expect(
      reports()
        .filter((r) => r.e === "executionReport")
        .map((r) => [r.c, r.x, r.X, r.l, r.z]),
    ).toEqual([
      // The NEW report tells the order as accepted: nothing cumulated yet, though it filled at once.
      ["ws-1", "NEW", "NEW", "0.00000000", "0.00000000"],
      ["ws-1", "TRADE", "FILLED", "0.40000000", "0.40000000"],
    ]);
    expect(
      reports()
        .find((r) => r.e === "outboundAccountPosition")!
        .B!.map((b) => b.a),
    ).toEqual(["ETH", "USDT"]);
    // The maker's stream sees the maker's side of the trade, never the taker's order.
    await until(() => (other.messages as Report[]).find((r) => r.x === "TRADE"), "maker trade report");
    expect((other.messages as Report[]).some((r) => r.c === "ws-1")).toBe(false);
    stream.socket.close();
    other.socket.close();
  });

  it("rejects a listen key after it is closed, and another user's keep-alive", async () => {
    const key = (await taker.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "")).body.listenKey;
    expect((await maker.raw("PUT", "/api/v3/userDataStream", `listenKey=${key}`)).body).toMatchObject({
      code: -1125,
    });
    expect((await taker.raw("PUT", "/api/v3/userDataStream", `listenKey=${key}`)).status).toBe(200);
    expect((await taker.raw("DELETE", "/api/v3/userDataStream", `listenKey=${key}`)).status).toBe(200);
    const reused = await listen(`/ws/${key}`);
    expect(await reused.closed).toBe(1008);
    expect((await taker.raw("PUT", "/api/v3/userDataStream", `listenKey=${key}`)).body).toMatchObject({
      code: -1125,
    });
  });
});

describe("live subscriptions on /ws", () => {
  it("subscribes, lists, switches to combined, unsubscribes; a bad request is answered and changes nothing", async () => {
    const { messages, socket } = await listen("/ws");
    const request = async (body: unknown) => {
      // Paced: more than gateway.websocket.maxMessagesPerSecond (5, as Binance) drops the connection.
      await new Promise((r) => setTimeout(r, 220));
      const before = messages.length;
      socket.send(typeof body === "string" ? body : JSON.stringify(body));
      return until(() => messages[before] as Record<string, unknown> | undefined, "an answer");
    };
    expect(
      await request({ method: "SUBSCRIBE", params: ["ethusdt@trade", "ethusdt@aggTrade"], id: 1 }),
    ).toEqual({
      result: null,
      id: 1,
    });
    expect(
      await request({ method: "SUBSCRIBE", params: ["ethusdt@trade", "nopeusdt@trade"], id: 2 }),
    ).toMatchObject({
      code: 2,
      id: 2,
    });
    expect(await request("{not json")).toMatchObject({ code: 3, id: null });
    expect(await request({ method: "LIST_SUBSCRIPTIONS", id: 3 })).toEqual({
      result: ["ethusdt@trade", "ethusdt@aggTrade"],
      id: 3,
    });
    expect(await request({ method: "SET_PROPERTY", params: ["combined", true], id: 4 })).toEqual({
      result: null,
      id: 4,
    });
    expect(await request({ method: "UNSUBSCRIBE", params: ["ethusdt@aggTrade"], id: 5 })).toEqual({
      result: null,
      id: 5,
    });

    const before = messages.length;
    await maker.signed("POST", "/api/v3/order", order("SELL", "0.5", "2100"));
    await taker.signed("POST", "/api/v3/order", order("BUY", "0.5", "2100"));
    const trade = await until(
      () => messages[before] as { stream: string; data: { e: string; p: string } },
      "a trade",
    );
    expect(trade).toMatchObject({ stream: "ethusdt@trade", data: { e: "trade" } });
    await new Promise((r) => setTimeout(r, 100));
    // Only the trade stream, combined: the aggregate-trade stream was unsubscribed.
    expect(messages.slice(before).map((m) => (m as { stream: string }).stream)).toEqual(["ethusdt@trade"]);
    socket.close();
  });
});
