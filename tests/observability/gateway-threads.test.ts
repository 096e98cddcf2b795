import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { limitOrder } from "../api/client.ts";
import { buildPromtoolFirst, runPromtool } from "../infra/promtool.ts";
import { TEST_GATEWAY_THREADS } from "../support/gateway-threads.ts";
import { adminRequest, newUser, type User } from "../support/operator-api.ts";
import { until } from "../support/until.ts";
import { eventually, families, scrape, value } from "./scrape.ts";

/**
 * The embedded exchange with its trading API on gateway threads (gateway.threads) and settlement
 * on its worker thread: /metrics, served by UBSCore's thread, has the gateway's metrics summed
 * over the threads and settlement's from its worker, in one exposition promtool accepts; a
 * replaced thread's counts stay in the sums.
 */
const ADMIN_TOKEN = "observability-threads-admin-token";
/** Placed at once, so on as many connections, which the kernel spreads over the threads. */
const ORDERS = 16;
let exchange: EmbeddedExchange;
let metricsUrl: string;
let alice: User;

buildPromtoolFirst();

beforeAll(async () => {
  const config = await loadConfig({
    overrides: {
      dataDir: await mkdtemp(join(tmpdir(), "bourse-observability-threads-")),
      demo: false,
      gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN, threads: TEST_GATEWAY_THREADS },
      settlement: { kind: "worker" },
      observability: { ubscore: "127.0.0.1:0" },
    },
  });
  exchange = await startEmbeddedExchange(config, false);
  metricsUrl = exchange.metricsUrl!;
  alice = await newUser(operatorApi(), { USDT: "100000" });
});

afterAll(async () => {
  await exchange?.close();
});

const operatorApi = () => ({
  adminUrl: exchange.adminUrl,
  tradingUrl: exchange.tradingUrl,
  token: ADMIN_TOKEN,
});
const ORDER_OK = { route: "/api/v3/order", method: "POST", outcome: "ok" };
const ordersCounted = (text: string) =>
  value(text, "bourse_gateway_request_duration_seconds_count", ORDER_OK);
const ordersInBuckets = (text: string) =>
  value(text, "bourse_gateway_request_duration_seconds_bucket", { ...ORDER_OK, le: "+Inf" });
const ordersSeconds = (text: string) => value(text, "bourse_gateway_request_duration_seconds_sum", ORDER_OK);

describe(`the metrics of the embedded exchange on ${TEST_GATEWAY_THREADS} gateway thread(s)`, () => {
  it("have the gateway's requests summed over the threads, in one exposition promtool accepts", async () => {
    const before = await scrape(metricsUrl);
    const placed = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        alice.signed("POST", "/api/v3/order", limitOrder("BUY", "0.01", String(20_000 + i))),
      ),
    );
    expect(placed.map((p) => p.status)).toEqual(placed.map(() => 200));
    const after = await scrape(metricsUrl);
    expect(await runPromtool(["check", "metrics"], after)).toEqual({ ok: true, output: "" });
    const declared = families(after);
    for (const name of [
      "bourse_gateway_request_duration_seconds",
      "bourse_gateway_rejections_total",
      "bourse_gateway_websocket_connections",
      "bourse_ubscore_commands_total",
      // From settlement's worker.
      "bourse_settlement_batch_records",
      "bourse_ledger_results_total",
      "bourse_store_write_seconds",
    ]) {
      expect(declared.has(name), name).toBe(true);
    }
    expect(ordersCounted(after) - ordersCounted(before)).toBe(ORDERS);
    expect(ordersInBuckets(after) - ordersInBuckets(before)).toBe(ORDERS);
    expect(ordersSeconds(after)).toBeGreaterThan(ordersSeconds(before));
    const placedCommands = (text: string) =>
      value(text, "bourse_ubscore_commands_total", { command: "place", outcome: "applied" });
    expect(placedCommands(after) - placedCommands(before)).toBe(ORDERS);
  });

  it("report the replica furthest behind, caught up, and every thread's connected", async () => {
    const text = await eventually(
      () => scrape(metricsUrl),
      (t) => value(t, "bourse_gateway_replica_position") === value(t, "bourse_ubscore_journal_position"),
    );
    expect(value(text, "bourse_gateway_replica_position")).toBe(
      value(text, "bourse_ubscore_journal_position"),
    );
    expect(value(text, "bourse_gateway_replica_position")).toBeGreaterThan(ORDERS);
    expect(value(text, "bourse_gateway_replica_connected")).toBe(1);
  });

  it("count the operator API's rejections, made on UBSCore's thread, with the threads'", async () => {
    const rejections = (text: string) => value(text, "bourse_gateway_rejections_total");
    const before = await scrape(metricsUrl);
    const unknownSymbol = await alice.signed("POST", "/api/v3/order", limitOrder("BUY", "1", "1", "NOPE"));
    expect(unknownSymbol.status).toBe(400);
    const badToken = await adminRequest({ ...operatorApi(), token: "wrong" }, "POST", "/admin/v1/users", {});
    expect(badToken.status).toBe(401);
    expect(rejections(await scrape(metricsUrl)) - rejections(before)).toBe(2);
  });

  it("keep the counts of threads that were replaced, so that the sums never fall", async () => {
    const before = await scrape(metricsUrl);
    expect(ordersCounted(before)).toBeGreaterThanOrEqual(ORDERS);
    const dead = exchange.gatewayThreads!.workers;
    await Promise.all(dead.map((w) => w.terminate()));
    await until(
      () => {
        const serving = exchange.gatewayThreads!.workers;
        return serving.length === TEST_GATEWAY_THREADS && !serving.some((w) => dead.includes(w));
      },
      "the gateway threads to be replaced",
      { timeoutMs: 60_000 },
    );
    const replaced = await scrape(metricsUrl);
    expect(ordersCounted(replaced)).toBe(ordersCounted(before));
    expect(ordersInBuckets(replaced)).toBe(ordersInBuckets(before));
    await until(
      async () =>
        (await alice.signed("POST", "/api/v3/order", limitOrder("BUY", "0.01", "19000"))).status === 200,
      "an order through a replacement thread",
      { timeoutMs: 30_000, retryErrors: true },
    );
    expect(ordersCounted(await scrape(metricsUrl))).toBe(ordersCounted(before) + 1);
  });
});
