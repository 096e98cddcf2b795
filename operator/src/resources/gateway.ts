import type { Exchange } from "../exchange.ts";
import { METRICS_CONTAINER_PORT, METRICS_SERVICE_PORT } from "../observability.ts";
import { AERON_REPLY_PORT, componentPod, hotPathContainer, linkKeys } from "./bourse-pod.ts";
import { objectName, PORTS } from "./identity.ts";
import type { Rendered } from "./rendered.ts";
import { clientService, deployment, pdb } from "./workloads.ts";

/**
 * `bourse gateway`: any number, each serving the trading API from a replica of UBSCore it
 * subscribes to (over TCP, or Aeron UDP with its replies on its own pod IP). A Deployment that
 * rolls one pod more at a time, with a PodDisruptionBudget.
 */
export function gateway(ex: Exchange, configHash: string): Rendered {
  const c = "gateway";
  const name = objectName(ex, c);
  const { replicas } = ex.spec.gateway;
  const keys = linkKeys(ex, c);
  const container = hotPathContainer(ex, c, keys, [
    { name: "trading", containerPort: PORTS.trading },
    ...(ex.spec.transport === "aeron" ? [AERON_REPLY_PORT] : []),
    METRICS_CONTAINER_PORT,
  ]);
  return {
    objects: [
      deployment(ex, name, c, replicas, componentPod(ex, c, container, configHash, keys.volume)),
      clientService(ex, c, [{ name: "trading", port: PORTS.trading }, METRICS_SERVICE_PORT]),
      pdb(ex, c),
    ],
    workloads: [{ kind: "Deployment", name, tier: "component", replicas }],
  };
}
