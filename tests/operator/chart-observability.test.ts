import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import type { Exchange } from "../../operator/src/index.ts";
import { labels, METRICS_PORT_NAME } from "../../operator/src/index.ts";
import { helmBinary, KUBERNETES_VERSION } from "../infra/kube.ts";

/**
 * The chart's plugs into a team's Prometheus and Grafana (docs/operability.md): off by default;
 * when switched on, a PodMonitor that selects exactly the component pods the operator renders on
 * their metrics port, a ServiceMonitor for the operator, the alerts file as a PrometheusRule and
 * the dashboard as a ConfigMap for Grafana's sidecar, both unchanged.
 */
const run = promisify(execFile);
const CHART = "charts/bourse-operator";
let helm: string;
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests as JSON; the assertions check their shape
type Json = any;
type Doc = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Json;
  data?: Json;
};

async function render(...set: string[]): Promise<Doc[]> {
  const args = [
    "template",
    "x",
    CHART,
    "--kube-version",
    KUBERNETES_VERSION,
    ...set.flatMap((s) => ["--set", s]),
  ];
  const { stdout } = await run(helm, args);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
}

const ALL_ON = [
  "metrics.serviceMonitor.enabled=true",
  "metrics.podMonitor.enabled=true",
  "metrics.prometheusRule.enabled=true",
  "metrics.grafanaDashboard.enabled=true",
];
const MONITORING_KINDS = ["PodMonitor", "ServiceMonitor", "PrometheusRule"];

beforeAll(async () => {
  helm = await helmBinary();
}, 600_000);

describe("the chart's monitoring", () => {
  it("renders nothing of it by default", async () => {
    const docs = await render();
    expect(docs.filter((d) => MONITORING_KINDS.includes(d.kind))).toEqual([]);
    expect(docs.filter((d) => d.metadata.name.endsWith("-dashboard"))).toEqual([]);
  });

  it("selects exactly the operator's component pods, on their metrics port, with exchange and component labels", async () => {
    const docs = await render(...ALL_ON);
    const podMonitor = docs.find((d) => d.kind === "PodMonitor")!;
    const selector = podMonitor.spec.selector.matchLabels as Record<string, string>;
    const ex = { metadata: { name: "demo", namespace: "trading", uid: "u" } } as Exchange;
    for (const c of ["ubscore", "gateway", "matching", "settlement"]) {
      const podLabels = labels(ex, c);
      expect(
        Object.entries(selector).every(([k, v]) => podLabels[k] === v),
        c,
      ).toBe(true);
    }
    expect(podMonitor.spec.namespaceSelector).toEqual({ any: true });
    const [endpoint] = podMonitor.spec.podMetricsEndpoints;
    expect(endpoint).toMatchObject({ port: METRICS_PORT_NAME, path: "/metrics" });
    expect(endpoint.relabelings.map((r: { targetLabel: string }) => r.targetLabel)).toEqual([
      "exchange",
      "component",
    ]);
    // Watching one namespace: scraping only there.
    const namespaced = (await render(...ALL_ON, "watchNamespace=trading")).find(
      (d) => d.kind === "PodMonitor",
    )!;
    expect(namespaced.spec.namespaceSelector).toEqual({ matchNames: ["trading"] });
    const serviceMonitor = docs.find((d) => d.kind === "ServiceMonitor")!;
    const service = docs.find((d) => d.kind === "Service" && d.metadata.name.endsWith("-metrics"))!;
    expect(
      Object.entries(serviceMonitor.spec.selector.matchLabels).every(
        ([k, v]) => service.metadata.labels?.[k] === v,
      ),
    ).toBe(true);
    expect(serviceMonitor.spec.endpoints[0].port).toBe(service.spec.ports[0].name);
  });

  it("carries the alerts file and the dashboard unchanged", async () => {
    const docs = await render(...ALL_ON);
    const rule = docs.find((d) => d.kind === "PrometheusRule")!;
    expect(rule.spec).toEqual(parse(await readFile(`${CHART}/files/bourse-alerts.yaml`, "utf8")));
    const dashboard = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name.endsWith("-dashboard"))!;
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: "1" });
    expect(JSON.parse(dashboard.data["bourse-dashboard.json"])).toEqual(
      JSON.parse(await readFile(`${CHART}/files/bourse-dashboard.json`, "utf8")),
    );
  });

  it("refuses values outside its schema", async () => {
    await expect(render("metrics.podMonitor.interval=often")).rejects.toThrow(/interval/);
    await expect(render("metrics.prometheusRule.enable=true")).rejects.toThrow(/enable/);
  });
});
