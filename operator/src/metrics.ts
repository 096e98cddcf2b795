import { Counter, Gauge, Registry } from "prom-client";
import { withoutMisnamedDefaults } from "../../components/observability/src/index.ts";

/**
 * The operator's Prometheus metrics, on prom-client: counters by name and labels, gauges set
 * from the outside (queue depth, leadership), and the process's own (CPU, memory, event loop).
 * One registry per operator, so that operators run side by side (in tests) count apart.
 */
const COUNTERS = {
  bourse_operator_reconciles_total: ["Reconcile passes, by result", ["result"]],
  bourse_operator_reconcile_seconds_total: ["Time spent reconciling", []],
  bourse_operator_applies_total: ["Server-side applies, by kind", ["kind"]],
  bourse_operator_watch_restarts_total: ["Watches restarted, by resource and cause", ["path", "cause"]],
} as const;
const GAUGES = {
  bourse_operator_queue_depth: "Exchanges waiting to be reconciled",
  bourse_operator_leader: "1 while this replica holds the leader lease",
} as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge>();

  constructor() {
    withoutMisnamedDefaults(this.registry);
    for (const [name, [help, labelNames]] of Object.entries(COUNTERS)) {
      this.counters.set(name, new Counter({ name, help, labelNames, registers: [this.registry] }));
    }
    for (const [name, help] of Object.entries(GAUGES)) {
      this.gauges.set(name, new Gauge({ name, help, registers: [this.registry] }));
    }
  }

  count(name: keyof typeof COUNTERS, labels: Record<string, string> = {}, by = 1): void {
    this.counters.get(name)!.inc(labels, by);
  }

  set(name: keyof typeof GAUGES, value: number): void {
    this.gauges.get(name)!.set(value);
  }

  /** The exposition, in Prometheus's text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
