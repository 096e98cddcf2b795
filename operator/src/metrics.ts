/**
 * Prometheus metrics of the operator, in the text exposition format: counters by name and labels,
 * and gauges set from the outside (queue depth, leadership).
 */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  private readonly help = new Map<string, [string, string]>([
    ["bourse_operator_reconciles_total", ["counter", "Reconcile passes, by result"]],
    ["bourse_operator_reconcile_seconds_total", ["counter", "Time spent reconciling"]],
    ["bourse_operator_applies_total", ["counter", "Server-side applies, by kind"]],
    ["bourse_operator_watch_restarts_total", ["counter", "Watches restarted, by resource and cause"]],
    ["bourse_operator_queue_depth", ["gauge", "Exchanges waiting to be reconciled"]],
    ["bourse_operator_leader", ["gauge", "1 while this replica holds the leader lease"]],
  ]);

  count(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = series(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  set(name: string, value: number): void {
    this.gauges.set(name, value);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, [type, help]] of this.help) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [key, value] of [...this.counters, ...this.gauges]) {
        if (key === name || key.startsWith(`${name}{`)) lines.push(`${key} ${value}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}

function series(name: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return name;
  return `${name}{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",")}}`;
}
