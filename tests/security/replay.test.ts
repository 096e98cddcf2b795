import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { sign } from "../../components/gateway/src/keys.ts";
import {
  expectReconciled,
  freshDataDir,
  newUser,
  restingBuy,
  startExchange,
  stateOf,
  type User,
} from "./harness.ts";

/**
 * Finding 2: a signed order replayed with its signature's hex in another letter case. HMAC hex
 * is case-insensitive, so every spelling is the same signature and may be used once.
 */
let exchange: EmbeddedExchange;
let alice: User;

beforeAll(async () => {
  exchange = await startExchange(await freshDataDir());
  alice = await newUser(exchange);
});

afterAll(async () => {
  await exchange.close();
});

/** A signed order as captured on the wire: the form body, signature last. */
function capturedOrder(user: User, clientId: string): { payload: string; signature: string } {
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
