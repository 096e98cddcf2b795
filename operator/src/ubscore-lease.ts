import type { V1Role, V1RoleBinding, V1ServiceAccount, V1Volume } from "@kubernetes/client-node";
import type { Exchange } from "./exchange.ts";
import { meta, objectName } from "./resources/identity.ts";
import type { Manifest } from "./resources/rendered.ts";
import type { PodParts } from "./resources/workloads.ts";

/**
 * UBSCore's writer lease on Kubernetes (components/exchange/src/writer-lease.ts): the pod holds
 * the Lease `<name>-ubscore` before it opens its journal and exits when it cannot renew it in
 * time, so a pod on a partitioned node and its replacement never both write. What the operator
 * renders for it: a ServiceAccount of UBSCore's own, a Role that lets it read, create and renew
 * that one Lease and nothing else, their RoleBinding, and in UBSCore's pod the lease's settings
 * and the account's token, mounted into the UBSCore container alone (the media driver has none).
 */
export function writerLeaseName(ex: Exchange): string {
  return objectName(ex, "ubscore");
}

/** UBSCore's ServiceAccount, and the Role and RoleBinding that give it the lease. */
export function writerAccountName(ex: Exchange): string {
  return objectName(ex, "ubscore-writer");
}

const ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export function writerLeaseAccess(
  ex: Exchange,
): [Manifest<V1ServiceAccount>, Manifest<V1Role>, Manifest<V1RoleBinding>] {
  const name = writerAccountName(ex);
  const lease = writerLeaseName(ex);
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(ex, name, "ubscore"),
      automountServiceAccountToken: false,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(ex, name, "ubscore"),
      rules: [
        // A create names no object beforehand: resourceNames cannot confine it (the Lease's name is fixed by UBSCore's config).
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: [lease],
          verbs: ["get", "update"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(ex, name, "ubscore"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: ex.metadata.namespace }],
    },
  ];
}

/** UBSCore's pod, running under the lease: the lease's settings and the account's token in its container only. */
export function underWriterLease(ex: Exchange, pod: PodParts): PodParts {
  const containers = pod.containers.map((c) =>
    c.name !== "ubscore"
      ? c
      : {
          ...c,
          env: [
            ...(c.env ?? []),
            { name: "BOURSE_UBSCORE_LEASE_NAME", value: writerLeaseName(ex) },
            {
              name: "BOURSE_UBSCORE_LEASE_NAMESPACE",
              valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
            },
            {
              name: "BOURSE_UBSCORE_LEASE_IDENTITY",
              valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
            },
          ],
          volumeMounts: [
            ...(c.volumeMounts ?? []),
            { name: "lease-account", mountPath: ACCOUNT_MOUNT, readOnly: true },
          ],
        },
  );
  const volume: V1Volume = {
    name: "lease-account",
    projected: {
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
  return {
    ...pod,
    containers,
    volumes: [...(pod.volumes ?? []), volume],
    serviceAccountName: writerAccountName(ex),
  };
}
