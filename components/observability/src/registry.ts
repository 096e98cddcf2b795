import { type Aggregator, Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from "prom-client";

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
): TallyHistogram<L> {
  return once(name, () => {
    const made = new TallyHistogram<L>(name, help, buckets, labelNames);
    metricsRegistry().registerMetric(made as unknown as Metric);
    return made;
  });
}

/** One label set's counts: what an observation touches. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Exported: from its first observation on (an unlabelled histogram's from the start), as prom-client's. */
  listed = false;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string | number>>,
    private readonly list: (series: HistogramSeries) => void,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    if (!this.listed) this.list(this);
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

type HistogramLabels<L extends string> = Partial<Record<L, string | number>>;

/**
 * A histogram exported exactly as prom-client's (same families, series, `le` labels and values),
 * observed for a bucket search and three additions. prom-client's `observe` validates and hashes
 * the labels and looks the bucket up by its bound as a string key: 1 - 3 µs, paid by every
 * request, command and group commit. The series are made once per label set and kept.
 */
export class TallyHistogram<L extends string = string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, HistogramSeries>();
  /** The series observed, in the order of their first observation (prom-client's order). */
  private readonly exported: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    private readonly labelNames: readonly L[],
  ) {
    // An unlabelled histogram exports its (zero) series from the start, as prom-client's does.
    if (labelNames.length === 0) this.listed(this.labels());
  }

  /** `observe(value)`, or `observe(labels, value)`. */
  observe(labelsOrValue: HistogramLabels<L> | number, value?: number): void {
    if (typeof labelsOrValue === "number") this.labels().observe(labelsOrValue);
    else this.labels(labelsOrValue).observe(value!);
  }

  /** The series of a label set, given as an object or as values in the order of the label names. */
  labels(...given: [HistogramLabels<L>] | (string | number)[]): HistogramSeries {
    const labels: HistogramLabels<L> =
      typeof given[0] === "object"
        ? given[0]
        : Object.fromEntries(given.map((v, i) => [this.labelNames[i], v]));
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    return this.series.get(key) ?? this.added(key, labels);
  }

  private added(key: string, labels: HistogramLabels<L>): HistogramSeries {
    for (const n of Object.keys(labels))
      if (!this.labelNames.includes(n as L))
        throw new Error(`Added label "${n}" is not included in initial labelset`);
    const made = new HistogramSeries(this.bounds, labels as Record<string, string | number>, (s) =>
      this.listed(s),
    );
    this.series.set(key, made);
    return made;
  }

  private listed(series: HistogramSeries): void {
    series.listed = true;
    this.exported.push(series);
  }

  /** Every series at zero (kept, and exported still: a series handed out by `labels` stays this histogram's). */
  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /** What prom-client's registry prints: `le` as the values' labels, the series' as shared ones. */
  getForPromString() {
    const bucket = `${this.name}_bucket`;
    const values = this.exported.flatMap((s) => {
      let below = 0;
      const sharedLabels = s.labels;
      return [
        ...this.bounds.map((le, i) => {
          below += s.counts[i]!;
          return {
            labels: { le } as Record<string, string | number>,
            sharedLabels,
            value: below,
            metricName: bucket,
            exemplar: null,
          };
        }),
        { labels: { le: "+Inf" }, sharedLabels, value: s.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's `get`: each value's labels with the series' own. */
  get() {
    const family = this.getForPromString();
    return {
      ...family,
      values: family.values.map(({ sharedLabels, labels, ...value }) => ({
        ...value,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }
}

/**
 * A gauge or counter read when scraped, from every source that is tracked (summed per label
 * set): what a component counts or knows anyway (a queue's length, a position, commands run)
 * costs its hot path nothing but its own `++`. `track` returns the function that stops tracking
 * (on close); a stopped source's count leaves the counter, as a restarted process's would.
 */
export class Sampled<L extends string = never> {
  private readonly sources = new Set<{ labels: Partial<Record<L, string>>; read: () => number }>();

  constructor(
    kind: "gauge" | "counter",
    name: string,
    help: string,
    labelNames: readonly L[],
    aggregator: Aggregator = "sum",
  ) {
    const sources = this.sources;
    const options = {
      name,
      help,
      labelNames,
      aggregator,
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

/**
 * `aggregator`: how the gauge of several threads is combined into one (forwarded.ts), when they
 * measure the same thing each: a sum (connections) unless said otherwise.
 */
export function sampledGauge<L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  aggregator: Aggregator = "sum",
): Sampled<L> {
  return once(name, () => new Sampled<L>("gauge", name, help, labelNames, aggregator));
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
