import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/load.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { TestClient } from "../api/client.ts";
import { pythonEnv } from "../infra/python-tools.ts";

/**
 * Binance's Python clients (from PyPI, each in a virtualenv of its own), unchanged but for their
 * base URL, against the embedded exchange over real HTTP: every spot call each offers that Bourse
 * serves, then the money checked to the unit.
 */
const run = promisify(execFile);
const ADMIN_TOKEN = "clients-operator-token-0123456789";

interface Line {
  readonly call: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly status?: number;
  readonly code?: number;
  readonly msg?: string;
}

let exchange: EmbeddedExchange;

async function admin<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${exchange.adminUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.ok, `${path}: ${res.status}`).toBe(true);
  return (await res.json()) as T;
}

async function fundedUser(deposits: Record<string, string>) {
  const user = await admin<{ userId: number; apiKey: string; secretKey: string }>("/admin/v1/users", {});
  for (const [asset, amount] of Object.entries(deposits))
    await admin("/admin/v1/deposits", { userId: user.userId, asset, amount });
  return user;
}

beforeAll(async () => {
  for (const client of CLIENTS) await envOf(client);
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-clients-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
});

afterAll(async () => {
  await exchange?.close();
});

/** A Python client: its virtualenv, its script, and the names its script gives the calls checked below. */
interface PythonClient {
  readonly name: string;
  readonly requirement: string;
  readonly script: string;
  readonly calls: number;
  readonly taker: string;
  readonly cancel: string;
  readonly after: (who: "seller" | "buyer") => string;
}

const CLIENTS: PythonClient[] = [
  {
    name: "binance-connector (Binance's official Python connector)",
    requirement: "binance-connector==3.13.0",
    script: "binance_connector.py",
    calls: 30,
    taker: "new_order (buyer, LIMIT IOC, takes half)",
    cancel: "cancel_order",
    after: (who) => `account (${who}, after)`,
  },
  {
    name: "python-binance",
    requirement: "python-binance==1.0.37",
    script: "python_binance.py",
    calls: 28,
    taker: "order_limit_buy (IOC, takes half)",
    cancel: "cancel_order",
    after: (who) => `get_account (${who}, after)`,
  },
];

const envOf = (client: PythonClient) =>
  pythonEnv(client.requirement.replace("==", "-"), [client.requirement]);

async function runClient(client: PythonClient): Promise<Map<string, Record<string, unknown>>> {
  const bin = await envOf(client);
  const seller = await fundedUser({ BTC: "1" });
  const buyer = await fundedUser({ USDT: "10000" });
  const { stdout } = await run(
    join(bin, "python"),
    [
      join(import.meta.dirname, client.script),
      exchange.tradingUrl,
      seller.apiKey,
      seller.secretKey,
      buyer.apiKey,
      buyer.secretKey,
    ],
    { timeout: 120_000 },
  );
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
  const failed = lines.filter((l) => !l.ok);
  expect(failed, JSON.stringify(failed)).toEqual([]);
  expect(lines).toHaveLength(client.calls);
  return new Map(lines.map((l) => [l.call, l.result as Record<string, unknown>]));
}

describe("Binance's Python clients, unchanged but for the base URL", () => {
  for (const client of CLIENTS) {
    it(`${client.name}: places, queries, fills and cancels orders, streams keys and transfers, every unit accounted for`, async () => {
      const core = exchange.service.core;
      const totals = () => core.exchange.assets.map((a) => core.totalOf(a.id));
      const before = totals();
      const byCall = await runClient(client);
      expect(byCall.get(client.taker)).toMatchObject({
        status: "FILLED",
        executedQty: "0.01000000",
        cummulativeQuoteQty: "600.00000000",
      });
      expect(byCall.get(client.cancel)).toMatchObject({ status: "CANCELED", executedQty: "0.01000000" });
      // To the unit: what each holds, and no asset's total moved but by the deposits.
      const balance = (who: "seller" | "buyer", asset: string) =>
        (byCall.get(client.after(who))!.balances as { asset: string; free: string; locked: string }[]).find(
          (b) => b.asset === asset,
        );
      expect(balance("seller", "BTC")).toEqual({ asset: "BTC", free: "0.99000000", locked: "0.00000000" });
      expect(balance("buyer", "BTC")).toEqual({ asset: "BTC", free: "0.01000000", locked: "0.00000000" });
      const deposited = core.exchange.assets.map((a) =>
        a.symbol === "BTC" ? 10n ** 8n : a.symbol === "USDT" ? 10_000n * 10n ** 8n : 0n,
      );
      expect(totals()).toEqual(before.map((b, i) => b + deposited[i]!));
    });
  }

  it("takes an empty body of any declared type, as Binance does, and refuses a body it would not read", async () => {
    const seller = new TestClient(exchange.tradingUrl, await fundedUser({ BTC: "1" }));
    const order = {
      symbol: "BTCUSDT",
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "70000",
    };
    const json = { "content-type": "application/json;charset=utf-8" };
    const withBody = await fetch(`${exchange.tradingUrl}/api/v3/order`, {
      method: "POST",
      headers: { ...json, "X-MBX-APIKEY": seller.credentials!.apiKey },
      body: JSON.stringify(order),
    });
    expect(withBody.status).toBe(415);
    expect(await withBody.json()).toMatchObject({ code: -1000 });
    const { body: open } = await seller.signed<unknown[]>("GET", "/api/v3/openOrders", { symbol: "BTCUSDT" });
    expect(open).toEqual([]);
  });
});
