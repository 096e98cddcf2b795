import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINTS, errorCodesOf } from "../../components/gateway/src/index.ts";
import { type ClientsExchange, startEmbedded, type User } from "../clients/exchange.ts";
import { limitOrder } from "./client.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * The WebSocket API's door, tried by someone with no key, a wrong key, a bad signature, an old
 * or replayed request, a captured logon, junk and oversized frames: each answered with Binance's
 * error (and the connection let go where Binance would), and nothing changes.
 */
let exchange: ClientsExchange;

beforeAll(async () => {
  exchange = await startEmbedded();
});

afterAll(async () => {
  await exchange?.close();
});

const sell = limitOrder("SELL", "0.01", "70000");

async function openOrders(user: User): Promise<unknown[]> {
  const c = await Connection.open(exchange.tradingUrl);
  const answer = await c.request("openOrders.status", signed(user, { symbol: "BTCUSDT" }));
  c.close();
  return answer.result as unknown as unknown[];
}

describe("the WebSocket API's methods", () => {
  it("serves every endpoint declared with a method, answering with the endpoint's documented errors", async () => {
    const c = await Connection.open(exchange.tradingUrl);
    for (const spec of ENDPOINTS) {
      if (!spec.ws) continue;
      // An undeclared parameter: refused by the endpoint's own parser (or its door before it).
      const answer = await c.request(spec.ws, { junk: "1" });
      expect(answer.error?.msg, spec.ws).not.toBe("Unknown method.");
      expect(errorCodesOf(spec), spec.ws).toContain(answer.error?.code);
    }
    c.close();
  });
});

describe("WebSocket API attacks", () => {
  it("refuses unsigned, wrongly keyed, badly signed, stale, replayed and malformed requests, and places nothing", async () => {
    const before = await exchange.totals();
    const victim = await exchange.fundedUser({ BTC: "1" });
    const other = await exchange.fundedUser({ BTC: "1" });
    const c = await Connection.open(exchange.tradingUrl);
    const code = async (method: string, params?: Record<string, unknown>) => {
      const answer = await c.request(method, params);
      return [answer.status, answer.error?.code];
    };

    expect(await code("order.place", { ...sell, timestamp: Date.now() })).toEqual([400, -1102]);
    expect(await code("order.place", { ...sell, apiKey: victim.apiKey, timestamp: Date.now() })).toEqual([
      400, -1102,
    ]);
    expect(await code("order.place", { ...signed(victim, sell), apiKey: "0".repeat(64) })).toEqual([
      401, -2015,
    ]);
    expect(await code("order.place", { ...signed(victim, sell), apiKey: "not a key!" })).toEqual([
      401, -2014,
    ]);
    // Signed by someone else's secret, or with the order changed after signing.
    expect(await code("order.place", { ...signed(other, sell), apiKey: victim.apiKey })).toEqual([
      400, -1022,
    ]);
    expect(await code("order.place", { ...signed(victim, sell), price: "1" })).toEqual([400, -1022]);
    expect(await code("order.place", signed(victim, sell, Date.now() - 60_000))).toEqual([400, -1021]);
    // A parameter the method does not read is an error, not ignored.
    expect(await code("order.place", signed(victim, { ...sell, icebergQty: "1" }))).toEqual([400, -1104]);
    expect(await code("order.frobnicate", {})).toEqual([400, -1000]);
    expect(await code("toString", {})).toEqual([400, -1000]);
    expect(await code("__proto__", {})).toEqual([400, -1000]);
    expect(await code("userDataStream.subscribe")).toEqual([401, -2015]);

    expect((await c.raw("{not json", null)).error?.code).toBe(-1135);
    expect((await c.raw(JSON.stringify({ id: 7, method: "ping", params: [1] }), 7)).error?.code).toBe(-1135);
    expect(
      (await c.raw(JSON.stringify({ id: 8, method: "ping", params: { a: { b: 1 } } }), 8)).error?.code,
    ).toBe(-1100);
    expect(await openOrders(victim)).toEqual([]);

    // The same signed frame twice, on one connection or another: taken once.
    const frame = JSON.stringify({ id: "once", method: "order.place", params: signed(victim, sell) });
    expect((await c.raw(frame, "once")).status).toBe(200);
    expect((await c.raw(frame, "once")).error?.code).toBe(-1021);
    const elsewhere = await Connection.open(exchange.tradingUrl);
    expect((await elsewhere.raw(frame, "once")).error?.code).toBe(-1021);
    expect(await openOrders(victim)).toHaveLength(1);

    // Junk frames: binary and oversized ones end the connection.
    const binaryClosed = elsewhere.closed();
    elsewhere.socket.send(Buffer.from([1, 2, 3]));
    expect(await binaryClosed).toBe(1008);
    const hugeClosed = c.closed();
    c.socket.send(JSON.stringify({ id: 1, method: "ping", params: { pad: "x".repeat(10_000) } }));
    expect(await hugeClosed).toBe(1009);

    await exchange.expectConserved(before, { BTC: 2n * 10n ** 8n });
  });

  it("a captured session.logon logs nobody on elsewhere; a session's own repeat is refused; logout ends it", async () => {
    const user = await exchange.fundedUser({ BTC: "1" }, "ED25519");
    const logonParams = signed(user, {});
    const mine = await Connection.open(exchange.tradingUrl);
    const logon = await mine.request("session.logon", logonParams);
    expect(logon.result).toMatchObject({ apiKey: user.apiKey, userDataStream: false });

    const thief = await Connection.open(exchange.tradingUrl);
    expect((await thief.request("session.logon", logonParams)).error?.code).toBe(-1021);
    expect((await thief.request("session.status")).result).toMatchObject({ apiKey: null });
    expect((await thief.request("order.place", { ...sell, timestamp: Date.now() })).error?.code).toBe(-1102);

    // Logged on: signed requests need only their timestamp; the same request twice is one request.
    const timestamp = Date.now();
    const placed = await mine.request("order.place", { ...sell, timestamp });
    expect(placed.result).toMatchObject({ status: "NEW", price: "70000.00000000" });
    expect((await mine.request("order.place", { ...sell, timestamp })).error?.code).toBe(-1021);
    expect(placed.rateLimits?.map((l) => l.rateLimitType)).toEqual(["ORDERS", "ORDERS", "REQUEST_WEIGHT"]);

    // Subscribed, the session's user data arrives as {subscriptionId, event}.
    const subscribed = await mine.request("userDataStream.subscribe");
    expect(subscribed.result).toEqual({ subscriptionId: 0 });
    const canceled = await mine.request("openOrders.cancelAll", { symbol: "BTCUSDT", timestamp: Date.now() });
    expect(canceled.result).toMatchObject([{ status: "CANCELED" }]);
    await expect.poll(() => mine.events.length).toBeGreaterThanOrEqual(2);
    expect(mine.events[0]).toMatchObject({ e: "executionReport", x: "CANCELED" });
    expect((await mine.request("userDataStream.unsubscribe", { subscriptionId: 0 })).result).toEqual({});

    expect((await mine.request("session.logout")).result).toMatchObject({ apiKey: null });
    expect((await mine.request("order.place", { ...sell, timestamp: Date.now() })).error?.code).toBe(-1102);
    mine.close();
    thief.close();
  });
});

describe("WebSocket API keys and weights", () => {
  it("the operator API registers an Ed25519 public key and nothing else as one", async () => {
    const { userId } = await exchange.fundedUser({});
    const path = `/admin/v1/users/${userId}/api-keys`;
    const pem = ({ publicKey }: { publicKey: KeyObject }) =>
      publicKey.export({ type: "spki", format: "pem" }).toString();
    const ed25519 = () => pem(generateKeyPairSync("ed25519"));
    const status = async (body: unknown) => {
      const res = await exchange.adminPost(path, body);
      return [res.status, ((await res.json()) as { code?: number }).code];
    };
    expect(
      await status({ type: "ED25519", publicKey: pem(generateKeyPairSync("rsa", { modulusLength: 2048 })) }),
    ).toEqual([400, -1102]);
    expect(await status({ type: "ED25519", publicKey: pem(generateKeyPairSync("x25519")) })).toEqual([
      400, -1102,
    ]);
    expect(
      await status({
        type: "ED25519",
        publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
      }),
    ).toEqual([400, -1102]);
    expect(await status({ type: "ED25519" })).toEqual([400, -1102]);
    expect(await status({ type: "HMAC", publicKey: ed25519() })).toEqual([400, -1102]);
    const made = await exchange.adminPost(path, { type: "ED25519", publicKey: ed25519() });
    expect(made.status).toBe(201);
    // No secret leaves the exchange for an Ed25519 key: there is none.
    expect(Object.keys((await made.json()) as object).sort()).toEqual([
      "apiKey",
      "publicKey",
      "type",
      "userId",
    ]);
  });

  it("weighs each request as REST weighs its endpoint, against the same limit of the address", async () => {
    const used = async () => {
      const res = await fetch(`${exchange.tradingUrl}/api/v3/time`);
      return Number(res.headers.get("x-mbx-used-weight-1m"));
    };
    const c = await Connection.open(exchange.tradingUrl);
    const measure = async () => {
      const first = await used();
      const info = await c.request("exchangeInfo");
      const weight = info.rateLimits!.find((l) => l.rateLimitType === "REQUEST_WEIGHT")!.count;
      return { first, weight, after: await used() };
    };
    let m = await measure();
    // The limit's window is a fixed minute: had one closed in between, measure once more.
    if (m.after < m.first) m = await measure();
    // exchangeInfo weighs 20, as on REST; each REST /time 1; the one address pays for both doors.
    expect(m.weight).toBeGreaterThanOrEqual(m.first + 20);
    expect(m.after).toBe(m.weight + 1);
    expect((await c.request("time", { returnRateLimits: false })).rateLimits).toBeUndefined();
    c.close();
  });
});
