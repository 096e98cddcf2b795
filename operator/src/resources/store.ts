import type { V1Container } from "@kubernetes/client-node";
import { DEFAULT_RESOURCES, INFRA_IMAGES, orDefault, replicationFactor, spreadQuorum } from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { objectName, PORTS, selector } from "./identity.ts";
import type { Rendered } from "./rendered.ts";
import { claim, clientService, headlessService, pdb, restrictedContainer, statefulSet } from "./workloads.ts";

/**
 * The history store's nodes, ScyllaDB or Apache Cassandra (spec.store.engine): both speak CQL on
 * 9042 in data center `datacenter1`, which the components' keyspace replicates to with
 * NetworkTopologyStrategy (replicationFactor below). Each engine runs its official image on its
 * documented contract:
 * - scylladb/scylla: command-line flags (`--seeds`, `--smp`, `--memory`, `--developer-mode`),
 *   data under /var/lib/scylla, its entrypoint configuring itself as root;
 * - cassandra: environment (`CASSANDRA_SEEDS`, `CASSANDRA_CLUSTER_NAME`, `MAX_HEAP_SIZE`,
 *   `HEAP_NEWSIZE`), data under /var/lib/cassandra, run as its `cassandra` user (UID 999).
 * Nodes may be added, not removed: a node leaves a ring only by decommission, which streams its
 * data to the others, so the CRD refuses a smaller `nodes`.
 */
export const STORE_DATA_CENTER = "datacenter1";
const CASSANDRA_UID = 999;

export function storeReplicationFactor(ex: Exchange): number {
  return ex.spec.store.external ? 1 : replicationFactor(ex.spec.store.nodes);
}

export function store(ex: Exchange): Rendered {
  const name = objectName(ex, "store");
  const headless = `${name}-headless`;
  const { nodes, engine } = ex.spec.store;
  const seed = `${name}-0.${headless}.${ex.metadata.namespace}.svc`;
  const common: V1Container = {
    name: engine,
    image: ex.spec.store.image ?? INFRA_IMAGES[engine],
    ports: [{ name: "cql", containerPort: PORTS.cql }],
    readinessProbe: { tcpSocket: { port: PORTS.cql }, periodSeconds: 10 },
    resources: orDefault(ex.spec.store.resources, DEFAULT_RESOURCES[engine]),
  };
  const container: V1Container =
    engine === "scylla"
      ? {
          ...common,
          args: [
            "--smp=1",
            "--memory=750M",
            // Pods share their cores with others: poll less, yield more.
            "--overprovisioned=1",
            `--developer-mode=${ex.spec.store.developerMode ? 1 : 0}`,
            // Linux AIO contexts (fs.aio-max-nr) are per host and shared by every pod on it.
            "--reactor-backend=epoll",
            `--seeds=${seed}`,
          ],
          volumeMounts: [{ name: "data", mountPath: "/var/lib/scylla" }],
        }
      : {
          ...common,
          env: [
            { name: "CASSANDRA_SEEDS", value: seed },
            { name: "CASSANDRA_CLUSTER_NAME", value: `bourse-${ex.metadata.name}` },
            { name: "MAX_HEAP_SIZE", value: "1G" },
            { name: "HEAP_NEWSIZE", value: "256M" },
          ],
          volumeMounts: [{ name: "data", mountPath: "/var/lib/cassandra" }],
          securityContext: restrictedContainer(false),
        };
  const sts = statefulSet(ex, name, "store", nodes, {
    serviceName: headless,
    containers: [container],
    volumeClaims: [claim(ex, "data", ex.spec.store.storage ?? "10Gi")],
    // The ScyllaDB image's entrypoint configures itself as root.
    runAsUser: engine === "scylla" ? 0 : CASSANDRA_UID,
    scheduling: spreadQuorum(selector(ex, "store")),
  });
  return {
    objects: [
      headlessService(ex, "store", PORTS.cql),
      clientService(ex, "store", [{ name: "cql", port: PORTS.cql }]),
      sts,
      pdb(ex, "store"),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "infrastructure", replicas: nodes }],
  };
}
