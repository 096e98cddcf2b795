import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freshDataDir, newUser, restingBuy, startExchange } from "../security/harness.ts";
import { Layout } from "../security/processes.ts";
import { until } from "../support/until.ts";
import { TestClient } from "./client.ts";

/**
 * Listen keys are UBSCore's journaled state: a key made through one gateway streams on another,
 * survives a restart, and a close on one gateway ends its streams on every gateway.
 */
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/** Opens the user data stream of `key` on `tradingUrl`; collects event types until it closes. */
async function userStream(tradingUrl: string, key: string) {
  const socket = new WebSocket(`${tradingUrl.replace("http", "ws")}/ws/${key}`);
  const events: string[] = [];
  socket.on("message", (data) => events.push((JSON.parse(String(data)) as { e: string }).e));
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { events, closed, socket };
}

describe("listen keys", () => {
  it("outlive a restart of the exchange", async () => {
    const dataDir = await freshDataDir();
    let exchange = await startExchange(dataDir);
    const user = await newUser(exchange);
    const { body } = await user.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "");
    await exchange.close();
    exchange = await startExchange(dataDir);
    stops.push(() => exchange.close());
    const again = new TestClient(exchange.tradingUrl, user.credentials);
    expect(await again.raw("PUT", "/api/v3/userDataStream", `listenKey=${body.listenKey}`)).toMatchObject({
      status: 200,
    });
    const stream = await userStream(exchange.tradingUrl, body.listenKey);
    await again.signed("POST", "/api/v3/order", restingBuy("30000"));
    await until(() => stream.events.includes("executionReport"), "an executionReport");
    stream.socket.close();
  });

  it("made on one gateway, stream on another; closed on one, end on all", async () => {
    const { layout, a, b } = await Layout.withTwoGateways(await freshDataDir(), stops);
    const user = await newUser({ adminUrl: layout.adminUrl, tradingUrl: a.url });
    const { body } = await user.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "");
    const viaB = new TestClient(b.url, user.credentials);
    // The key reaches b's replica with the command that made it, a moment after a answered.
    let onB: Awaited<ReturnType<typeof userStream>> | undefined;
    for (let i = 0; i < 50 && !onB; i++) {
      onB = await userStream(b.url, body.listenKey).catch(() => undefined);
      if (!onB) await new Promise((r) => setTimeout(r, 20));
    }
    expect(onB).toBeDefined();
    await user.signed("POST", "/api/v3/order", restingBuy("30000"));
    await until(() => onB!.events.includes("executionReport"), "an executionReport on b");
    const onA = await userStream(a.url, body.listenKey);
    expect(await viaB.raw("DELETE", "/api/v3/userDataStream", `listenKey=${body.listenKey}`)).toMatchObject({
      status: 200,
    });
    expect(await Promise.all([onA.closed, onB!.closed])).toEqual([4001, 4001]);
    expect(await user.raw("PUT", "/api/v3/userDataStream", `listenKey=${body.listenKey}`)).toMatchObject({
      status: 400,
      body: { code: -1125 },
    });
  });
});
