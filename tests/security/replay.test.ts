import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { sign } from "../../components/gateway/src/keys.ts";
import { TestClient } from "../api/client.ts";
import {
  admin,
  expectReconciled,
  freshDataDir,
  newUser,
  restartReplaying,
  restingBuy,
  startExchange,
  stateOf,
  type User,
} from "./harness.ts";
import { Layout } from "./processes.ts";

/**
 * Findings 2 and 3: a captured signed order replayed with its signature's hex in another letter
 * case, after the exchange restarted, and on another gateway. UBSCore takes each signed request
 * once, in its journaled state, whichever gateway brings it.
 */
const SNAPSHOT_EVERY_100 = {
  ubscore: { snapshotEvery: 100 },
  gateway: { rateLimit: { ordersPer10s: 1_000 } },
};
let dataDir: string;
let exchange: EmbeddedExchange;
let alice: User;

beforeAll(async () => {
  dataDir = await freshDataDir();
  // A snapshot every 100 commands: the restart below starts from one.
  exchange = await startExchange(dataDir, SNAPSHOT_EVERY_100);
  alice = await newUser(exchange);
});

afterAll(async () => {
  await exchange.close();
});

/** A signed order as captured on the wire: the form body, signature last. */
function capturedOrder(user: { credentials: { secretKey: string } }, clientId: string) {
  const payload = new URLSearchParams({
    ...restingBuy("31000", clientId),
    recvWindow: "60000",
    timestamp: String(Date.now()),
  }).toString();
  return { payload, signature: sign(user.credentials.secretKey, payload) };
}

describe("replay by signature case", () => {
  it("places a signed order once, whatever the letter case of its signature's hex", async () => {
    const { payload, signature } = capturedOrder(alice, "case-1");
    const first = await alice.raw("POST", "/api/v3/order", `${payload}&signature=${signature}`);
    expect(first.status).toBe(200);
    const before = stateOf(exchange);
    const letter = signature.search(/[a-f]/);
    const spellings = [
      signature.toUpperCase(),
      signature.slice(0, letter) + signature[letter]!.toUpperCase() + signature.slice(letter + 1),
    ];
    for (const spelled of spellings) {
      const replay = await alice.raw("POST", "/api/v3/order", `${payload}&signature=${spelled}`);
      expect(replay).toMatchObject({ status: 400, body: { code: -1021, msg: /already received/ } });
    }
    expect(stateOf(exchange)).toBe(before);
    const open = await alice.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" });
    expect(open.body).toHaveLength(1);
    await expectReconciled(exchange);
  });
});

describe("replay across restarts", () => {
  it("refuses a captured order after the exchange restarted from a snapshot and its journal", async () => {
    const { payload, signature } = capturedOrder(alice, "restart-1");
    const captured = `${payload}&signature=${signature}`;
    expect((await alice.raw("POST", "/api/v3/order", captured)).status).toBe(200);
    // Enough commands for a snapshot after the order, and a few after the snapshot.
    for (let i = 0; i < 105; i++) {
      const res = await alice.signed("POST", "/api/v3/order", restingBuy(`${20000 + i}`));
      expect(res.status).toBe(200);
    }
    exchange = await restartReplaying(exchange, dataDir, SNAPSHOT_EVERY_100);
    expect(exchange.service.replayedCommands).toBeLessThan(100);
    const before = stateOf(exchange);
    const again = new TestClient(exchange.tradingUrl, alice.credentials);
    expect(await again.raw("POST", "/api/v3/order", captured)).toMatchObject({
      status: 400,
      body: { code: -1021, msg: /already received/ },
    });
    expect(stateOf(exchange)).toBe(before);
    await expectReconciled(exchange);
  });
});

describe("replay across gateways", () => {
  it("refuses on a second gateway, and on a restarted one, an order the first gateway placed", async () => {
    const layout = await Layout.start(await freshDataDir());
    const [a, b] = [await layout.gateway(), await layout.gateway()];
    try {
      const user = await newUser({ adminUrl: layout.adminUrl, tradingUrl: a.url });
      const { payload, signature } = capturedOrder(user, "two-gateways");
      const captured = `${payload}&signature=${signature}`;
      expect((await user.raw("POST", "/api/v3/order", captured)).status).toBe(200);
      const viaB = new TestClient(b.url, user.credentials);
      expect(
        await viaB.raw("POST", "/api/v3/order", `${payload}&signature=${signature.toUpperCase()}`),
      ).toMatchObject({
        status: 400,
        body: { code: -1021 },
      });
      await a.gateway.stop();
      const restarted = await layout.gateway();
      const viaRestarted = new TestClient(restarted.url, user.credentials);
      expect(await viaRestarted.raw("POST", "/api/v3/order", captured)).toMatchObject({
        status: 400,
        body: { code: -1021 },
      });
      const open = await viaB.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" });
      expect(open.body).toHaveLength(1);
      const reconciled = await admin<{ differences: unknown[] }>(
        layout.adminUrl,
        "POST",
        "/admin/v1/reconcile",
        {},
      );
      expect(reconciled.body.differences).toEqual([]);
      await restarted.gateway.stop();
    } finally {
      await b.gateway.stop();
      await a.gateway.stop();
      await layout.ubscore.stop();
    }
  });
});
