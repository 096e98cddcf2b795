import type { V1Container, V1ContainerPort } from "@kubernetes/client-node";

/**
 * How a Bourse component pod is watched (docs/operability.md): each serves /metrics, /livez and
 * /readyz on its metrics port (observability.<component> in the rendered config), which the
 * kubelet probes and Prometheus scrapes, through the component's Service or the pod.
 */
export const METRICS_PORT = 9090;
export const METRICS_PORT_NAME = "metrics";

/**
 * The namespaces whose pods may scrape the metrics port (the NetworkPolicies let nothing else
 * in): those the cluster's admin labels so, typically where Prometheus runs. The kubelet's
 * probes come from the node and are not subject to the policies.
 */
export const SCRAPER_NAMESPACE_LABEL = { "bourse.dev/scrape-metrics": "true" } as const;

export const METRICS_CONTAINER_PORT: V1ContainerPort = {
  name: METRICS_PORT_NAME,
  containerPort: METRICS_PORT,
};
export const METRICS_SERVICE_PORT = { name: METRICS_PORT_NAME, port: METRICS_PORT };

/**
 * Liveness on /livez (the event loop turns, the journal's writes complete), readiness on /readyz
 * (the component can serve). `slowStart` (UBSCore, which replays its journal and may restore a
 * large snapshot first): a startup probe holds liveness back for up to ten minutes.
 */
export function componentProbes(
  slowStart = false,
): Pick<V1Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
  const get = (path: string) => ({ httpGet: { path, port: METRICS_PORT_NAME } });
  return {
    livenessProbe: { ...get("/livez"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { ...get("/readyz"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
    ...(slowStart && {
      startupProbe: { ...get("/livez"), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 120 },
    }),
  };
}
