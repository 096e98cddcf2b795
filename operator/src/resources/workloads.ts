import type {
  V1Container,
  V1Deployment,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1PodTemplateSpec,
  V1SecurityContext,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
  V1Volume,
} from "@kubernetes/client-node";
import { storageClass } from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { labels, meta, objectName, selector } from "./identity.ts";
import type { Manifest } from "./rendered.ts";

/** The building blocks every workload is made of: pod template, StatefulSet or Deployment, Services, PDB. */
const UID = 10001;

/** The pod's index from its StatefulSet (TigerBeetle's replica, Kafka's node id). */
export const podIndexRef = {
  fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" },
};

export interface PodParts {
  annotations?: Record<string, string>;
  initContainers?: V1Container[];
  containers: V1Container[];
  volumes?: V1Volume[];
  runAsUser?: number;
  /** The pod's seccomp profile: the runtime's default unless a workload needs more (TigerBeetle). */
  seccomp?: "RuntimeDefault" | "Unconfined";
  /** Affinity and topology spread (defaults.ts spreadQuorum). */
  scheduling?: Pick<V1PodSpec, "affinity" | "topologySpreadConstraints">;
  /** The pod's account, when it has one (UBSCore's, for its writer lease). */
  serviceAccountName?: string;
}

function podTemplate(ex: Exchange, component: string, parts: PodParts): V1PodTemplateSpec {
  const uid = parts.runAsUser ?? UID;
  return {
    metadata: { labels: labels(ex, component), annotations: parts.annotations },
    spec: {
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      securityContext: {
        ...(uid === 0 ? {} : { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid }),
        seccompProfile: { type: parts.seccomp ?? "RuntimeDefault" },
      },
      ...parts.scheduling,
      initContainers: parts.initContainers,
      containers: parts.containers,
      volumes: parts.volumes,
      serviceAccountName: parts.serviceAccountName,
    },
  };
}

export interface StatefulSetParts extends PodParts {
  serviceName?: string;
  parallel?: boolean;
  volumeClaims?: V1PersistentVolumeClaim[];
}

export function statefulSet(
  ex: Exchange,
  name: string,
  component: string,
  replicas: number,
  parts: StatefulSetParts,
): Manifest<V1StatefulSet> {
  const retention = ex.spec.volumeRetention;
  const claims = parts.volumeClaims ?? [];
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(ex, name, component),
    spec: {
      replicas,
      serviceName: parts.serviceName ?? `${name}-headless`,
      podManagementPolicy: parts.parallel ? "Parallel" : "OrderedReady",
      selector: { matchLabels: selector(ex, component) },
      updateStrategy: { type: "RollingUpdate" },
      template: podTemplate(ex, component, parts),
      // A StatefulSet without volumes (matching) has no claims to retain or delete.
      ...(claims.length > 0 && {
        persistentVolumeClaimRetentionPolicy: { whenDeleted: retention, whenScaled: "Retain" },
        volumeClaimTemplates: claims.map((c) => ({
          ...c,
          metadata: { ...c.metadata, labels: labels(ex, component) },
        })),
      }),
    },
  };
}

export function deployment(
  ex: Exchange,
  name: string,
  component: string,
  replicas: number,
  parts: PodParts & { recreate?: boolean },
): Manifest<V1Deployment> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(ex, name, component),
    spec: {
      replicas,
      selector: { matchLabels: selector(ex, component) },
      // Recreate: the old pod is gone before the new one starts (never two at once).
      strategy: parts.recreate
        ? { type: "Recreate" }
        : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: podTemplate(ex, component, parts),
    },
  };
}

export function claim(ex: Exchange, name: string, storage: string): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name },
    spec: { accessModes: ["ReadWriteOnce"], ...storageClass(ex), resources: { requests: { storage } } },
  };
}

/** A port of a headless Service: TCP by its number, or UDP. */
export type HeadlessPort = number | { port: number; protocol: "UDP" };

export function headlessService(
  ex: Exchange,
  component: string,
  ...ports: HeadlessPort[]
): Manifest<V1Service> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(ex, `${objectName(ex, component)}-headless`, component),
    spec: {
      clusterIP: "None",
      // Peers must find each other before they are ready (quorum forms only once they do).
      publishNotReadyAddresses: true,
      selector: selector(ex, component),
      ports: ports.map(
        (p): V1ServicePort =>
          typeof p === "number"
            ? { name: `p${p}`, port: p, targetPort: p }
            : { name: `p${p.port}-udp`, port: p.port, targetPort: p.port, protocol: p.protocol },
      ),
    },
  };
}

export function clientService(
  ex: Exchange,
  component: string,
  ports: { name: string; port: number }[],
  name = objectName(ex, component),
): Manifest<V1Service> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(ex, name, component),
    spec: {
      type: "ClusterIP",
      selector: selector(ex, component),
      ports: ports.map((p) => ({ ...p, targetPort: p.port })),
    },
  };
}

export function pdb(ex: Exchange, component: string): Manifest<V1PodDisruptionBudget> {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(ex, objectName(ex, component), component),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selector(ex, component) },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

export function restrictedContainer(readOnlyRoot: boolean): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: readOnlyRoot,
    capabilities: { drop: ["ALL"] },
  };
}
