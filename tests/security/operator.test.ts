import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import {
  admin,
  expectReconciled,
  freshDataDir,
  newUser,
  restartReplaying,
  startExchange,
  stateOf,
  type User,
} from "./harness.ts";

/**
 * Finding 8's operator API items: bodies taken exactly as sent (no coercion, no unknown
 * property dropped), an unknown user answered 404, deposits with an idempotency key paid once,
 * and concurrent user creation without collisions. Every refusal changes nothing.
 */
let dataDir: string;
let exchange: EmbeddedExchange;
let alice: User;

beforeAll(async () => {
  dataDir = await freshDataDir();
  exchange = await startExchange(dataDir);
  alice = await newUser(exchange);
});

afterAll(async () => {
  await exchange.close();
});

const post = (path: string, body: unknown) => admin(exchange.adminUrl, "POST", path, body);

describe("bodies as sent", () => {
  it.each([
    [
      "a number sent as a string",
      { userId: "1", asset: "USDT", amount: "5" },
      /body\.userId must be integer/,
    ],
    ["an unknown property", { userId: 1, asset: "USDT", amount: "5", memo: "x" }, /unknown property 'memo'/],
    ["a misspelt property", { userId: 1, asset: "USDT", amuont: "5" }, /amount|amuont/],
  ])("refuses %s with a precise error and changes nothing", async (_name, body, msg) => {
    const before = stateOf(exchange);
    const reply = await post("/admin/v1/deposits", body);
    expect(reply).toMatchObject({ status: 400, body: { code: -1102, msg } });
    expect(stateOf(exchange)).toBe(before);
  });

  it("refuses a user label that is not a string", async () => {
    const users = exchange.service.core.userIds().length;
    expect(await post("/admin/v1/users", { label: 5 })).toMatchObject({ status: 400, body: { code: -1102 } });
    expect(exchange.service.core.userIds()).toHaveLength(users);
  });
});

describe("unknown users", () => {
  it.each([
    ["a deposit", "/admin/v1/deposits", { userId: 999, asset: "USDT", amount: "5" }],
    [
      "a deposit to Funding",
      "/admin/v1/deposits",
      { userId: 999, asset: "USDT", amount: "5", wallet: "FUNDING" },
    ],
    ["a withdrawal", "/admin/v1/withdrawals", { userId: 999, asset: "USDT", amount: "5" }],
    ["a new API key", "/admin/v1/users/999/api-keys", undefined],
  ])("%s for an unknown user is a 404, not an authentication error", async (_name, path, body) => {
    const before = stateOf(exchange);
    expect(await post(path, body)).toMatchObject({
      status: 404,
      body: { code: -1000, msg: "Unknown user." },
    });
    expect(stateOf(exchange)).toBe(before);
  });
});

describe("deposits with an idempotency key", () => {
  it("pays a retried deposit once, Spot and Funding; the same key with other terms is refused", async () => {
    const deposit = { userId: alice.userId, asset: "BTC", amount: "1.5", depositId: "chain-tx-0001" };
    const first = await post("/admin/v1/deposits", deposit);
    expect(first).toMatchObject({ status: 200, body: { free: "1.50000000", repeated: false } });
    const retry = await post("/admin/v1/deposits", deposit);
    expect(retry).toMatchObject({ status: 200, body: { free: "1.50000000", repeated: true } });
    const before = stateOf(exchange);
    expect(await post("/admin/v1/deposits", { ...deposit, amount: "2" })).toMatchObject({ status: 409 });
    expect(stateOf(exchange)).toBe(before);
    const funding = { ...deposit, asset: "ETH", depositId: "chain-tx-0002", wallet: "FUNDING" };
    expect((await post("/admin/v1/deposits", funding)).body).toMatchObject({ free: "1.50000000" });
    expect((await post("/admin/v1/deposits", funding)).body).toMatchObject({ free: "1.50000000" });
    await expectReconciled(exchange);
  });

  it("still pays it once after a restart (the key is in UBSCore's journaled state)", async () => {
    exchange = await restartReplaying(exchange, dataDir);
    const retry = await post("/admin/v1/deposits", {
      userId: alice.userId,
      asset: "BTC",
      amount: "1.5",
      depositId: "chain-tx-0001",
    });
    expect(retry).toMatchObject({ status: 200, body: { free: "1.50000000", repeated: true } });
    await expectReconciled(exchange);
  });
});

describe("concurrent user creation", () => {
  it("gives every one of many simultaneous creations its own id", async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => post("/admin/v1/users", {})));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    const ids = replies.map((r) => r.body.userId as number);
    expect(new Set(ids).size).toBe(8);
    await expectReconciled(exchange);
  });
});
