import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import {
  API_VERSION,
  EventRecorder,
  type Exchange,
  FIELD_MANAGER,
  type KubeClient,
  KubeError,
  type KubeObject,
  type RunningOperator,
  renderExchange,
  runOperator,
} from "../../operator/src/index.ts";
import type { KubeControlPlane } from "../infra/kube.ts";
import { eventually, startKubeApi } from "../support/kube-api.ts";

/**
 * The infrastructure the operator renders, against a real kube-apiserver + etcd: every object of
 * both store engines (ScyllaDB cannot run on these machines, so its manifests are proved here by a
 * server-side dry run), the CRD's defaults and the changes it refuses, the clusters' identity
 * surviving a deleted Exchange under volumeRetention Retain, owned objects watched, events
 * counted in a series.
 */
// biome-ignore lint/suspicious/noExplicitAny: objects as the API server returns them; the assertions check their shape
type Json = any;
const NS = "default";
let cp: KubeControlPlane;
let kube: KubeClient;
let operator: RunningOperator | undefined;

vi.setConfig({ testTimeout: 300_000 });

const exchanges = `/apis/bourse.dev/v1alpha1/namespaces/${NS}/exchanges`;
const example = async (name: string): Promise<Json> => {
  const ex = parse(await readFile("examples/exchange.yaml", "utf8"));
  ex.metadata = { name, namespace: NS };
  return ex;
};
const create = (ex: Json) => kube.create<Exchange>({ apiVersion: API_VERSION, kind: "Exchange", ...ex });
const patchSpec = (name: string, spec: Json) => kube.mergePatch(`${exchanges}/${name}`, { spec });
const refusal = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (e) {
    if (e instanceof KubeError) return e.message;
    throw e;
  }
  throw new Error("the API server accepted it");
};
const configMap = (name: string) => kube.find<Json>(`/api/v1/namespaces/${NS}/configmaps/${name}`);
const deleteExchange = async (name: string) => {
  await kube.delete(`${exchanges}/${name}`);
  await eventually(`Exchange ${name} gone`, async () => !(await kube.find(`${exchanges}/${name}`)));
};

beforeAll(async () => {
  ({ cp, kube } = await startKubeApi({ crd: true }));
}, 1_800_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe("the CRD", () => {
  it("defaults to the release the chart ships, never a moving tag, and the ScyllaDB engine", async () => {
    const ex = await example("defaults");
    delete ex.spec.store;
    const created = await create(ex);
    const chart = parse(await readFile("charts/bourse-operator/Chart.yaml", "utf8"));
    expect(created.spec.image).toEqual({
      repository: "ghcr.io/bourse/bourse",
      tag: chart.appVersion,
      pullPolicy: "IfNotPresent",
    });
    expect(created.spec.store).toMatchObject({ engine: "scylla", nodes: 1 });
    expect(created.spec.aeron).toEqual({ termLength: "16Mi" });
    await kube.delete(`${exchanges}/defaults`);
  });

  it("refuses what would break a running cluster: brokers changed, store nodes removed, engine swapped", async () => {
    const ex = await example("guarded");
    ex.spec.kafka = { brokers: 3 };
    ex.spec.store = { engine: "cassandra", nodes: 3 };
    await create(ex);
    expect(await refusal(patchSpec("guarded", { kafka: { brokers: 1 } }))).toContain(
      "kafka.brokers cannot change",
    );
    expect(await refusal(patchSpec("guarded", { store: { nodes: 2 } }))).toContain(
      "store.nodes cannot shrink",
    );
    expect(await refusal(patchSpec("guarded", { store: { engine: "scylla" } }))).toContain(
      "store.engine cannot change",
    );
    expect(await refusal(patchSpec("guarded", { store: { developerMode: true } }))).toContain(
      "developerMode is a ScyllaDB setting",
    );
    // Adding store nodes is fine.
    await patchSpec("guarded", { store: { nodes: 5 } });
    await kube.delete(`${exchanges}/guarded`);
  });
});

describe("rendered infrastructure", () => {
  const facts = {
    tigerbeetleClusterId: "12345",
    kafkaClusterId: "abcdefghijklmnopqrstuv",
    tigerbeetleServiceIps: ["10.0.0.7"],
  };
  for (const [engine, transport] of [
    ["scylla", "tcp"],
    ["cassandra", "aeron"],
  ] as const) {
    it(`passes the API server's validation, every object (store engine ${engine}, transport ${transport})`, async () => {
      const ex = await create({
        ...(await example(`dry-${engine}`)),
        spec: {
          ...(await example("x")).spec,
          transport,
          storageClassName: "fast",
          kafka: { brokers: 3, storage: "5Gi" },
          store: { engine, nodes: 3, storage: "5Gi", ...(engine === "scylla" && { developerMode: false }) },
        },
      });
      const { objects } = renderExchange(ex, facts);
      const kinds = new Set<string>();
      for (const obj of objects) {
        await kube.apply(obj, FIELD_MANAGER, { dryRun: true });
        kinds.add(obj.kind);
      }
      expect([...kinds].sort()).toEqual([
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "StatefulSet",
      ]);
      // A dry run stores nothing.
      expect(
        await kube.find(`/apis/apps/v1/namespaces/${NS}/statefulsets/dry-${engine}-store`),
      ).toBeUndefined();
      await kube.delete(`${exchanges}/dry-${engine}`);
    });
  }
});

describe("the operator", () => {
  it("keeps the clusters' identity when an Exchange is deleted with Retain, for the one made again", async () => {
    operator = await runOperator({
      kubeconfig: cp.kubeconfig,
      leaseNamespace: NS,
      healthHost: "127.0.0.1",
      healthPort: 0,
      // Far beyond the test: only the watches bring the operator back.
      resyncMs: 3_600_000,
    });
    await create(await example("kept"));
    const identity = await eventually("the identity ConfigMap", () => configMap("kept-identity"));
    // Owned, it would go with the Exchange (the garbage collector) and the next one would format
    // a new TigerBeetle cluster beside the kept data file.
    expect(identity.metadata.ownerReferences).toBeUndefined();
    const config = await eventually("the config", () => configMap("kept-config"));
    const clusterId = JSON.parse(config.data["bourse.json"]).ledger.clusterId;
    expect(clusterId).toBe(identity.data.tigerbeetleClusterId);

    await deleteExchange("kept");
    expect((await configMap("kept-identity"))?.data).toEqual(identity.data);
    await create(await example("kept"));
    const again = await eventually("the config of the Exchange made again", async () => {
      const c = await configMap("kept-config");
      // The old config is not collected here (no garbage collector): wait for the new owner's.
      const ex = await kube.get<Exchange>(`${exchanges}/kept`);
      return c?.metadata.ownerReferences?.[0]?.uid === ex.metadata.uid && c;
    });
    expect(JSON.parse(again.data["bourse.json"]).ledger.clusterId).toBe(clusterId);

    // Delete: the identity goes with the volumes.
    await patchSpec("kept", { volumeRetention: "Delete" });
    await eventually("Delete seen", async () => {
      const sts = await kube.get<Json>(`/apis/apps/v1/namespaces/${NS}/statefulsets/kept-ubscore`);
      return sts.spec.persistentVolumeClaimRetentionPolicy.whenDeleted === "Delete";
    });
    await deleteExchange("kept");
    expect(await configMap("kept-identity")).toBeUndefined();
  });

  it("puts back an owned object deleted by hand at once, not at the next resync", async () => {
    await create(await example("watched"));
    const path = `/api/v1/namespaces/${NS}/services/watched-gateway`;
    const first = await eventually("the gateway Service", () => kube.find<KubeObject>(path));
    await kube.delete(path);
    const back = await eventually("the gateway Service again", async () => {
      const s = await kube.find<KubeObject>(path);
      return s && s.metadata.uid !== first.metadata.uid && s;
    });
    expect(back.metadata.name).toBe("watched-gateway");
    await deleteExchange("watched");
  });
});

describe("events", () => {
  it("counts a repeated event in one series instead of creating another", async () => {
    const ex = await create(await example("noisy"));
    const recorder = new EventRecorder(kube);
    for (let i = 0; i < 3; i++) {
      recorder.warning(ex, "ReconcileFailed", "etcd unavailable");
      recorder.normal(ex, "Reconciled", "applied once");
    }
    recorder.normal(ex, "Reconciled", "applied again");
    await recorder.settled();
    const events = (await kube.list<Json>(`/apis/events.k8s.io/v1/namespaces/${NS}/events`)).items.filter(
      (e) => e.regarding.uid === ex.metadata.uid && e.reportingInstance === recorder.instance,
    );
    const byNote = Object.fromEntries(events.map((e) => [e.note, e]));
    expect(events).toHaveLength(3);
    expect(byNote["etcd unavailable"].series.count).toBe(3);
    expect(byNote["applied once"].series.count).toBe(3);
    expect(byNote["applied again"].series).toBeUndefined();
    await kube.delete(`${exchanges}/noisy`);
  });
});
