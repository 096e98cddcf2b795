import { API_VERSION, type Exchange, type ObjectMeta } from "../exchange.ts";
import { METRICS_PORT } from "../observability.ts";

/** How the operator names, labels and owns what it renders for an Exchange, and the ports it opens. */
export const PORTS = {
  trading: 8080,
  admin: 8081,
  transport: 7100,
  /** Aeron UDP (transport: aeron): UBSCore's endpoint; each client's (gateways', UBSCore's) for replies. */
  aeron: 7200,
  aeronReply: 7201,
  /** `bourse settlement`: UBSCore's status and `caughtUp` calls. */
  settlement: 7300,
  /** `bourse matching`: UBSCore's order commands, over TCP; over Aeron UDP, matching's endpoint. */
  matching: 7400,
  matchingAeron: 7401,
  tigerbeetle: 3001,
  kafka: 9092,
  controller: 9093,
  cql: 9042,
  /** Every Bourse component: /metrics, /livez and /readyz (operator/src/observability.ts). */
  metrics: METRICS_PORT,
};
export const CONFIG_HASH_ANNOTATION = "bourse.dev/config-hash";

/** Every object the operator creates carries this label; its watches and prunes select on it. */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=bourse-operator";

/** The objects the operator made for one Exchange. */
export function ownedSelector(ex: Exchange): string {
  return `app.kubernetes.io/instance=${ex.metadata.name},${MANAGED_SELECTOR}`;
}

export function labels(ex: Exchange, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "bourse",
    "app.kubernetes.io/instance": ex.metadata.name,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": "bourse",
    "app.kubernetes.io/managed-by": "bourse-operator",
  };
}

/** Selectors use only what never changes for a workload (its instance and component). */
export function selector(ex: Exchange, component: string): Record<string, string> {
  return { "app.kubernetes.io/instance": ex.metadata.name, "app.kubernetes.io/component": component };
}

export function meta(ex: Exchange, name: string, component: string): ObjectMeta {
  return {
    name,
    namespace: ex.metadata.namespace,
    labels: labels(ex, component),
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: "Exchange",
        name: ex.metadata.name,
        uid: ex.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

export function objectName(ex: Exchange, component: string): string {
  return `${ex.metadata.name}-${component}`;
}

/** The operator API's bearer token, generated once (see reconciler.ts); `kubectl get secret` reads it. */
export function adminTokenSecret(ex: Exchange): string {
  return objectName(ex, "admin-token");
}

/**
 * The keys of the links between the components (docs/security.md, "Internal links"), one per
 * link, generated once (see reconciler.ts). Each pod mounts only the keys of its own links.
 */
export function linkKeysSecret(ex: Exchange): string {
  return objectName(ex, "link-keys");
}

export const LINK_KEYS = {
  ubscore: ["gateway-ubscore", "ubscore-matching", "ubscore-settlement"],
  gateway: ["gateway-ubscore"],
  matching: ["ubscore-matching"],
  settlement: ["ubscore-settlement"],
} as const;
