import type { V1ContainerPort } from "@kubernetes/client-node";
import type { Exchange } from "../exchange.ts";
import { METRICS_CONTAINER_PORT, METRICS_SERVICE_PORT } from "../observability.ts";
import { underWriterLease, writerLeaseAccess } from "../ubscore-lease.ts";
import { AERON_REPLY_PORT, componentPod, DATA_MOUNT, hotPathContainer, linkKeys } from "./bourse-pod.ts";
import { adminTokenSecret, objectName, PORTS } from "./identity.ts";
import type { Rendered } from "./rendered.ts";
import { claim, clientService, headlessService, statefulSet } from "./workloads.ts";

/**
 * `bourse ubscore`: the single writer (journal, transfers, operator API; it journals every order
 * command and matching's outcome), one replica under its writer lease (ubscore-lease.ts), with a
 * volume for its journals. Gateways reach it at its Service over TCP, or over Aeron UDP at its
 * pod's DNS name (the headless Service).
 */
export function ubscore(ex: Exchange, configHash: string): Rendered {
  const c = "ubscore";
  const name = objectName(ex, c);
  const replicas = 1;
  const keys = linkKeys(ex, c);
  const container = hotPathContainer(ex, c, keys, ports(ex), {
    env: [
      {
        name: "BOURSE_ADMIN_TOKEN",
        valueFrom: { secretKeyRef: { name: adminTokenSecret(ex), key: "token" } },
      },
    ],
    mounts: [DATA_MOUNT],
    slowStart: true,
  });
  const pod = componentPod(ex, c, container, configHash, keys.volume);
  return {
    objects: [
      ...writerLeaseAccess(ex),
      statefulSet(ex, name, c, replicas, {
        ...underWriterLease(ex, pod),
        volumeClaims: [claim(ex, "data", ex.spec.ubscore.storage)],
      }),
      clientService(ex, c, [{ name: "transport", port: PORTS.transport }, METRICS_SERVICE_PORT]),
      clientService(ex, c, [{ name: "admin", port: PORTS.admin }], objectName(ex, "admin")),
      // The StatefulSet's governing Service: the pod's DNS name, which gateways send Aeron UDP to.
      headlessService(ex, c, { port: PORTS.aeron, protocol: "UDP" }),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "component", replicas }],
  };
}

function ports(ex: Exchange): V1ContainerPort[] {
  const hotPath =
    ex.spec.transport === "aeron"
      ? [
          { name: "aeron", containerPort: PORTS.aeron, protocol: "UDP" },
          // Matching's replies to UBSCore, its client.
          AERON_REPLY_PORT,
        ]
      : [{ name: "transport", containerPort: PORTS.transport }];
  return [...hotPath, { name: "admin", containerPort: PORTS.admin }, METRICS_CONTAINER_PORT];
}
