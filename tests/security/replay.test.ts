import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/index.ts";
import { TestClient } from "../api/client.ts";
import {
  capturedOrder,
  expectReconciled,
  freshDataDir,
  newUser,
  restartReplaying,
  restingBuy,
  startExchange,
  stateOf,
  type User,
} from "./harness.ts";

/**
 * Finding 3 at its hardest for the journal: a captured signed order replayed after the exchange
 * restarted from a snapshot taken after the order (the used signature comes back from the
 * snapshot, not from replaying its record). The other replays (letter case, another gateway, a
 * restarted gateway or UBSCore, in both layouts) are in attacks.test.ts.
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
