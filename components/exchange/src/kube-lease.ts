import { KubeConfig } from "@kubernetes/client-node";
import { microTime } from "../../../operator/src/exchange.ts";
import { KubeClient, KubeError } from "../../../operator/src/kube-client.ts";
import type { Lease } from "../../../operator/src/leader.ts";
import type { LeaseRecord, LeaseStore } from "./writer-lease.ts";

/**
 * The writer lease as a coordination.k8s.io/v1 Lease (the operator grants UBSCore's service
 * account get/create/update on it). Replacements carry the resourceVersion, so the API server
 * refuses (409) a write based on a record someone else changed.
 */
export interface KubeLeaseOptions {
  readonly namespace: string;
  readonly name: string;
  /** A kubeconfig file; in the pod (the service account) when not given. */
  readonly kubeconfig?: string;
}

export function kubeLeaseStore(options: KubeLeaseOptions): LeaseStore {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromCluster();
  // A renewal that hangs is a failed one: the writer's deadline is what bounds it, not this.
  const kube = new KubeClient(config, 5_000);
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases`;
  const path = `${collection}/${options.name}`;
  const lease = (holder: string, durationMs: number, transitions: number, version?: string): Lease => {
    const time = microTime();
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: options.name, namespace: options.namespace, resourceVersion: version },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: Math.ceil(durationMs / 1000),
        acquireTime: time,
        renewTime: time,
        leaseTransitions: transitions,
      },
    };
  };
  const conflictIsFalse = (e: unknown) => {
    if (e instanceof KubeError && e.status === 409) return false;
    throw e;
  };
  return {
    async read(): Promise<LeaseRecord | undefined> {
      const found = await kube.find<Lease>(path);
      return (
        found && {
          holder: found.spec.holderIdentity ?? "",
          durationMs: (found.spec.leaseDurationSeconds ?? 0) * 1000,
          version: found.metadata.resourceVersion ?? "",
          transitions: found.spec.leaseTransitions ?? 0,
        }
      );
    },
    create: (holder, durationMs) =>
      kube
        .request("POST", collection, { body: lease(holder, durationMs, 0) })
        .then(() => true, conflictIsFalse),
    replace: (version, holder, durationMs, transitions) =>
      kube
        .request("PUT", path, { body: lease(holder, durationMs, transitions, version) })
        .then(() => true, conflictIsFalse),
  };
}
