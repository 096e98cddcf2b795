import { readFile } from "node:fs/promises";
import { parse } from "yaml";

/**
 * The metric names the chart's alerts and dashboard query, and whether an exposition exports
 * them: a series name is a family's own, or a histogram's `_bucket`, `_sum` or `_count`.
 */
const CHART_FILES = "charts/bourse-operator/files";

export async function chartQueries(): Promise<{ where: string; expr: string }[]> {
  const rules = parse(await readFile(`${CHART_FILES}/bourse-alerts.yaml`, "utf8")) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const dashboard = JSON.parse(await readFile(`${CHART_FILES}/bourse-dashboard.json`, "utf8")) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; query?: string }[] };
  };
  return [
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
    ...dashboard.templating.list
      .filter((v) => v.query?.startsWith("label_values("))
      .map((v) => ({ where: `variable ${v.name}`, expr: v.query! })),
  ];
}

/** Series names in a PromQL expression: ours, the process's, and Prometheus's own `up`. */
export function seriesNames(expr: string): string[] {
  return [
    ...new Set(expr.match(/\b(?:(?:bourse|process|nodejs)_[a-zA-Z0-9_]+|up)\b(?=\s*[{[)\s,]|$)/g) ?? []),
  ];
}

/** Whether `series` is exported by one of the `families` (name -> type), or made by Prometheus itself. */
export function exported(series: string, families: Map<string, string>): boolean {
  if (series === "up" || families.has(series)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return m !== null && families.get(m[1]!) === "histogram";
}
