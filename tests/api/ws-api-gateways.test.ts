import { generateKeyPairSync } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { admin, freshDataDir, newUser, restingBuy } from "../security/harness.ts";
import { Layout } from "../security/processes.ts";
import { Connection, signed } from "./ws-api-client.ts";

/**
 * The WebSocket API behind two gateway processes on one UBSCore: a signed frame or a logon taken
 * through one gateway is refused by the other (replay protection is UBSCore's, not a gateway's),
 * and an Ed25519 key registered while both run signs on both.
 */
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

describe("WebSocket API on two gateways", () => {
  it("takes each signed frame and each logon once across gateways; Ed25519 keys reach every gateway", async () => {
    const { layout, a, b } = await Layout.withTwoGateways(await freshDataDir(), stops);
    const user = await newUser({ adminUrl: layout.adminUrl, tradingUrl: a.url });
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const made = await admin<{ apiKey: string }>(
      layout.adminUrl,
      "POST",
      `/admin/v1/users/${user.userId}/api-keys`,
      { type: "ED25519", publicKey: publicKey.export({ type: "spki", format: "pem" }) },
    );
    expect(made.status).toBe(201);
    const key = {
      apiKey: made.body.apiKey,
      secretKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
    const [onA, onB] = [await Connection.open(a.url), await Connection.open(b.url)];

    // The key reaches each gateway's replica a moment after the operator API answered.
    const ping = async (c: Connection) =>
      (await c.request("account.rateLimits.orders", signed(key, {}))).status;
    await expect.poll(() => ping(onA)).toBe(200);
    await expect.poll(() => ping(onB)).toBe(200);

    const order = JSON.stringify({ id: "o", method: "order.place", params: signed(key, restingBuy()) });
    expect((await onA.raw(order, "o")).result).toMatchObject({ status: "NEW" });
    expect((await onB.raw(order, "o")).error?.code).toBe(-1021);

    const logon = JSON.stringify({ id: "l", method: "session.logon", params: signed(key, {}) });
    expect((await onB.raw(logon, "l")).result).toMatchObject({ apiKey: key.apiKey });
    expect((await onA.raw(logon, "l")).error?.code).toBe(-1021);
    expect((await onA.request("session.status")).result).toMatchObject({ apiKey: null });

    // The one order placed, whichever gateway is asked.
    const open = await onB.request("openOrders.status", { symbol: "BTCUSDT", timestamp: Date.now() });
    expect(open.result).toHaveLength(1);
    onA.close();
    onB.close();
  });
});
