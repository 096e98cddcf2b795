import type { V1Container } from "@kubernetes/client-node";
import { DEFAULT_RESOURCES, orDefault } from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { componentProbes, METRICS_CONTAINER_PORT, METRICS_SERVICE_PORT } from "../observability.ts";
import { BOURSE_MOUNTS, bourseContainer, bourseVolumes, DATA_MOUNT, linkKeys } from "./bourse-pod.ts";
import { CONFIG_HASH_ANNOTATION, objectName, PORTS } from "./identity.ts";
import type { Rendered } from "./rendered.ts";
import { clientService, deployment } from "./workloads.ts";

/**
 * `bourse settlement`: settles UBSCore's settlement feed (one Kafka partition, consumer group
 * `bourse-settlement`) into TigerBeetle and ScyllaDB, and serves UBSCore, which dials its Service.
 * - Recreate, at most one replica: the partition has one active consumer, and UBSCore must talk
 *   to the pod that settles, so a rolling update's second pod must never run beside the first.
 * - An emptyDir for its data: it keeps only its position there, which it recovers from Kafka's
 *   committed offset when the file is gone.
 * - No media-driver sidecar: it does not use Aeron.
 * - No PodDisruptionBudget, like UBSCore: with one replica, `maxUnavailable: 1` allows every
 *   eviction anyway, and anything stricter would block node drains.
 */
export function settlement(ex: Exchange, configHash: string): Rendered {
  const c = "settlement";
  const name = objectName(ex, c);
  const { replicas } = ex.spec.settlement;
  const keys = linkKeys(ex, c);
  const container: V1Container = {
    ...bourseContainer(ex, c),
    env: [keys.env],
    ports: [{ name: c, containerPort: PORTS.settlement }, METRICS_CONTAINER_PORT],
    ...componentProbes(),
    resources: orDefault(ex.spec.settlement.resources, DEFAULT_RESOURCES.bourse),
    volumeMounts: [...BOURSE_MOUNTS, keys.mount, DATA_MOUNT],
  };
  return {
    objects: [
      deployment(ex, name, c, replicas, {
        annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
        containers: [container],
        volumes: [...bourseVolumes(ex), keys.volume, { name: "data", emptyDir: {} }],
        recreate: true,
      }),
      clientService(ex, c, [{ name: c, port: PORTS.settlement }, METRICS_SERVICE_PORT]),
    ],
    workloads: [{ kind: "Deployment", name, tier: "component", replicas }],
  };
}
