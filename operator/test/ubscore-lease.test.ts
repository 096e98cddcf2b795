import { describe, expect, it } from "vitest";
import { renderExchange } from "../src/resources.ts";
import { example, facts } from "./example.ts";

/** UBSCore's writer lease as rendered: the account, its Role on the one Lease, and the pod using them. */
// biome-ignore lint/suspicious/noExplicitAny: rendered objects as JSON; the assertions check their shape
type Json = any;

describe("UBSCore's writer lease, rendered", () => {
  it("gives UBSCore an account of its own that may create, read and renew its Lease only", async () => {
    const { objects } = renderExchange(await example(), facts);
    const find = (kind: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === "demo-ubscore-writer") as Json;
    expect(find("ServiceAccount").automountServiceAccountToken).toBe(false);
    expect(find("Role").rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["demo-ubscore"],
        verbs: ["get", "update"],
      },
    ]);
    expect(find("RoleBinding")).toMatchObject({
      roleRef: { kind: "Role", name: "demo-ubscore-writer" },
      subjects: [{ kind: "ServiceAccount", name: "demo-ubscore-writer", namespace: "trading" }],
    });
    // No other component runs under an account with a token.
    const pods = objects.filter((o) => o.kind === "StatefulSet" || o.kind === "Deployment") as Json[];
    for (const w of pods.filter((p) => p.metadata.name !== "demo-ubscore")) {
      expect(w.spec.template.spec.serviceAccountName).toBeUndefined();
    }
  });

  it("runs UBSCore's pod under it: the lease's settings, and the token in the UBSCore container alone", async () => {
    const { objects } = renderExchange(await example(), facts);
    const pod = (objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "demo-ubscore") as Json)
      .spec.template.spec;
    expect(pod).toMatchObject({
      serviceAccountName: "demo-ubscore-writer",
      automountServiceAccountToken: false,
    });
    const ubscore = pod.containers.find((c: Json) => c.name === "ubscore");
    expect(ubscore.env).toEqual(
      expect.arrayContaining([
        { name: "BOURSE_UBSCORE_LEASE_NAME", value: "demo-ubscore" },
        {
          name: "BOURSE_UBSCORE_LEASE_NAMESPACE",
          valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
        },
        { name: "BOURSE_UBSCORE_LEASE_IDENTITY", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ]),
    );
    const tokenMount = "/var/run/secrets/kubernetes.io/serviceaccount";
    expect(ubscore.volumeMounts).toContainEqual({
      name: "lease-account",
      mountPath: tokenMount,
      readOnly: true,
    });
    for (const other of [...pod.containers, ...(pod.initContainers ?? [])].filter(
      (c: Json) => c.name !== "ubscore",
    )) {
      expect(other.volumeMounts ?? []).not.toContainEqual(expect.objectContaining({ name: "lease-account" }));
    }
    const volume = pod.volumes.find((v: Json) => v.name === "lease-account");
    expect(volume.projected.sources[0]).toEqual({
      serviceAccountToken: { path: "token", expirationSeconds: 3600 },
    });
  });
});
