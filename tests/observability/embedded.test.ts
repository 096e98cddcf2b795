import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { limitOrder, type TestClient } from "../api/client.ts";
import { buildPromtoolFirst, runPromtool } from "../infra/promtool.ts";
import { startTigerBeetle, type TigerBeetleServer } from "../infra/tigerbeetle.ts";
import { adminRequest, newUser as createUser } from "../support/operator-api.ts";
import { eventually, families, scrape, value } from "./scrape.ts";

/**
 * The embedded exchange (`bourse start`: every component in one process) settling into a real
 * TigerBeetle replica, with its metrics and health on observability.ubscore's address: one
 * exposition promtool accepts; orders counted; the settlement lag rising while the ledger is
 * frozen (SIGSTOP) and falling back to zero once it runs again; the ledger's figures and a
 * reconcile's result in the metrics.
 */
const ADMIN_TOKEN = "observability-embedded-admin-token";
let tigerBeetle: TigerBeetleServer;
let exchange: EmbeddedExchange;
let metricsUrl: string;
let alice: TestClient;
let bob: TestClient;

buildPromtoolFirst();

beforeAll(async () => {
  tigerBeetle = await startTigerBeetle();
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-observability-"));
  const config = await loadConfig({
    overrides: {
      dataDir,
      demo: false,
      gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN },
      ledger: {
        kind: "tigerbeetle",
        clusterId: String(tigerBeetle.clusterId),
        addresses: [tigerBeetle.address],
      },
      observability: { exchange: "embedded-test", ubscore: "127.0.0.1:0" },
    },
  });
  exchange = await startEmbeddedExchange(config, false);
  metricsUrl = exchange.metricsUrl!;
  alice = await newUser({ USDT: "1000000" });
  bob = await newUser({ BTC: "100" });
}, 300_000);

afterAll(async () => {
  tigerBeetle?.resume();
  await exchange?.close();
  await tigerBeetle?.stop();
});

const operatorApi = () => ({
  adminUrl: exchange.adminUrl,
  tradingUrl: exchange.tradingUrl,
  token: ADMIN_TOKEN,
});
const newUser = (deposits: Record<string, string>) => createUser(operatorApi(), deposits);

/** Bob sells, Alice buys at the same price: one trade, settled as transfers in the ledger. */
async function trade(price: number): Promise<void> {
  expect((await bob.signed("POST", "/api/v3/order", limitOrder("SELL", "0.01", String(price)))).status).toBe(
    200,
  );
  expect((await alice.signed("POST", "/api/v3/order", limitOrder("BUY", "0.01", String(price)))).status).toBe(
    200,
  );
}

const lag = async () => {
  const text = await scrape(metricsUrl);
  return {
    positions: value(text, "bourse_settlement_lag_positions"),
    seconds: value(text, "bourse_settlement_lag_seconds"),
  };
};

describe("the embedded exchange's metrics", () => {
  it("are one exposition promtool accepts, with every component's families", async () => {
    await trade(60000);
    const text = await scrape(metricsUrl);
    const checked = await runPromtool(["check", "metrics"], text);
    expect(checked).toEqual({ ok: true, output: "" });
    const declared = families(text);
    for (const name of [
      "bourse_gateway_request_duration_seconds",
      "bourse_ubscore_commands_total",
      "bourse_journal_fsync_seconds",
      "bourse_settlement_batch_records",
      "bourse_ledger_request_seconds",
      "bourse_ledger_results_total",
      "bourse_store_write_seconds",
      "process_resident_memory_bytes",
    ]) {
      expect(declared.has(name), name).toBe(true);
    }
    expect(
      value(text, "bourse_ledger_results_total", { operation: "create_transfers", result: "created" }),
    ).toBeGreaterThan(0);
  });

  it("count orders, and show settlement lag rising while the ledger is frozen and falling once it runs", async () => {
    const before = await scrape(metricsUrl);
    await eventually(lag, (l) => l.positions === 0);
    tigerBeetle.pause();
    try {
      for (let i = 0; i < 3; i++) await trade(60000 + i);
      const first = await eventually(lag, (l) => l.positions > 0 && l.seconds > 0);
      expect(first.positions).toBeGreaterThan(0);
      const later = await eventually(lag, (l) => l.seconds > first.seconds);
      expect(later.seconds).toBeGreaterThan(first.seconds);
      // UBSCore still takes orders: it is ready, and live.
      expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${metricsUrl}/livez`)).status).toBe(200);
    } finally {
      tigerBeetle.resume();
    }
    const caughtUp = await eventually(lag, (l) => l.positions === 0 && l.seconds === 0, 60_000);
    expect(caughtUp).toEqual({ positions: 0, seconds: 0 });
    const after = await scrape(metricsUrl);
    const placed = (text: string) =>
      value(text, "bourse_ubscore_commands_total", { command: "place", outcome: "applied" });
    expect(placed(after) - placed(before)).toBe(6);
    const orders = (text: string) =>
      value(text, "bourse_gateway_request_duration_seconds_count", {
        route: "/api/v3/order",
        method: "POST",
        outcome: "ok",
      });
    expect(orders(after) - orders(before)).toBe(6);
  });

  it("report the last reconcile's result", async () => {
    expect((await adminRequest(operatorApi(), "POST", "/admin/v1/reconcile", {})).status).toBe(200);
    const text = await scrape(metricsUrl);
    expect(value(text, "bourse_reconcile_runs_total", { result: "clean" })).toBe(1);
    expect(value(text, "bourse_reconcile_differences")).toBe(0);
    expect(value(text, "bourse_reconcile_last_run_timestamp_seconds")).toBeGreaterThan(0);
  });
});
