import type { Exchange } from "../exchange.ts";
import { METRICS_CONTAINER_PORT, METRICS_SERVICE_PORT } from "../observability.ts";
import { componentPod, hotPathContainer, linkKeys } from "./bourse-pod.ts";
import { objectName, PORTS } from "./identity.ts";
import type { Rendered } from "./rendered.ts";
import { clientService, headlessService, statefulSet } from "./workloads.ts";

/**
 * `bourse matching`: the order books, in memory only. UBSCore journals every order command and
 * its outcome, and whenever matching connects it sends the books (derived from its own state) and
 * every command not yet answered; so matching keeps no journal and no volume.
 * - A StatefulSet of at most one replica: one writer per market set, and at most one pod named
 *   `<name>-matching-0` at any time (a Deployment may briefly run two, even with Recreate);
 *   its stable DNS name (the headless Service) is where UBSCore sends Aeron UDP.
 * - Over TCP, UBSCore dials its ClusterIP Service (`<name>-matching:7400`).
 * - The Aeron media-driver sidecar, like UBSCore and gateways: the hot path UBSCore -> matching.
 * - No PodDisruptionBudget, like UBSCore and settlement: with one replica, `maxUnavailable: 1`
 *   allows every eviction anyway, and anything stricter would block node drains.
 */
export function matching(ex: Exchange, configHash: string): Rendered {
  const c = "matching";
  const name = objectName(ex, c);
  const { replicas } = ex.spec.matching;
  const keys = linkKeys(ex, c);
  const container = hotPathContainer(ex, c, keys, [
    ex.spec.transport === "aeron"
      ? { name: "aeron", containerPort: PORTS.matchingAeron, protocol: "UDP" }
      : { name: c, containerPort: PORTS.matching },
    METRICS_CONTAINER_PORT,
  ]);
  return {
    objects: [
      statefulSet(ex, name, c, replicas, componentPod(ex, c, container, configHash, keys.volume)),
      clientService(ex, c, [{ name: c, port: PORTS.matching }, METRICS_SERVICE_PORT]),
      // The StatefulSet's governing Service: the pod's DNS name, which UBSCore sends Aeron UDP to.
      headlessService(ex, c, { port: PORTS.matchingAeron, protocol: "UDP" }),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "component", replicas }],
  };
}
