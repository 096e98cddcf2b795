import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
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

/**
 * Sends live subscription requests on a connection and returns each answer, paced: more than
 * gateway.websocket.maxMessagesPerSecond (5, as Binance) drops the connection.
 */
function requester({ messages, socket }: { messages: unknown[]; socket: WebSocket }) {
  return async (body: unknown) => {
    await new Promise((r) => setTimeout(r, 220));
    const before = messages.length;
    socket.send(typeof body === "string" ? body : JSON.stringify(body));
    return until(
      () =>
        messages.slice(before).find((m) => (m as { id?: unknown }).id !== undefined) as Record<
          string,
          unknown
        >,
      "an answer",
    );
  };
}

const order = (side: string, quantity: string, price: string) => ({
  symbol: "ETHUSDT",
  side,
  type: "LIMIT",
  timeInForce: "GTC",
  quantity,
  price,
});

const btc = (side: string, quantity: string, price: string) => ({
  ...order(side, quantity, price),
  symbol: "BTCUSDT",
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

type Diff = { U: number; u: number; b: string[][]; a: string[][] };

/**
 * A book rebuilt the way Binance tells clients to: drop diffs with u <= lastUpdateId; the first
 * kept has U <= lastUpdateId+1 <= u; each next U is the previous u + 1 (checked); then each level
 * of each diff replaces the snapshot's, a zero quantity removing it.
 */
function rebuild(snapshot: { lastUpdateId: number; bids: string[][]; asks: string[][] }, diffs: Diff[]) {
  const kept = diffs.filter((d) => d.u > snapshot.lastUpdateId);
  expect(kept[0]!.U).toBeLessThanOrEqual(snapshot.lastUpdateId + 1);
  expect(kept[0]!.u).toBeGreaterThanOrEqual(snapshot.lastUpdateId + 1);
  for (let i = 1; i < kept.length; i++) expect(kept[i]!.U).toBe(kept[i - 1]!.u + 1);
  const book = {
    bids: new Map(snapshot.bids.map(([p, q]) => [p!, q!])),
    asks: new Map(snapshot.asks.map(([p, q]) => [p!, q!])),
  };
  const apply = (side: Map<string, string>, levels: string[][]) => {
    for (const [p, q] of levels) Number(q) === 0 ? side.delete(p!) : side.set(p!, q!);
  };
  for (const d of kept) {
    apply(book.bids, d.b);
    apply(book.asks, d.a);
  }
  return book;
}

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
    const diffs = await until(
      () => (depthStream.messages.length >= 3 ? (depthStream.messages as Diff[]) : undefined),
      "3 diffs",
    );
    const book = rebuild(snapshot, diffs);
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
    const connection = await listen("/ws");
    const { messages, socket } = connection;
    const request = requester(connection);
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

/**
 * BTCUSDT's tickers at `E` after its first command's trades (`first`, `last`): 0.01 at 60,000 and
 * 0.02 at 60,300, 1,806 USDT for 0.03 BTC, 60,200 on average; the book empty.
 */
function expectedTickers(E: number, first: { id: number }, last: { id: number }) {
  const window = {
    p: "300.00000000",
    P: "0.500",
    o: "60000.00000000",
    h: "60300.00000000",
    l: "60000.00000000",
    c: "60300.00000000",
    w: "60200.00000000",
    v: "0.03000000",
    q: "1806.00000000",
    C: E,
    F: first.id,
    L: last.id,
    n: 2,
  };
  const day = {
    ...window,
    e: "24hrTicker",
    E,
    s: "BTCUSDT",
    x: "60000.00000000",
    Q: "0.02000000",
    b: "0.00000000",
    B: "0.00000000",
    a: "0.00000000",
    A: "0.00000000",
    O: E - 86_400_000,
  };
  const mini = {
    e: "24hrMiniTicker",
    E,
    s: "BTCUSDT",
    c: "60300.00000000",
    o: "60000.00000000",
    h: "60300.00000000",
    l: "60000.00000000",
    v: "0.03000000",
    q: "1806.00000000",
  };
  const rolling = (e: string, hours: number) => ({ e, E, s: "BTCUSDT", ...window, O: E - hours * 3_600_000 });
  return { day, mini, rolling };
}

describe("tickers of every market, rolling windows and the average price", () => {
  it("sends each ticker after a command's trades, exactly as Binance writes them, until unsubscribed", async () => {
    const seller = await newUser({ BTC: "1" });
    const buyer = await newUser({ USDT: "100000" });
    const names = [
      "btcusdt@ticker",
      "!ticker@arr",
      "!miniTicker@arr",
      "btcusdt@ticker_1h",
      "!ticker_4h@arr",
      "btcusdt@ticker_1d",
      "btcusdt@avgPrice",
    ];
    const connection = await listen(`/stream?streams=${names.join("/")}`);
    const request = requester(connection);
    expect(await request({ method: "LIST_SUBSCRIPTIONS", id: 1 })).toEqual({ result: names, id: 1 });
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.01", "60000"));
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.02", "60300"));
    // One command, two trades: one message on each stream.
    await buyer.signed("POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "MARKET",
      quantity: "0.03",
    });
    type Msg = { stream: string; data: Record<string, unknown> & Record<string, unknown>[] };
    const msgs = () => connection.messages.slice(1) as Msg[];
    const trades = (
      await taker.public<{ id: number; time: number }[]>("/api/v3/trades", { symbol: "BTCUSDT" })
    ).body;
    const [first, last] = [trades.at(-2)!, trades.at(-1)!];
    // Each stream's message as Binance writes it at its own event time (the second's refresh may
    // also send a market's ticker, before the trades or for another market).
    const expected = (stream: string, E: number): unknown => {
      const { day, mini, rolling } = expectedTickers(E, first, last);
      const avgPrice = { e: "avgPrice", E, s: "BTCUSDT", i: "5m", w: "60200.00000000", T: last.time };
      const views: Record<string, unknown> = {
        "btcusdt@ticker": day,
        "!ticker@arr": [day],
        "!miniTicker@arr": [mini],
        "btcusdt@ticker_1h": rolling("1hTicker", 1),
        "!ticker_4h@arr": [rolling("4hTicker", 4)],
        "btcusdt@ticker_1d": rolling("1dTicker", 24),
        "btcusdt@avgPrice": avgPrice,
      };
      return views[stream];
    };
    const eventTime = (m: Msg) => ((Array.isArray(m.data) ? m.data[0] : m.data) as { E: number }).E;
    const matches = (m: Msg) => isDeepStrictEqual(m.data, expected(m.stream, eventTime(m)));
    await until(
      () => names.every((name) => msgs().some((m) => m.stream === name && matches(m))),
      "each stream's ticker after the trades",
    );
    const day = expectedTickers(
      eventTime(msgs().find((m) => m.stream === "btcusdt@ticker" && matches(m))!),
      first,
      last,
    ).day;
    // The same figures as REST's rolling window ticker and average price.
    const rest = (
      await taker.public<Record<string, unknown>>("/api/v3/ticker", { symbol: "BTCUSDT", windowSize: "1h" })
    ).body;
    expect([rest.priceChange, rest.weightedAvgPrice, rest.volume, rest.firstId, rest.count]).toEqual([
      day.p,
      day.w,
      day.v,
      day.F,
      day.n,
    ]);
    expect((await taker.public("/api/v3/avgPrice", { symbol: "BTCUSDT" })).body).toEqual({
      mins: 5,
      price: "60200.00000000",
      closeTime: last.time,
    });

    expect(
      await request({ method: "UNSUBSCRIBE", params: ["!ticker@arr", "btcusdt@avgPrice"], id: 2 }),
    ).toEqual({
      result: null,
      id: 2,
    });
    const before = connection.messages.length;
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.01", "60100"));
    await buyer.signed("POST", "/api/v3/order", btc("BUY", "0.005", "60100"));
    await buyer.signed("POST", "/api/v3/order", btc("BUY", "0.005", "60100"));
    const since = () => connection.messages.slice(before) as Msg[];
    // Each buy's trade reaches every stream still subscribed, and none reaches the others.
    await until(
      () =>
        [last.id + 1, last.id + 2].every((id) =>
          since().some((m) => m.stream === "btcusdt@ticker" && m.data.L === id),
        ),
      "the tickers of both trades",
    );
    const stillSubscribed = names.filter((n) => n !== "!ticker@arr" && n !== "btcusdt@avgPrice");
    expect([...new Set(since().map((m) => m.stream))].sort()).toEqual(stillSubscribed.sort());
    connection.socket.close();
  });
});

describe("partial book depth", () => {
  type Book = { lastUpdateId: number; bids: string[][]; asks: string[][] };
  const restBook = async (limit: number) =>
    (await taker.public<Book>("/api/v3/depth", { symbol: "BTCUSDT", limit })).body;

  it("sends the top levels on subscribing and after each command that changes them, as REST's depth", async () => {
    const seller = await newUser({ BTC: "1" });
    const buyer = await newUser({ USDT: "100000" });
    for (const price of ["61100", "61200", "61300", "61400", "61500", "61600"])
      await seller.signed("POST", "/api/v3/order", btc("SELL", "0.01", price));
    await buyer.signed("POST", "/api/v3/order", btc("BUY", "0.5", "59000"));
    const raw = await listen("/ws/btcusdt@depth5");
    const snapshot = await until(() => raw.messages[0] as Book | undefined, "the snapshot");
    expect(snapshot).toEqual({
      lastUpdateId: (await restBook(5)).lastUpdateId,
      bids: [["59000.00000000", "0.50000000"]],
      asks: ["61100", "61200", "61300", "61400", "61500"].map((p) => [`${p}.00000000`, "0.01000000"]),
    });
    // Below the top five: nothing sent. Then the best ask is taken: the new top five.
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.01", "61700"));
    await buyer.signed("POST", "/api/v3/order", btc("BUY", "0.01", "61100"));
    const change = await until(() => raw.messages[1] as Book | undefined, "the change");
    expect(change).toEqual(await restBook(5));
    expect(change.asks.map(([p]) => p)).toEqual(
      ["61200", "61300", "61400", "61500", "61600"].map((p) => `${p}.00000000`),
    );
    expect(change.lastUpdateId).toBeGreaterThan(snapshot.lastUpdateId);
    expect(raw.messages).toHaveLength(2);
    raw.socket.close();
  });

  it("subscribes by SUBSCRIBE (the answer first, then the book), combined, and stops on UNSUBSCRIBE", async () => {
    const seller = await newUser({ BTC: "1" });
    const connection = await listen("/stream?streams=btcusdt@depth10@100ms");
    const request = requester(connection);
    const first = await until(() => connection.messages[0] as { stream: string; data: Book }, "the snapshot");
    expect(first).toEqual({ stream: "btcusdt@depth10@100ms", data: await restBook(10) });
    expect(
      await request({ method: "SUBSCRIBE", params: ["btcusdt@depth20", "btcusdt@depth5@100ms"], id: 7 }),
    ).toEqual({ result: null, id: 7 });
    const answered = connection.messages.findIndex((m) => (m as { id?: number }).id === 7);
    await until(() => connection.messages.length >= answered + 3, "two snapshots");
    const after = connection.messages.slice(answered + 1) as { stream: string; data: Book }[];
    expect(after.map((m) => m.stream).sort()).toEqual(["btcusdt@depth20", "btcusdt@depth5@100ms"]);
    expect(after.find((m) => m.stream === "btcusdt@depth20")!.data).toEqual(await restBook(20));
    expect(await request({ method: "LIST_SUBSCRIPTIONS", id: 8 })).toEqual({
      result: ["btcusdt@depth10@100ms", "btcusdt@depth20", "btcusdt@depth5@100ms"],
      id: 8,
    });
    expect(await request({ method: "UNSUBSCRIBE", params: ["btcusdt@depth5@100ms"], id: 9 })).toEqual({
      result: null,
      id: 9,
    });
    const before = connection.messages.length;
    // The best ask: every depth changes; the unsubscribed one sends nothing.
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.02", "60900"));
    await seller.signed("POST", "/api/v3/order", btc("SELL", "0.02", "60800"));
    const updates = () => connection.messages.slice(before) as { stream: string; data: Book }[];
    await until(() => updates().length >= 4, "four updates");
    expect(updates().map((m) => m.stream)).toEqual([
      "btcusdt@depth10@100ms",
      "btcusdt@depth20",
      "btcusdt@depth10@100ms",
      "btcusdt@depth20",
    ]);
    expect(updates().at(-1)!.data).toEqual(await restBook(20));
    expect(updates()[2]!.data.asks[0]).toEqual(["60800.00000000", "0.02000000"]);
    connection.socket.close();
  });

  it("refuses malformed and unknown names as before, adding none of a request's streams", async () => {
    const connection = await listen("/ws/btcusdt@depth5");
    const request = requester(connection);
    for (const [id, name] of [
      "btcusdt@depth7",
      "btcusdt@depth05",
      "BTCUSDT@depth5",
      "btcusdt@ticker_2h",
      "btcusdt@ticker_",
      "!bookTicker@arr",
      "!ticker_1h",
      "dogeusdt@avgPrice",
    ].entries())
      expect(await request({ method: "SUBSCRIBE", params: ["btcusdt@avgPrice", name], id })).toMatchObject({
        code: 2,
        msg: `Invalid request: Invalid stream name: ${name}`,
        id,
      });
    expect(await request({ method: "LIST_SUBSCRIPTIONS", id: 100 })).toEqual({
      result: ["btcusdt@depth5"],
      id: 100,
    });
    connection.socket.close();
    const bad = await listen("/ws/btcusdt@depth15");
    expect(await bad.closed).toBe(1008);
    expect(bad.messages[0]).toMatchObject({ code: -1100 });
  });
});
