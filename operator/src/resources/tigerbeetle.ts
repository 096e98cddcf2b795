import type { V1Container, V1Service } from "@kubernetes/client-node";
import { DEFAULT_RESOURCES, INFRA_IMAGES, orDefault, spreadQuorum } from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { meta, objectName, PORTS, selector } from "./identity.ts";
import type { ClusterFacts, Manifest, Rendered } from "./rendered.ts";
import { claim, headlessService, pdb, podIndexRef, restrictedContainer, statefulSet } from "./workloads.ts";

/** One ClusterIP Service per TigerBeetle replica: stable IPs for `--addresses`. */
export function tigerbeetleReplicaServices(ex: Exchange): Manifest<V1Service>[] {
  if (ex.spec.tigerbeetle.external) return [];
  return Array.from({ length: ex.spec.tigerbeetle.replicas }, (_, i) => {
    const pod = `${objectName(ex, "tigerbeetle")}-${i}`;
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(ex, pod, "tigerbeetle"),
      spec: {
        type: "ClusterIP",
        selector: { "statefulset.kubernetes.io/pod-name": pod },
        ports: [{ name: "tigerbeetle", port: PORTS.tigerbeetle, targetPort: PORTS.tigerbeetle }],
      },
    };
  });
}

const DATA = { name: "data", mountPath: "/var/lib/tigerbeetle" };

/**
 * The ledger's replicas: `format` once in an init container, then `start` with every replica's
 * Service IP, its own slot listening on all interfaces. Production mode, under the image's tini.
 */
export function tigerbeetle(ex: Exchange, facts: ClusterFacts): Rendered {
  const name = objectName(ex, "tigerbeetle");
  const { replicas } = ex.spec.tigerbeetle;
  const sts = statefulSet(ex, name, "tigerbeetle", replicas, {
    initContainers: [format(ex, facts)],
    containers: [server(ex, facts)],
    volumeClaims: [claim(ex, "data", ex.spec.tigerbeetle.storage ?? "10Gi")],
    // TigerBeetle does all its I/O through io_uring, which the runtimes' default seccomp profiles
    // (containerd's and Docker's since 2023, and so the kubelet's seccompDefault) refuse: explicitly
    // Unconfined, never left to the node's default. The rest stays locked down (non-root, no
    // capabilities, no privilege escalation). docs/operator.md says so.
    seccomp: "Unconfined",
    scheduling: spreadQuorum(selector(ex, "tigerbeetle")),
  });
  return {
    objects: [
      ...tigerbeetleReplicaServices(ex),
      headlessService(ex, "tigerbeetle", PORTS.tigerbeetle),
      sts,
      pdb(ex, "tigerbeetle"),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "infrastructure", replicas }],
  };
}

// No --development: it caps a request at 253 transfers (settlement sends up to 8,190, so a
// backlog would stall for good) and gives up direct I/O. The server runs under the image's tini
// (/sbin/tini, its entrypoint, which a command replaces): as PID 1 itself it would ignore
// SIGTERM, and every stop would wait for the grace period's SIGKILL.
const SHELL = ["/sbin/tini", "--", "sh", "-c"];
const REPLICA = { name: "REPLICA", valueFrom: podIndexRef };

function dataFile(facts: ClusterFacts): string {
  return `/var/lib/tigerbeetle/${facts.tigerbeetleClusterId}_$(REPLICA).tigerbeetle`;
}

/** Format once: the data file holds the replica's identity and must never be re-created. */
function format(ex: Exchange, facts: ClusterFacts): V1Container {
  const file = dataFile(facts);
  return {
    name: "format",
    image: ex.spec.tigerbeetle.image ?? INFRA_IMAGES.tigerbeetle,
    env: [REPLICA],
    command: SHELL,
    args: [
      `test -f "${file}" || /tigerbeetle format --cluster=${facts.tigerbeetleClusterId} --replica=$(REPLICA) --replica-count=${ex.spec.tigerbeetle.replicas} "${file}"`,
    ],
    resources: orDefault(ex.spec.tigerbeetle.resources, DEFAULT_RESOURCES.tigerbeetle),
    volumeMounts: [DATA],
    securityContext: restrictedContainer(false),
  };
}

function server(ex: Exchange, facts: ClusterFacts): V1Container {
  const addresses = facts.tigerbeetleServiceIps.map((ip) => `${ip}:${PORTS.tigerbeetle}`).join(",");
  return {
    name: "tigerbeetle",
    image: ex.spec.tigerbeetle.image ?? INFRA_IMAGES.tigerbeetle,
    env: [REPLICA, { name: "ADDRESSES", value: addresses }],
    command: SHELL,
    // A replica listens on all interfaces in its own slot; the others are reached by Service IP.
    args: [
      `i=0; own=""; IFS=,; for a in $ADDRESSES; do [ "$i" = "$REPLICA" ] && a=0.0.0.0:${PORTS.tigerbeetle}; own="$own\${own:+,}$a"; i=$((i+1)); done; exec /tigerbeetle start --addresses="$own" "${dataFile(facts)}"`,
    ],
    ports: [{ name: "tigerbeetle", containerPort: PORTS.tigerbeetle }],
    readinessProbe: { tcpSocket: { port: PORTS.tigerbeetle }, periodSeconds: 5 },
    resources: orDefault(ex.spec.tigerbeetle.resources, DEFAULT_RESOURCES.tigerbeetle),
    volumeMounts: [DATA],
    securityContext: restrictedContainer(false),
  };
}
