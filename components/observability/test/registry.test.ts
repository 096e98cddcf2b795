import fc from "fast-check";
import { Histogram, type Metric, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SECONDS, TallyHistogram } from "../src/registry.ts";

/** One observation: a label set by index (or none) and a value in or beyond the buckets. */
const observation = fc.record({
  labels: fc.constantFrom(undefined, 0, 1, 2, 3),
  value: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0, 0.00005, 0.001, 10, 11)),
});

const LABEL_SETS = [
  { route: "/api/v3/order", method: "POST", outcome: "ok" },
  { route: "/api/v3/order", method: "POST", outcome: "rejected" },
  { route: "unmatched", method: "GET", outcome: "error" },
];

/** The same histogram as prom-client's and as a TallyHistogram, each in a registry of its own. */
function pair(labelNames: string[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: "h",
    help: "help",
    buckets: SECONDS,
    labelNames,
    registers: [theirs],
  });
  const tally = new TallyHistogram("h", "help", SECONDS, labelNames);
  ours.registerMetric(tally as unknown as Metric);
  return { theirs, ours, reference, tally };
}

/**
 * An observation as the gateway (a label object), the journal (label values by position) or an
 * unlabelled histogram makes it; or a series named (as the journal names its own when it opens)
 * and not observed.
 */
function observeBoth(
  h: {
    observe(labels: Record<string, string> | number, value?: number): void;
    labels(...values: string[]): { observe(value: number): void };
  },
  labelled: boolean,
  labels: number | undefined,
  value: number,
): void {
  if (!labelled) h.observe(value);
  else if (labels === 3) h.labels("unmatched", "PUT", "ok");
  else if (labels !== undefined) h.observe(LABEL_SETS[labels]!, value);
  else h.labels("/api/v3/order", "DELETE", "ok").observe(value);
}

describe("TallyHistogram", () => {
  it("exports what prom-client's Histogram exports for the same observations, labelled or not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(observation, { maxLength: 40 }), async (labelled, observed) => {
        const { theirs, ours, reference, tally } = pair(labelled ? ["route", "method", "outcome"] : []);
        for (const { labels, value } of observed) {
          observeBoth(reference, labelled, labels, value);
          observeBoth(tally, labelled, labels, value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a value that is not a number and a label it was not made with, as prom-client does", () => {
    const { reference, tally } = pair(["route"]);
    expect(() => reference.observe({ route: "r" }, Number.NaN)).toThrow(TypeError);
    expect(() => tally.observe({ route: "r" }, Number.NaN)).toThrow(TypeError);
    expect(() => reference.observe({ other: "r" } as never, 1)).toThrow(/not included/);
    expect(() => tally.observe({ other: "r" } as never, 1)).toThrow(/not included/);
  });
});
