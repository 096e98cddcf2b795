import { randomBytes } from "node:crypto";
import { type Fetch, fetchFromPod, observeHealth } from "./component-health.ts";
import type { EventRecorder } from "./events.ts";
import { API_VERSION, type Exchange, FIELD_MANAGER, FINALIZER, type KubeObject } from "./exchange.ts";
import { collectionPath, type KubeClient, KubeError, objectPath } from "./kube-client.ts";
import type { Metrics } from "./metrics.ts";
import {
  adminTokenSecret,
  type ClusterFacts,
  LINK_KEYS,
  labels,
  linkKeysSecret,
  objectName,
  ownedSelector,
  renderExchange,
  tigerbeetleReplicaServices,
  type Workload,
} from "./resources.ts";
import { computeStatus, workloadKey } from "./status.ts";

/**
 * One level-triggered pass over one Exchange: whatever happened before, afterwards the cluster
 * holds exactly the rendered objects (server-side applied under one field manager), nothing
 * stale (pruned), and the Exchange's status says how far along it is. Safe to run any number of
 * times, from any operator replica that holds the lease.
 */
const PRUNABLE: [string, string][] = [
  ["v1", "ConfigMap"],
  ["v1", "Service"],
  ["apps/v1", "StatefulSet"],
  ["apps/v1", "Deployment"],
  ["policy/v1", "PodDisruptionBudget"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
];

export type ReconcileResult = "done" | "gone";

export interface ReconcilerOptions {
  /** The namespace the operator's pods run in, if in a cluster: the metrics ports admit them (NetworkPolicy). */
  readonly operatorNamespace?: string;
  /** How the component pods are asked for their health (component-health.ts). */
  readonly fetch?: Fetch;
  readonly now?: () => Date;
}

export class Reconciler {
  /** Each Exchange's workloads as last rendered here, for status refreshes between passes. */
  private readonly rendered = new Map<string, readonly Workload[]>();

  constructor(
    private readonly kube: KubeClient,
    private readonly events: EventRecorder,
    private readonly metrics: Metrics,
    private readonly options: ReconcilerOptions = {},
  ) {}

  /**
   * The status alone, from the workloads and pods as they are now: between passes (which run on
   * changes), so that settlement's lag, the last reconcile and each pod's readiness stay current.
   * Nothing is applied; an Exchange not yet reconciled by this replica waits for its first pass.
   */
  async refreshStatus(namespace: string, name: string): Promise<void> {
    const ex = await this.kube.find<Exchange>(
      `${collectionPath(API_VERSION, "Exchange", namespace)}/${name}`,
    );
    const workloads = this.rendered.get(`${namespace}/${name}`);
    if (!ex || ex.metadata.deletionTimestamp || !workloads) return;
    const objects = new Map<string, KubeObject>();
    for (const w of workloads) {
      const obj = await this.kube.find<KubeObject>(
        objectPath({ apiVersion: "apps/v1", kind: w.kind, metadata: { name: w.name, namespace } }),
      );
      if (obj) objects.set(workloadKey(w.kind, w.name), obj);
    }
    await this.writeStatus(ex, workloads, objects);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const path = `${collectionPath(API_VERSION, "Exchange", namespace)}/${name}`;
    const ex = await this.kube.find<Exchange>(path);
    if (!ex) {
      this.rendered.delete(`${namespace}/${name}`);
      return "gone";
    }
    if (ex.metadata.deletionTimestamp) {
      await this.finalize(ex, path);
      return "done";
    }
    if (!ex.metadata.finalizers?.includes(FINALIZER)) {
      await this.kube.mergePatch(path, {
        metadata: {
          resourceVersion: ex.metadata.resourceVersion,
          finalizers: [...(ex.metadata.finalizers ?? []), FINALIZER],
        },
      });
    }
    try {
      await this.converge(ex);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.events.warning(ex, "ReconcileFailed", message);
      await this.writeStatus(ex, [], new Map(), {
        reason: "ReconcileFailed",
        message: message.slice(0, 4000),
      });
      throw e;
    }
    return "done";
  }

  private async converge(ex: Exchange): Promise<void> {
    const facts = await this.clusterFacts(ex);
    const rendered = renderExchange(ex, facts);
    this.rendered.set(`${ex.metadata.namespace}/${ex.metadata.name}`, rendered.workloads);
    const applied = new Map<string, KubeObject>();
    for (const obj of rendered.objects) {
      const result = await this.kube.apply<KubeObject>(obj, FIELD_MANAGER);
      applied.set(workloadKey(obj.kind, obj.metadata.name), result);
      this.metrics.count("bourse_operator_applies_total", { kind: obj.kind });
    }
    await this.prune(ex, new Set([...applied.keys(), workloadKey("ConfigMap", identityName(ex))]));
    const previousGeneration = ex.status?.observedGeneration;
    const status = await this.writeStatus(ex, rendered.workloads, applied);
    if (previousGeneration !== ex.metadata.generation) {
      this.events.normal(
        ex,
        "Reconciled",
        `applied ${rendered.objects.length} objects for generation ${ex.metadata.generation}`,
      );
    }
    if (status.phase !== ex.status?.phase) {
      this.events.normal(ex, "PhaseChanged", `phase ${ex.status?.phase ?? "(none)"} -> ${status.phase}`);
    }
  }

  private async writeStatus(
    ex: Exchange,
    workloads: Parameters<typeof computeStatus>[1]["workloads"],
    objects: Map<string, KubeObject>,
    error?: { reason: string; message: string },
  ) {
    const health = await observeHealth(this.kube, ex, this.options.fetch ?? fetchFromPod).catch(
      () => undefined,
    );
    const now = this.options.now?.() ?? new Date();
    const status = computeStatus(ex, { workloads, objects, error, health, now });
    await this.kube.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: "Exchange",
        metadata: { name: ex.metadata.name, namespace: ex.metadata.namespace },
        status,
      },
      FIELD_MANAGER,
    );
    return status;
  }

  /**
   * Ids that must never change once the clusters are formatted (TigerBeetle's cluster id, Kafka's
   * cluster id) are generated once and kept in a ConfigMap that is created, never applied over;
   * TigerBeetle takes replica addresses as IPs only, so its per-replica Services come first.
   */
  private async clusterFacts(ex: Exchange): Promise<ClusterFacts> {
    const identity = await this.identity(ex);
    await this.createOnce({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: adminTokenSecret(ex),
        namespace: ex.metadata.namespace,
        labels: labels(ex, "admin-token"),
        ownerReferences: owner(ex),
      },
      type: "Opaque",
      stringData: { token: randomBytes(24).toString("hex") },
    });
    await this.createOnce({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: linkKeysSecret(ex),
        namespace: ex.metadata.namespace,
        labels: labels(ex, "link-keys"),
        ownerReferences: owner(ex),
      },
      type: "Opaque",
      stringData: Object.fromEntries(
        LINK_KEYS.ubscore.map((link) => [link, randomBytes(32).toString("hex")]),
      ),
    });
    const ips: string[] = [];
    for (const svc of tigerbeetleReplicaServices(ex)) {
      const applied = await this.kube.apply<{ spec: { clusterIP: string } }>(svc, FIELD_MANAGER);
      ips.push(applied.spec.clusterIP);
    }
    return { ...identity, tigerbeetleServiceIps: ips, operatorNamespace: this.options.operatorNamespace };
  }

  /**
   * The identity belongs to the data, not to the Exchange object: it has no owner, so deleting the
   * Exchange leaves it beside the volumes it names (volumeRetention: Retain), and an Exchange made
   * again under the same name finds the same TigerBeetle and Kafka clusters on them. The finalizer
   * deletes it with the volumes (Delete). One made by an older operator, owned, is released.
   */
  private async identity(ex: Exchange): Promise<{ tigerbeetleClusterId: string; kafkaClusterId: string }> {
    const identity = await this.createOnce<KubeObject & { data?: Record<string, string> }>({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: identityName(ex),
        namespace: ex.metadata.namespace,
        labels: labels(ex, "identity"),
      },
      data: {
        // Cluster 0 is reserved for TigerBeetle's tests; a random u128 avoids it and any other cluster.
        tigerbeetleClusterId: (BigInt(`0x${randomBytes(16).toString("hex")}`) | 1n).toString(),
        kafkaClusterId: randomBytes(16).toString("base64url").slice(0, 22),
      },
    });
    if (identity.metadata.ownerReferences?.length) {
      await this.kube.mergePatch(objectPath(identity), { metadata: { ownerReferences: null } });
    }
    const data = identity.data ?? {};
    if (!data.tigerbeetleClusterId || !data.kafkaClusterId) {
      throw new Error(`ConfigMap ${identityName(ex)} lost its cluster ids: restore it from a backup`);
    }
    return { tigerbeetleClusterId: data.tigerbeetleClusterId, kafkaClusterId: data.kafkaClusterId };
  }

  /** Creates `obj` unless it exists; never overwrites it (generated ids and secrets stay as first made). */
  private async createOnce<T extends KubeObject>(obj: T): Promise<T> {
    const stored = await this.kube.find<T>(objectPath(obj));
    if (stored) return stored;
    try {
      return await this.kube.create<T>(obj);
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 409)) throw e;
      return this.kube.get<T>(objectPath(obj));
    }
  }

  /** Deletes objects this Exchange owns that the current spec no longer renders (e.g. Kafka made external). */
  private async prune(ex: Exchange, keep: Set<string>): Promise<void> {
    for (const [apiVersion, kind] of PRUNABLE) {
      const list = await this.kube.list<KubeObject>(
        collectionPath(apiVersion, kind, ex.metadata.namespace),
        ownedSelector(ex),
      );
      for (const obj of list.items) {
        const owned = obj.metadata.ownerReferences?.some((r) => r.uid === ex.metadata.uid);
        if (!owned || keep.has(workloadKey(kind, obj.metadata.name))) continue;
        await this.kube.delete(objectPath({ apiVersion, kind, metadata: obj.metadata }));
        this.events.normal(ex, "Pruned", `deleted ${kind} ${obj.metadata.name}, no longer in the spec`);
      }
    }
  }

  /**
   * Deletion: owned objects go with the Exchange (owner references); what does not is the volumes
   * StatefulSets created. `volumeRetention: Delete` removes them, `Retain` keeps them for a
   * re-created Exchange of the same name (its journals and ledger data survive). Then the
   * finalizer is dropped, with a resourceVersion precondition so a concurrent edit is not lost.
   */
  private async finalize(ex: Exchange, path: string): Promise<void> {
    if (!ex.metadata.finalizers?.includes(FINALIZER)) return;
    if (ex.spec.volumeRetention === "Delete") {
      const pvcs = await this.kube.list<KubeObject>(
        collectionPath("v1", "PersistentVolumeClaim", ex.metadata.namespace),
        ownedSelector(ex),
      );
      for (const pvc of pvcs.items) {
        await this.kube.delete(
          objectPath({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: pvc.metadata }),
        );
      }
      await this.kube.delete(objectPath({ apiVersion: "v1", kind: "ConfigMap", metadata: identityMeta(ex) }));
      this.events.normal(
        ex,
        "VolumesDeleted",
        `deleted ${pvcs.items.length} volume claims and the clusters' identity (volumeRetention: Delete)`,
      );
    } else {
      this.events.normal(
        ex,
        "VolumesRetained",
        `kept the volume claims of ${objectName(ex, "*")} and ConfigMap ${identityName(ex)} (volumeRetention: Retain)`,
      );
    }
    await this.kube.mergePatch(path, {
      metadata: {
        resourceVersion: ex.metadata.resourceVersion,
        finalizers: ex.metadata.finalizers.filter((f) => f !== FINALIZER),
      },
    });
  }
}

function owner(ex: Exchange) {
  const { name, uid } = ex.metadata;
  return [
    { apiVersion: API_VERSION, kind: "Exchange", name, uid, controller: true, blockOwnerDeletion: true },
  ];
}

function identityName(ex: Exchange): string {
  return objectName(ex, "identity");
}

function identityMeta(ex: Exchange) {
  return { name: identityName(ex), namespace: ex.metadata.namespace };
}
