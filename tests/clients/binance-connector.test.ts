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
 * Binance's official Python connector (binance-connector, from PyPI into a virtualenv), unchanged
 * but for its base URL, against the embedded exchange over real HTTP: every spot call it offers
 * that Bourse serves, then the money checked to the unit.
 */
const CONNECTOR = "binance-connector==3.13.0";
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
let python: string;

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
  python = join(await pythonEnv("binance-connector-3.13.0", [CONNECTOR]), "python");
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-clients-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN } },
  });
  exchange = await startEmbeddedExchange(config, false);
});

afterAll(async () => {
  await exchange?.close();
});

describe("binance-connector (Binance's official Python connector), unchanged", () => {
  it("places, queries, fills and cancels orders, streams keys and transfers, with every unit accounted for", async () => {
    const seller = await fundedUser({ BTC: "1" });
    const buyer = await fundedUser({ USDT: "10000" });
    const { stdout } = await run(
      python,
      [
        join(import.meta.dirname, "binance_connector.py"),
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
    const byCall = new Map(lines.map((l) => [l.call, l.result as Record<string, unknown>]));
    expect(lines).toHaveLength(30);

    const taken = byCall.get("new_order (buyer, LIMIT IOC, takes half)")!;
    expect(taken).toMatchObject({
      status: "FILLED",
      executedQty: "0.01000000",
      cummulativeQuoteQty: "600.00000000",
    });
    expect(byCall.get("cancel_order")).toMatchObject({ status: "CANCELED", executedQty: "0.01000000" });
    expect((byCall.get("my_trades (buyer)") as unknown as unknown[]).length).toBe(1);

    // To the unit: what each holds, and every asset's total equals what was deposited.
    const balance = (call: string, asset: string) =>
      (byCall.get(call)!.balances as { asset: string; free: string; locked: string }[]).find(
        (b) => b.asset === asset,
      );
    expect(balance("account (seller, after)", "BTC")).toEqual({
      asset: "BTC",
      free: "0.99000000",
      locked: "0.00000000",
    });
    expect(balance("account (buyer, after)", "BTC")).toEqual({
      asset: "BTC",
      free: "0.01000000",
      locked: "0.00000000",
    });
    const core = exchange.service.core;
    for (const [symbol, deposited] of [
      ["BTC", 10n ** 8n],
      ["USDT", 10_000n * 10n ** 8n],
    ] as const) {
      expect(core.totalOf(core.exchange.asset(symbol)!.id)).toBe(deposited);
    }
  });

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
