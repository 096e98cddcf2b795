import type { KubeObject, ObjectMeta } from "../exchange.ts";

/**
 * What the cluster knows that the spec does not: with the Exchange (defaults applied) it is all
 * the rendering needs. No I/O in any of resources/: the reconciler server-side-applies what it
 * renders and prunes what it no longer contains.
 */
export interface ClusterFacts {
  /** Generated once per Exchange and kept in its identity ConfigMap (see reconciler.ts). */
  readonly tigerbeetleClusterId: string;
  readonly kafkaClusterId: string;
  /** ClusterIPs of the per-replica TigerBeetle Services, in replica order (TigerBeetle takes IPs only). */
  readonly tigerbeetleServiceIps: readonly string[];
  /** Where the operator's own pods run, when it runs in the cluster: they read each component's health. */
  readonly operatorNamespace?: string;
}

export type WorkloadKind = "StatefulSet" | "Deployment";
export type Tier = "infrastructure" | "component";

/** A workload whose readiness the Exchange's conditions report. */
export interface Workload {
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly tier: Tier;
  readonly replicas: number;
}

/**
 * A client library object (`V1StatefulSet`, `V1Service`, ...) as the operator renders it: its
 * kind and apiVersion always set, and the metadata the operator's own `ObjectMeta`.
 */
export type Manifest<T> = Omit<T, "apiVersion" | "kind" | "metadata"> & {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
};

export interface Rendered {
  readonly objects: KubeObject[];
  readonly workloads: Workload[];
}
