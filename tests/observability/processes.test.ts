import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../operator/src/index.ts";
import { crossTrade } from "../e2e/harness.ts";
import { LocalExchange } from "../e2e/local-exchange.ts";
import { buildPromtoolFirst, runPromtool } from "../infra/promtool.ts";
import { chartQueries, exported, seriesNames } from "./promql-names.ts";
import { families, scrape, value } from "./scrape.ts";

/**
 * The exchange as processes (`bourse ubscore` with settlement inline and its event stream in a
 * file log, `bourse matching`, `bourse gateway`, over TCP on loopback): each serves /metrics,
 * /livez and /readyz on its own port; each exposition passes `promtool check metrics` and holds
 * its own component's figures, and the figures move as the trading does.
 */
let exchange: LocalExchange;
const COMPONENTS = ["ubscore", "matching", "gateway"] as const;

buildPromtoolFirst();

beforeAll(async () => {
  exchange = await LocalExchange.start({ gateways: 1, keyspace: "bourse_observability", fileEventLog: true });
}, 120_000);

afterAll(() => exchange?.stop());

describe("the processes' metrics", () => {
  it("pass promtool check metrics, each with its own component's families", async () => {
    const expected: Record<(typeof COMPONENTS)[number], { has: string[]; lacks: string[] }> = {
      ubscore: {
        has: [
          "bourse_ubscore_commands_total",
          "bourse_ubscore_apply_seconds",
          "bourse_journal_fsync_seconds",
          "bourse_settlement_lag_positions",
          "bourse_ledger_request_seconds",
          "bourse_eventlog_backlog_records",
          "process_cpu_seconds_total",
          "nodejs_eventloop_lag_seconds",
        ],
        lacks: ["bourse_gateway_request_duration_seconds", "bourse_matching_commands_total"],
      },
      matching: {
        has: [
          "bourse_matching_commands_total",
          "bourse_matching_execute_seconds",
          "process_cpu_seconds_total",
        ],
        lacks: ["bourse_ubscore_commands_total", "bourse_gateway_request_duration_seconds"],
      },
      gateway: {
        has: [
          "bourse_gateway_request_duration_seconds",
          "bourse_gateway_replica_position",
          "bourse_gateway_websocket_connections",
        ],
        lacks: ["bourse_ubscore_commands_total", "bourse_settlement_lag_positions"],
      },
    };
    for (const c of COMPONENTS) {
      const text = await scrape(exchange.metricsUrl(c));
      const checked = await runPromtool(["check", "metrics"], text);
      expect(checked, `promtool check metrics on ${c}`).toEqual({ ok: true, output: "" });
      const declared = families(text);
      for (const name of expected[c].has) expect(declared.has(name), `${c} exports ${name}`).toBe(true);
      for (const name of expected[c].lacks) expect(declared.has(name), `${c} lacks ${name}`).toBe(false);
    }
  });

  it("move with the trading: orders counted at the gateway, UBSCore and matching; settlement catches up", async () => {
    const before = await scrapeAll();
    await crossTrade(exchange.session, exchange.url(0), exchange.url(0));
    const after = await scrapeAll();
    // crossTrade places five resting sells and one market buy, all through the gateway.
    const orders = (text: string) =>
      value(text, "bourse_gateway_request_duration_seconds_count", {
        route: "/api/v3/order",
        method: "POST",
        outcome: "ok",
      });
    expect(orders(after.gateway) - orders(before.gateway)).toBe(6);
    const placed = (text: string) =>
      value(text, "bourse_ubscore_commands_total", { command: "place", outcome: "applied" });
    expect(placed(after.ubscore) - placed(before.ubscore)).toBe(6);
    const matched = (text: string) => value(text, "bourse_matching_commands_total");
    expect(matched(after.matching) - matched(before.matching)).toBe(6);
    const commits = (text: string) =>
      value(text, "bourse_journal_commit_records_count", { journal: "ubscore" });
    expect(commits(after.ubscore)).toBeGreaterThan(commits(before.ubscore));
    const settled = (text: string) => value(text, "bourse_settlement_settled_position");
    expect(settled(after.ubscore)).toBeGreaterThan(settled(before.ubscore));
    const replica = value(after.gateway, "bourse_gateway_replica_position");
    expect(replica).toBe(value(after.ubscore, "bourse_ubscore_journal_position"));
    // A market order for a symbol that does not exist: refused with Binance's -1121.
    const bad = await fetch(`${exchange.url(0)}/api/v3/depth?symbol=NOPE`);
    expect(bad.status).toBe(400);
    const rejected = value(await scrape(exchange.metricsUrl("gateway")), "bourse_gateway_rejections_total", {
      code: "-1121",
    });
    expect(rejected).toBeGreaterThanOrEqual(1);
  });

  it("answer /livez and /readyz, GET only, and hold no secret", async () => {
    for (const c of COMPONENTS) {
      const url = exchange.metricsUrl(c);
      for (const path of ["/livez", "/readyz"]) {
        const res = await fetch(`${url}${path}`);
        expect(res.status, `${c} ${path}`).toBe(200);
        expect(await res.json()).toEqual({ status: "ok" });
      }
      expect((await fetch(`${url}/metrics`, { method: "POST" })).status).toBe(405);
      expect((await fetch(`${url}/admin/v1/users`)).status).toBe(404);
      const text = await scrape(url);
      for (const user of Object.values(exchange.session.users)) {
        expect(text).not.toContain(user.apiKey);
        expect(text).not.toContain(user.secretKey);
      }
      expect(text).not.toContain(exchange.env.BOURSE_ADMIN_TOKEN);
    }
  });
});

describe("the chart's alerts and dashboard", () => {
  it("name only metrics some component or the operator exports", async () => {
    const all = new Map<string, string>();
    const expositions = [...Object.values(await scrapeAll()), await new Metrics().render()];
    for (const text of expositions) for (const [name, type] of families(text)) all.set(name, type);
    const queries = await chartQueries();
    expect(queries.length).toBeGreaterThan(20);
    const missing = queries.flatMap(({ where, expr }) =>
      seriesNames(expr)
        .filter((name) => !exported(name, all))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
    // The check sees what the queries name: every family the alerts rely on is among them.
    const named = new Set(queries.flatMap(({ expr }) => seriesNames(expr)));
    for (const name of ["bourse_settlement_lag_seconds", "bourse_journal_fsync_seconds_bucket", "up"]) {
      expect(named.has(name), name).toBe(true);
    }
  });
});

async function scrapeAll(): Promise<Record<(typeof COMPONENTS)[number], string>> {
  const [ubscore, matching, gateway] = await Promise.all(
    COMPONENTS.map((c) => scrape(exchange.metricsUrl(c))),
  );
  return { ubscore: ubscore!, matching: matching!, gateway: gateway! };
}
