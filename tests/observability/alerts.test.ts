import { describe, expect, it } from "vitest";
import { buildPromtoolFirst, runPromtool } from "../infra/promtool.ts";
import { chartQueries, exported, seriesNames } from "./promql-names.ts";

buildPromtoolFirst();

/**
 * The chart's alerts, by Prometheus's own tool: the rule file is valid (`promtool check rules`)
 * and every alert fires on what it should and not on what it should not (`promtool test rules`,
 * alerts.promtest.yaml, one test group per alert).
 */
describe("the alerts", () => {
  it("pass promtool check rules", async () => {
    const checked = await runPromtool(["check", "rules", "charts/bourse-operator/files/bourse-alerts.yaml"]);
    expect(checked.ok, checked.output).toBe(true);
    expect(checked.output).toContain("SUCCESS: 7 rules found");
  });

  it("pass their unit tests, one per alert", async () => {
    const tested = await runPromtool(["test", "rules", "tests/observability/alerts.promtest.yaml"]);
    expect(tested.ok, tested.output).toBe(true);
    const alerts = (await chartQueries())
      .filter((q) => q.where.startsWith("alert "))
      .map((q) => q.where.slice(6));
    const tests = await import("node:fs/promises").then((fs) =>
      fs.readFile("tests/observability/alerts.promtest.yaml", "utf8"),
    );
    for (const alert of alerts) expect(tests, `a unit test of ${alert}`).toContain(`alertname: ${alert}`);
  });

  it("find the names they query: the checker of the dashboard is not blind", () => {
    expect(seriesNames('sum(rate(bourse_x_total{a="b"}[5m])) / up')).toEqual(["bourse_x_total", "up"]);
    const families = new Map([
      ["bourse_h_seconds", "histogram"],
      ["bourse_c_total", "counter"],
    ]);
    expect(exported("bourse_h_seconds_bucket", families)).toBe(true);
    expect(exported("bourse_c_total_count", families)).toBe(false);
    expect(exported("bourse_nowhere", families)).toBe(false);
  });
});
