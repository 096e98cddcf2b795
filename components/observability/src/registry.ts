import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The process's one metrics registry: whatever components run in this process register their
 * metrics here on first use, so a gateway process exports only what a gateway does, and the
 * embedded exchange everything. Process and event-loop metrics (prom-client's defaults) come
 * with it.
 */
let registry: Registry | undefined;

export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    withoutMisnamedDefaults(registry);
  }
  return registry;
}

/**
 * prom-client's process and event-loop metrics, less the three gauges named like counters
 * (`nodejs_active_*_total`, which `promtool check metrics` rejects): their per-type gauges
 * (`nodejs_active_handles`, ...) say the same.
 */
export function withoutMisnamedDefaults(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of [
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
  ]) {
    registry.removeSingleMetric(name);
  }
}

/** One instance per name: a second component of the same kind in the process shares it. */
const made = new Map<string, unknown>();

function once<T>(name: string, make: () => T): T {
  let metric = made.get(name) as T | undefined;
  if (metric === undefined) {
    metric = make();
    made.set(name, metric);
  }
  return metric;
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return once(name, () => new Counter<L>({ name, help, labelNames, registers: [metricsRegistry()] }));
}

export function histogram<L extends string>(
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
) {
  return once(
    name,
    () => new Histogram<L>({ name, help, buckets, labelNames, registers: [metricsRegistry()] }),
  );
}

/**
 * A gauge or counter read when scraped, from every source that is tracked (summed per label
 * set): what a component counts or knows anyway (a queue's length, a position, commands run)
 * costs its hot path nothing but its own `++`. `track` returns the function that stops tracking
 * (on close); a stopped source's count leaves the counter, as a restarted process's would.
 */
export class Sampled<L extends string = never> {
  private readonly sources = new Set<{ labels: Partial<Record<L, string>>; read: () => number }>();

  constructor(kind: "gauge" | "counter", name: string, help: string, labelNames: readonly L[]) {
    const sources = this.sources;
    const options = {
      name,
      help,
      labelNames,
      registers: [metricsRegistry()],
      collect(this: Gauge<L> | Counter<L>) {
        this.reset();
        for (const s of sources) this.inc(s.labels, s.read());
      },
    };
    if (kind === "gauge") new Gauge<L>(options);
    else new Counter<L>(options);
  }

  track(read: () => number, labels: Partial<Record<L, string>> = {}): () => void {
    const source = { labels, read };
    this.sources.add(source);
    return () => this.sources.delete(source);
  }
}

/**
 * Counts by one label of a closed set of values (command kinds, say), kept as plain numbers: an
 * event costs a map lookup and a `++` (prom-client's labelled `inc` builds a key string per call,
 * ~40x that); the counter reads them when scraped. `fixed`: the other labels, the same for all.
 */
export class LabelledCounts<L extends string> {
  private readonly counts = new Map<string, { n: number }>();
  private readonly untrack: (() => void)[] = [];

  constructor(
    private readonly counter: Sampled<L>,
    private readonly label: L,
    private readonly fixed: Partial<Record<L, string>> = {},
  ) {}

  inc(value: string): void {
    let count = this.counts.get(value);
    if (!count) {
      const fresh = { n: 0 };
      count = fresh;
      this.counts.set(value, fresh);
      const labels = { ...this.fixed, [this.label]: value } as Partial<Record<L, string>>;
      this.untrack.push(this.counter.track(() => fresh.n, labels));
    }
    count.n++;
  }

  /** Stops reporting (the component closed). */
  close(): void {
    for (const stop of this.untrack.splice(0)) stop();
  }
}

export function sampledGauge<L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Sampled<L> {
  return once(name, () => new Sampled<L>("gauge", name, help, labelNames));
}

export function sampledCounter<L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Sampled<L> {
  return once(name, () => new Sampled<L>("counter", name, help, labelNames));
}

/** Latency buckets in seconds, from 50 µs (an in-memory apply) to 10 s (a timed-out request). */
export const SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Sizes (records in a batch or group commit), 1 to 10,000. */
export const SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
