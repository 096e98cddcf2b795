import { KubeConfig } from "@kubernetes/client-node";
import type { Lease } from "../../../operator/src/index.ts";
import { KubeClient, KubeError, microTime } from "../../../operator/src/index.ts";
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

/** A Lease as read: what the writer needs, and the object itself for the next replacement. */
interface KubeLeaseRecord extends LeaseRecord {
  readonly lease: Lease;
}

export function kubeLeaseStore(options: KubeLeaseOptions): LeaseStore<KubeLeaseRecord> {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromCluster();
  // A renewal that hangs is a failed one: the writer's deadline is what bounds it, not this.
  const kube = new KubeClient(config, 5_000);
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases`;
  const path = `${collection}/${options.name}`;
  const conflictIsFalse = (e: unknown) => {
    if (e instanceof KubeError && e.status === 409) return false;
    throw e;
  };
  return {
    async read() {
      const lease = await kube.find<Lease>(path);
      return (
        lease && {
          holder: lease.spec.holderIdentity ?? "",
          durationMs: (lease.spec.leaseDurationSeconds ?? 0) * 1000,
          version: lease.metadata.resourceVersion ?? "",
          lease,
        }
      );
    },
    create(holder, durationMs) {
      const now = microTime();
      const lease: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: options.name, namespace: options.namespace },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: Math.ceil(durationMs / 1000),
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      return kube.request("POST", collection, { body: lease }).then(() => true, conflictIsFalse);
    },
    replace({ lease }, holder, durationMs) {
      const now = microTime();
      // The holder renewing keeps its acquireTime; a new holder (or a release) is a transition.
      const renewal = holder === lease.spec.holderIdentity;
      const transitions = lease.spec.leaseTransitions ?? 0;
      const spec = {
        ...lease.spec,
        holderIdentity: holder,
        leaseDurationSeconds: Math.ceil(durationMs / 1000),
        renewTime: now,
        ...(renewal
          ? {}
          : { acquireTime: now, leaseTransitions: holder === "" ? transitions : transitions + 1 }),
      };
      return kube.request("PUT", path, { body: { ...lease, spec } }).then(() => true, conflictIsFalse);
    },
  };
}
