import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPromtoolFirst, runPromtool } from "../infra/promtool.ts";
import { eventually, families, scrape, value } from "../observability/scrape.ts";
import { crossTrade } from "./harness.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "./local-exchange.ts";

/**
 * The multi-process exchange on its real infrastructure (Aeron IPC through the media driver,
 * Kafka, Cassandra; `bourse settlement` in a process of its own) scraped during trading: every
 * process's exposition passes `promtool check metrics`; orders are counted at the gateway,
 * UBSCore and matching; the settlement lag UBSCore reports rises while `bourse settlement` is
 * frozen (SIGSTOP) and falls back to zero once it runs again (SIGCONT), and settlement's own
 * figures move.
 */
let infra: LocalInfrastructure;
let exchange: LocalExchange;
const COMPONENTS = ["ubscore", "matching", "settlement", "gateway"] as const;

buildPromtoolFirst();

beforeAll(async () => {
  infra = await startLocalInfrastructure();
  exchange = await LocalExchange.start({ gateways: 1, keyspace: "bourse_e2e_metrics", ...infra });
}, 600_000);

afterAll(async () => {
  exchange?.settlement?.child.kill("SIGCONT");
  exchange?.stop();
  await infra?.stop();
});

const scrapeAll = async () =>
  Object.fromEntries(
    await Promise.all(COMPONENTS.map(async (c) => [c, await scrape(exchange.metricsUrl(c))] as const)),
  ) as Record<(typeof COMPONENTS)[number], string>;

const lag = async () => {
  const text = await scrape(exchange.metricsUrl("ubscore"));
  return {
    positions: value(text, "bourse_settlement_lag_positions"),
    seconds: value(text, "bourse_settlement_lag_seconds"),
  };
};

describe("the multi-process exchange's metrics", () => {
  it("pass promtool check metrics in every process, each ready", async () => {
    for (const [c, text] of Object.entries(await scrapeAll())) {
      expect(await runPromtool(["check", "metrics"], text), c).toEqual({ ok: true, output: "" });
      expect((await fetch(`${exchange.metricsUrl(c as "ubscore")}/readyz`)).status, c).toBe(200);
    }
    const settlement = families((await scrapeAll()).settlement);
    for (const name of [
      "bourse_settlement_settled_position",
      "bourse_ledger_request_seconds",
      "bourse_store_write_seconds",
    ]) {
      expect(settlement.has(name), name).toBe(true);
    }
  });

  it("move with the trading; the settlement lag rises while settlement is frozen and falls once it runs", async () => {
    const before = await scrapeAll();
    await crossTrade(exchange.session, exchange.url(0), exchange.url(0));
    await eventually(lag, (l) => l.positions === 0);
    const settlement = exchange.settlement!.child;
    settlement.kill("SIGSTOP");
    try {
      await crossTrade(exchange.session, exchange.url(0), exchange.url(0)).catch(() => {});
      const first = await eventually(lag, (l) => l.positions > 0 && l.seconds > 0);
      expect(first.positions).toBeGreaterThan(0);
      const later = await eventually(lag, (l) => l.seconds > first.seconds);
      expect(later.seconds).toBeGreaterThan(first.seconds);
    } finally {
      settlement.kill("SIGCONT");
    }
    expect(await eventually(lag, (l) => l.positions === 0 && l.seconds === 0, 120_000)).toEqual({
      positions: 0,
      seconds: 0,
    });
    const after = await scrapeAll();
    const orders = (text: string) =>
      value(text, "bourse_gateway_request_duration_seconds_count", {
        route: "/api/v3/order",
        method: "POST",
      });
    expect(orders(after.gateway) - orders(before.gateway)).toBeGreaterThanOrEqual(12);
    const placed = (text: string) =>
      value(text, "bourse_ubscore_commands_total", { command: "place", outcome: "applied" });
    expect(placed(after.ubscore) - placed(before.ubscore)).toBe(
      orders(after.gateway) - orders(before.gateway),
    );
    const matched = (text: string) => value(text, "bourse_matching_commands_total");
    expect(matched(after.matching) - matched(before.matching)).toBe(
      placed(after.ubscore) - placed(before.ubscore),
    );
    const settled = (text: string) => value(text, "bourse_settlement_settled_position");
    expect(settled(after.settlement)).toBeGreaterThan(settled(before.settlement));
    const appended = (text: string) =>
      value(text, "bourse_eventlog_append_seconds_count", { stream: "settlement" });
    expect(appended(after.ubscore)).toBeGreaterThan(appended(before.ubscore));
  });
});
