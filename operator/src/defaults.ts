import type { V1PersistentVolumeClaimSpec, V1PodSpec, V1ResourceRequirements } from "@kubernetes/client-node";
import type { Exchange, StoreEngine } from "./exchange.ts";

/**
 * What the operator runs when the spec leaves it out: infrastructure images pinned to a release
 * (never a moving tag, so IfNotPresent always means the same bits), and requests and limits for
 * every pod, so none is BestEffort and the scheduler accounts for each. Any of them is overridden
 * per component in the spec (`<component>.image`, `<component>.resources`), e.g. for a registry
 * mirror or a bigger machine.
 */
export const INFRA_IMAGES = {
  tigerbeetle: "ghcr.io/tigerbeetle/tigerbeetle:0.17.9",
  kafka: "docker.io/apache/kafka:3.9.1",
  scylla: "docker.io/scylladb/scylla:6.2.3",
  cassandra: "docker.io/library/cassandra:5.0.4",
} as const satisfies Record<"tigerbeetle" | "kafka" | StoreEngine, string>;

/**
 * CPU requests are small (the whole example fits a 2-core node); memory requests are what each
 * process took on the local cluster, and limits sit above what it takes at its defaults:
 * TigerBeetle's grid cache and buffers, Kafka's and Cassandra's JVM heaps (1 GiB, set in their
 * pods), ScyllaDB's `--memory`, a Bourse component's Node heap.
 */
export const DEFAULT_RESOURCES = {
  // Measured on the local cluster: a 3.1 GiB working set in production mode, all taken at start.
  tigerbeetle: { requests: { cpu: "100m", memory: "3Gi" }, limits: { memory: "4Gi" } },
  kafka: { requests: { cpu: "100m", memory: "1536Mi" }, limits: { memory: "2Gi" } },
  scylla: { requests: { cpu: "100m", memory: "1Gi" }, limits: { memory: "1536Mi" } },
  cassandra: { requests: { cpu: "100m", memory: "1536Mi" }, limits: { memory: "3Gi" } },
  bourse: { requests: { cpu: "50m", memory: "192Mi" }, limits: { memory: "2Gi" } },
} as const satisfies Record<string, V1ResourceRequirements>;

/** The spec's resources (the CRD's schema is the API server's ResourceRequirements) or the default. */
export function orDefault(
  resources: Record<string, unknown> | undefined,
  fallback: V1ResourceRequirements,
): V1ResourceRequirements {
  return resources && Object.keys(resources).length > 0 ? (resources as V1ResourceRequirements) : fallback;
}

/**
 * A quorum's members (TigerBeetle replicas, Kafka brokers, store nodes) on different nodes and
 * zones where the cluster has them: preferred, not required, so a single-node cluster still runs
 * them all, and a lost node or zone takes at most one member where there is room to spread.
 */
export function spreadQuorum(
  selector: Record<string, string>,
): Pick<V1PodSpec, "affinity" | "topologySpreadConstraints"> {
  return {
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              labelSelector: { matchLabels: selector },
              topologyKey: "kubernetes.io/hostname",
            },
          },
        ],
      },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector },
      },
    ],
  };
}

/** Copies of each record or row: three where there are three members, else as many as there are. */
export function replicationFactor(members: number): number {
  return Math.min(3, members);
}

/** Writes succeed while a majority of the copies do (2 of 3), never fewer than one. */
export function minInSync(members: number): number {
  return Math.max(1, Math.floor(replicationFactor(members) / 2) + 1);
}

export function storageClass(ex: Exchange): Pick<V1PersistentVolumeClaimSpec, "storageClassName"> {
  return ex.spec.storageClassName ? { storageClassName: ex.spec.storageClassName } : {};
}
