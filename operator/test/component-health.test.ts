import { describe, expect, it } from "vitest";
import { gauges, readiness, ubscoreFigures } from "../src/component-health.ts";
import { renderExchange } from "../src/resources.ts";
import { computeStatus } from "../src/status.ts";
import { example, facts } from "./example.ts";

/**
 * The Exchange's status from what the component pods say of themselves: their /readyz reasons,
 * and settlement's lag and the last reconcile from UBSCore's exposition (the cluster e2e reads
 * them from real pods).
 */
describe("component health in the Exchange's status", () => {
  it("takes a /readyz answer as a reason: ok, the failing checks, or why there was none", () => {
    expect(readiness({ status: 200, body: '{"status":"ok"}\n' })).toEqual({ ready: true, reason: "ok" });
    expect(
      readiness({
        status: 503,
        body: '{"status":"failing","failing":{"settlement":"the ledger does not answer","feed":"behind"}}',
      }),
    ).toEqual({ ready: false, reason: "settlement: the ledger does not answer; feed: behind" });
    expect(readiness({ status: 503, body: "<html>" })).toEqual({ ready: false, reason: "HTTP 503" });
    expect(readiness({ error: "ECONNREFUSED" })).toEqual({
      ready: false,
      reason: "not answering: ECONNREFUSED",
    });
    // A hostile pod cannot fill the status: the reason is bounded.
    const long = readiness({ status: 503, body: JSON.stringify({ failing: { x: "y".repeat(10_000) } }) });
    expect(long.reason.length).toBe(512);
  });

  it("reads the unlabelled gauges of an exposition and nothing else", () => {
    const text = [
      "# HELP bourse_settlement_lag_positions Positions not settled",
      "# TYPE bourse_settlement_lag_positions gauge",
      "bourse_settlement_lag_positions 42",
      'bourse_orders_total{outcome="filled"} 7',
      "bourse_settlement_lag_seconds 1.25",
      "bourse_reconcile_differences 0",
      "bourse_reconcile_last_run_timestamp_seconds 1796000000.5",
      "garbage line",
      "bourse_nan NaN",
    ].join("\n");
    const values = gauges(text);
    expect(values.get("bourse_settlement_lag_positions")).toBe(42);
    expect(values.has("bourse_orders_total")).toBe(false);
    expect(values.has("bourse_nan")).toBe(false);
    expect(ubscoreFigures(text)).toEqual({
      settlement: { lagPositions: 42, lagSeconds: 1.25 },
      reconcile: { lastRunTime: "2026-11-30T00:53:20.500Z", differences: 0 },
    });
    // Before the first reconcile its timestamp is 0: no result to show.
    expect(ubscoreFigures(text.replace("1796000000.5", "0")).reconcile).toBeUndefined();
    expect(ubscoreFigures("")).toEqual({});
  });

  it("shows each pod's reason, the lag and the last reconcile, and names the reason where it waits", async () => {
    const ex = await example();
    const { workloads } = renderExchange(ex, facts);
    const health = {
      components: [
        { component: "ubscore", pod: "demo-ubscore-0", ready: true, reason: "ok" },
        {
          component: "settlement",
          pod: "demo-settlement-5d9c-x2",
          ready: false,
          reason: "settlement: the ledger does not answer",
        },
      ],
      settlement: { lagPositions: 12, lagSeconds: 3.5 },
      reconcile: { lastRunTime: "2026-12-03T20:00:00.000Z", differences: 0 },
    };
    const status = computeStatus(ex, { workloads, objects: new Map(), health, now: new Date(0) });
    expect(status.components).toEqual(health.components);
    expect(status.settlement).toEqual({ lagPositions: 12, lagSeconds: 3.5 });
    expect(status.reconcile).toEqual(health.reconcile);
    const ready = status.conditions!.find((c) => c.type === "Ready")!;
    expect(ready.message).toContain(
      "demo-settlement (demo-settlement-5d9c-x2: settlement: the ledger does not answer)",
    );
    // Not asked (the pods unreachable from the operator): no such fields, as before.
    const unasked = computeStatus(ex, { workloads, objects: new Map(), now: new Date(0) });
    expect(unasked.components).toBeUndefined();
    expect(unasked.settlement).toBeUndefined();
  });
});
