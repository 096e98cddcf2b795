import fc from "fast-check";
import { Counter, Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { combineFamilies, countsOf, ForwardedMetrics, type MetricFamily } from "../src/forwarded.ts";
import { metricsRegistry, SECONDS, TallyHistogram } from "../src/registry.ts";

const LABEL_SETS = [
  { route: "/api/v3/order", method: "POST", outcome: "ok" },
  { route: "/api/v3/order", method: "POST", outcome: "rejected" },
  { route: "unmatched", method: "GET", outcome: "error" },
];

/** An observation by one of three threads: a label set and a value whose sums are exact (a multiple of 2^-16). */
const observation = fc.record({
  thread: fc.integer({ min: 0, max: 2 }),
  labels: fc.integer({ min: 0, max: 2 }),
  value: fc.integer({ min: 0, max: 20 * 2 ** 16 }).map((v) => v / 2 ** 16),
});

const histogram = () => new TallyHistogram("h", "help", SECONDS, ["route", "method", "outcome"]);

/** A family's samples by series (name and labels, in any order), for comparing what order aside. */
function bySeries(family: MetricFamily): Map<string, number> {
  const entries = family.values.map((v) => {
    const labels = Object.entries(v.labels).sort(([a], [b]) => a.localeCompare(b));
    return [`${(v as { metricName?: string }).metricName}${JSON.stringify(labels)}`, v.value] as const;
  });
  return new Map(entries);
}

async function family(make: (registry: Registry) => void): Promise<MetricFamily> {
  const registry = new Registry();
  make(registry);
  return (await registry.getMetricsAsJSON())[0]!;
}

describe("combineFamilies", () => {
  it("adds TallyHistograms' buckets, sums and counts series by series, as if one histogram saw everything", () => {
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 60 }), (observed) => {
        const threads = [histogram(), histogram(), histogram()];
        const whole = histogram();
        for (const { thread, labels, value } of observed) {
          threads[thread]!.observe(LABEL_SETS[labels]!, value);
          whole.observe(LABEL_SETS[labels]!, value);
        }
        const [combined] = combineFamilies(threads.map((h) => [h.get() as unknown as MetricFamily]));
        expect(bySeries(combined!)).toEqual(bySeries(whole.get() as unknown as MetricFamily));
        expect(combined).toMatchObject({ name: "h", type: "histogram", help: "help" });
      }),
      { numRuns: 100 },
    );
  });

  it("adds counters and gauges label set by label set, unless the gauge says otherwise", async () => {
    const threads = await Promise.all(
      [3, 5].map(async (n) => [
        await family((r) =>
          new Counter({ name: "c", help: "c", labelNames: ["code"], registers: [r] }).inc(
            { code: "-1013" },
            n,
          ),
        ),
        await family((r) => new Gauge({ name: "connections", help: "g", registers: [r] }).set(n)),
        await family((r) =>
          new Gauge({ name: "position", help: "g", aggregator: "min", registers: [r] }).set(n),
        ),
      ]),
    );
    const combined = combineFamilies(threads);
    expect(combined.map((f) => [f.name, f.values.map((v) => [v.labels, v.value])])).toEqual([
      ["c", [[{ code: "-1013" }, 8]]],
      ["connections", [[{}, 8]]],
      ["position", [[{}, 3]]],
    ]);
    expect(countsOf(combined).map((f) => f.name)).toEqual(["c"]);
  });
});

describe("ForwardedMetrics", () => {
  it("reads once for all the families of a scrape, adds in the counts of a family it takes over, and puts it back", async () => {
    const registry = metricsRegistry();
    const local = new Counter({ name: "fwd_rejections_total", help: "r", registers: [registry] });
    local.inc(2);
    const localGauge = new Gauge({ name: "fwd_connections", help: "c", registers: [registry] });
    localGauge.set(100);
    let reads = 0;
    let count = 5;
    const forwarded = new ForwardedMetrics(async () => {
      reads++;
      return [
        await family((r) =>
          new Counter({ name: "fwd_rejections_total", help: "r", registers: [r] }).inc(count),
        ),
        await family((r) => new Gauge({ name: "fwd_connections", help: "c", registers: [r] }).set(count)),
        await family((r) =>
          new Counter({ name: "fwd_requests_total", help: "q", registers: [r] }).inc(count),
        ),
      ];
    });
    await forwarded.register();
    reads = 0;
    count = 7;
    const text = await registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain("\nfwd_rejections_total 9\n");
    // The other threads' connections: this thread's gauge measures nothing they do.
    expect(text).toContain("\nfwd_connections 7\n");
    expect(text).toContain("\nfwd_requests_total 7\n");
    forwarded.close();
    expect(registry.getSingleMetric("fwd_rejections_total")).toBe(local);
    expect(registry.getSingleMetric("fwd_connections")).toBe(localGauge);
    expect(registry.getSingleMetric("fwd_requests_total")).toBeUndefined();
  });
});
