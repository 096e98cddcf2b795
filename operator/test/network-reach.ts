import type { KubeObject } from "../src/exchange.ts";

/**
 * Who may reach which pod's port under the rendered NetworkPolicies, evaluated with the API's
 * semantics (no CNI runs here to enforce them): a pod that no policy selects admits everyone; a
 * selected pod admits a peer on a port only if some ingress rule of some selecting policy lists
 * that port (or no ports) and that peer (or no peers). Peers are pods in the Exchange's namespace,
 * named by component, plus a stranger pod that is none of them, a scraper (Prometheus) in a
 * namespace its admin labelled for scraping, the operator's pod in its own namespace, and an
 * intruder: a pod in the operator's namespace that is not the operator.
 */
// biome-ignore lint/suspicious/noExplicitAny: rendered objects as JSON
type Json = any;

export const COMPONENTS = [
  "ubscore",
  "gateway",
  "matching",
  "settlement",
  "tigerbeetle",
  "kafka",
  "store",
] as const;
export type Component = (typeof COMPONENTS)[number];
export type Protocol = "TCP" | "UDP";
/** Where the operator runs in these checks (the rendering's ClusterFacts.operatorNamespace). */
export const OPERATOR_NAMESPACE = "bourse-system";

export interface Reach {
  /** The sources allowed to `to`'s port, sorted ("stranger" among them when anyone may). */
  who(to: Component, port: number, protocol?: Protocol): string[];
  /** The ports `component`'s pods declare (containers and sidecars). */
  served(component: Component): { port: number; protocol: Protocol }[];
}

export function reachOf(objects: KubeObject[], exchangeName: string): Reach {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const workload = (component: string): Json =>
    objects.find(
      (o) =>
        (o.kind === "StatefulSet" || o.kind === "Deployment") &&
        o.metadata.name === `${exchangeName}-${component}`,
    );
  const podLabels = (component: string): Record<string, string> =>
    workload(component).spec.template.metadata.labels;
  const sources: Record<string, Record<string, string>> = {
    stranger: { app: "something-else" },
    scraper: { app: "prometheus" },
    operator: { "app.kubernetes.io/name": "bourse-operator", "app.kubernetes.io/component": "operator" },
    intruder: { app: "something-else" },
    ...Object.fromEntries(COMPONENTS.filter((c) => workload(c)).map((c) => [c, podLabels(c)])),
  };
  const matches = (selector: Json, labels: Record<string, string>) =>
    Object.entries(selector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v);
  const namespaceOf = (from: string): Record<string, string> =>
    from === "scraper"
      ? { "kubernetes.io/metadata.name": "monitoring", "bourse.dev/scrape-metrics": "true" }
      : from === "operator" || from === "intruder"
        ? { "kubernetes.io/metadata.name": OPERATOR_NAMESPACE }
        : { "kubernetes.io/metadata.name": "trading" };
  /**
   * A peer: the pods its podSelector selects (all when absent) in the namespaces its
   * namespaceSelector selects (the policy's own when absent): both must match.
   */
  const admits = (peer: Json, from: string) =>
    (peer.namespaceSelector
      ? matches(peer.namespaceSelector, namespaceOf(from))
      : namespaceOf(from)["kubernetes.io/metadata.name"] === "trading") &&
    (!peer.podSelector || matches(peer.podSelector, sources[from]!));
  const allowed = (from: string, to: string, port: number, protocol: Protocol) => {
    const selecting = policies.filter((p) => matches((p.spec as Json).podSelector, podLabels(to)));
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      ((p.spec as Json).ingress as Json[]).some(
        (rule) =>
          (!rule.ports || rule.ports.some((r: Json) => r.port === port && r.protocol === protocol)) &&
          (!rule.from || rule.from.some((f: Json) => admits(f, from))),
      ),
    );
  };
  return {
    who: (to, port, protocol = "TCP") =>
      Object.keys(sources)
        .filter((from) => allowed(from, to, port, protocol))
        .sort(),
    served(component) {
      const pod = workload(component).spec.template.spec;
      return [...pod.containers, ...(pod.initContainers ?? [])].flatMap((c: Json) =>
        (c.ports ?? []).map((p: Json) => ({ port: p.containerPort, protocol: p.protocol ?? "TCP" })),
      );
    },
  };
}
