import { AggregatorRegistry, type Metric, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { metricsRegistry } from "./registry.ts";

/**
 * A metric family as a registry's `getMetricsAsJSON` gives it: plain data, which crosses to
 * another thread (structured clone) and which prom-client's `AggregatorRegistry.aggregate` takes.
 */
export type MetricFamily = MetricObjectWithValues<MetricValue<string>>;

/** This thread's families whose names match `names`, for the thread that serves /metrics to forward. */
export async function familiesNamed(names: RegExp): Promise<MetricFamily[]> {
  return (await metricsRegistry().getMetricsAsJSON()).filter((family) => names.test(family.name));
}

/**
 * Families of the same names from several sources (threads) as one: each series (label set;
 * a histogram's buckets, sum and count each) combined by the family's `aggregator`, a sum unless
 * the metric was made with another (metrics.ts says which and why).
 */
export function combineFamilies(sources: readonly (readonly MetricFamily[])[]): MetricFamily[] {
  const combined = AggregatorRegistry.aggregate(sources as MetricFamily[][]);
  // aggregate's metrics hand out their family itself from `get`, not a promise of it.
  return combined.getMetricsAsArray().map((metric) => (metric as unknown as Metric).get() as never);
}

/**
 * A source's counts (its counters and histograms): what it counted stays counted once it has
 * gone, while its gauges (connections, positions) were its state and end with it.
 */
export function countsOf(families: readonly MetricFamily[]): MetricFamily[] {
  // prom-client types `type` as an enum of numbers; the families hold its names.
  const counting: unknown[] = ["counter", "histogram"];
  return families.filter((family) => counting.includes(family.type));
}

/**
 * Metric families recorded in other threads (each thread has a registry of its own), served by
 * this thread's registry, whose /metrics the process serves, as its own: each registered with a
 * `get` that reads them when scraped. A scrape gets every family at once, so one reading (`read`:
 * a round trip to the threads) serves all the families of one scrape.
 *
 * A family this thread has too (the operator API counts its rejections in the gateway's counter
 * on UBSCore's thread, while the trading API runs on gateway threads) is taken over: its counts
 * are added in; its gauges are left out, since what the other threads run does not run here.
 */
export class ForwardedMetrics {
  private reading: Promise<MetricFamily[]> | undefined;
  /** The families registered, each with the one it took over from this thread's registry. */
  private readonly registered: { forwarded: Metric; local: Metric | undefined }[] = [];

  constructor(private readonly read: () => Promise<MetricFamily[]>) {}

  /** Registers the families a reading has now (a source registers all of its own at its start). */
  async register(): Promise<void> {
    const registry = metricsRegistry();
    for (const family of await this.current()) {
      const local = registry.getSingleMetric(family.name);
      if (local) registry.removeSingleMetric(family.name);
      const get = () => this.family(family, local);
      const forwarded = { ...family, get, reset: () => {} } as unknown as Metric;
      registry.registerMetric(forwarded);
      this.registered.push({ forwarded, local });
    }
  }

  /** Takes the families out of this thread's registry, putting back those it took over. */
  close(): void {
    const registry = metricsRegistry();
    for (const { forwarded, local } of this.registered.splice(0)) {
      const name = (forwarded as unknown as MetricFamily).name;
      if (registry.getSingleMetric(name) !== forwarded) continue;
      registry.removeSingleMetric(name);
      if (local) registry.registerMetric(local);
    }
  }

  private async family(family: MetricFamily, local: Metric | undefined): Promise<MetricFamily> {
    const read = (await this.current()).find((f) => f.name === family.name) ?? { ...family, values: [] };
    if (!local) return read;
    return combineFamilies([[read], countsOf([(await local.get()) as MetricFamily])])[0]!;
  }

  /** The families now: one reading while a scrape asks for them; none when it fails. */
  private current(): Promise<MetricFamily[]> {
    this.reading ??= this.read()
      .catch(() => [])
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
