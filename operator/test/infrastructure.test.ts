import { describe, expect, it } from "vitest";
import { shmBytes } from "../src/aeron.ts";
import { INFRA_IMAGES } from "../src/defaults.ts";
import type { Exchange, KubeObject } from "../src/exchange.ts";
import { renderExchange } from "../src/resources.ts";
import { computeStatus } from "../src/status.ts";
import { example, facts } from "./example.ts";

/** What the operator renders for the infrastructure and the pods' runtime settings (issue #19's defects). */
// biome-ignore lint/suspicious/noExplicitAny: rendered objects as JSON; the assertions check their shape
type Json = any;

const workload = (objects: KubeObject[], name: string): Json =>
  objects.find((o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.name === name);
const podOf = (objects: KubeObject[], name: string): Json => workload(objects, name).spec.template.spec;
const env = (container: Json): Record<string, string> =>
  Object.fromEntries(container.env.map((e: Json) => [e.name, e.value]));
const WORKLOADS = [
  "demo-tigerbeetle",
  "demo-kafka",
  "demo-store",
  "demo-ubscore",
  "demo-matching",
  "demo-gateway",
  "demo-settlement",
];

describe("Kafka", () => {
  it("keeps its log dir in a directory of the volume, never the volume's root (lost+found)", async () => {
    const { objects } = renderExchange(await example(), facts);
    const kafka = podOf(objects, "demo-kafka").containers[0];
    const mount = kafka.volumeMounts.find((m: Json) => m.name === "data").mountPath;
    const logDirs = env(kafka).KAFKA_LOG_DIRS!;
    expect(logDirs.startsWith(`${mount}/`)).toBe(true);
    expect(logDirs.length).toBeGreaterThan(mount.length + 1);
  });

  it("replicates topics over up to three brokers, a write needing a majority of them", async () => {
    const ex = await example();
    const at = (brokers: number) => {
      ex.spec.kafka = { brokers };
      return env(podOf(renderExchange(ex, facts).objects, "demo-kafka").containers[0]);
    };
    for (const [brokers, rf, isr] of [
      [1, "1", "1"],
      [3, "3", "2"],
      [5, "3", "2"],
    ] as const) {
      expect(at(brokers)).toMatchObject({
        KAFKA_DEFAULT_REPLICATION_FACTOR: rf,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: rf,
        KAFKA_MIN_INSYNC_REPLICAS: isr,
      });
    }
  });
});

describe("the store", () => {
  it("replicates the keyspace over up to three nodes, in the data center the nodes report", async () => {
    const ex = await example();
    for (const [nodes, rf] of [
      [1, 1],
      [3, 3],
      [6, 3],
    ] as const) {
      ex.spec.store = { ...ex.spec.store, nodes };
      const config = JSON.parse((renderExchange(ex, facts).objects[0]!.data as Json)["bourse.json"]);
      expect(config.store).toMatchObject({ replicationFactor: rf, localDataCenter: "datacenter1" });
    }
  });

  it("runs ScyllaDB on its flags, developer mode only when asked", async () => {
    const ex = await example();
    const args = () => podOf(renderExchange(ex, facts).objects, "demo-store").containers[0].args;
    expect(args()).toContain("--developer-mode=1");
    ex.spec.store = { ...ex.spec.store, developerMode: undefined };
    expect(args()).toContain("--developer-mode=0");
    expect(args()).toContain("--seeds=demo-store-0.demo-store-headless.trading.svc");
    expect(podOf(renderExchange(ex, facts).objects, "demo-store").containers[0].image).toBe(
      INFRA_IMAGES.scylla,
    );
  });

  it("runs Cassandra on its image's environment, as its own user, data under /var/lib/cassandra", async () => {
    const ex = await example();
    ex.spec.store = { engine: "cassandra", nodes: 3, storage: "5Gi" };
    const pod = podOf(renderExchange(ex, facts).objects, "demo-store");
    const c = pod.containers[0];
    expect(c.image).toBe(INFRA_IMAGES.cassandra);
    expect(c.args).toBeUndefined();
    expect(env(c)).toMatchObject({
      CASSANDRA_SEEDS: "demo-store-0.demo-store-headless.trading.svc",
      MAX_HEAP_SIZE: "1G",
      HEAP_NEWSIZE: "256M",
    });
    expect(c.volumeMounts).toEqual([{ name: "data", mountPath: "/var/lib/cassandra" }]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999 });
  });
});

describe("images", () => {
  it("pins every infrastructure image to a release, and takes the spec's instead (a mirror)", async () => {
    const ex = await example();
    const images = (objects: KubeObject[]) =>
      WORKLOADS.slice(0, 3).map((n) => podOf(objects, n).containers[0].image as string);
    for (const image of images(renderExchange(ex, facts).objects)) {
      expect(image).toMatch(/:\d+\.\d+\.\d+$/);
    }
    ex.spec.tigerbeetle = { ...ex.spec.tigerbeetle, image: "mirror.local/tb:1" };
    ex.spec.kafka = { ...ex.spec.kafka, image: "mirror.local/kafka:1" };
    ex.spec.store = { ...ex.spec.store, image: "mirror.local/scylla:1" };
    const { objects } = renderExchange(ex, facts);
    expect(images(objects)).toEqual(["mirror.local/tb:1", "mirror.local/kafka:1", "mirror.local/scylla:1"]);
    expect(podOf(objects, "demo-tigerbeetle").initContainers[0].image).toBe("mirror.local/tb:1");
  });
});

describe("pods", () => {
  it("gives every container requests and a memory limit, the spec's where it sets them", async () => {
    for (const transport of ["tcp", "aeron"] as const) {
      const ex = await example();
      ex.spec = { ...ex.spec, transport };
      const { objects } = renderExchange(ex, facts);
      for (const name of WORKLOADS) {
        const pod = podOf(objects, name);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect(c.resources?.requests?.cpu, `${name}/${c.name}`).toBeDefined();
          expect(c.resources?.requests?.memory, `${name}/${c.name}`).toBeDefined();
          expect(c.resources?.limits?.memory, `${name}/${c.name}`).toBeDefined();
        }
      }
    }
    const ex = await example();
    ex.spec.kafka = { ...ex.spec.kafka, resources: { requests: { cpu: "2", memory: "8Gi" } } };
    expect(podOf(renderExchange(ex, facts).objects, "demo-kafka").containers[0].resources).toEqual({
      requests: { cpu: "2", memory: "8Gi" },
    });
  });

  it("puts every volume claim in the spec's storage class, the cluster's default otherwise", async () => {
    const ex = await example();
    const classes = () =>
      WORKLOADS.flatMap(
        (n) => workload(renderExchange(ex, facts).objects, n).spec.volumeClaimTemplates ?? [],
      ).map((c: Json) => c.spec.storageClassName);
    expect(classes()).toEqual([undefined, undefined, undefined, undefined]);
    ex.spec.storageClassName = "fast-ssd";
    expect(classes()).toEqual(["fast-ssd", "fast-ssd", "fast-ssd", "fast-ssd"]);
  });

  it("spreads each quorum's members over nodes and zones, preferred so one node still runs them", async () => {
    const { objects } = renderExchange(await example(), facts);
    for (const [name, component] of [
      ["demo-tigerbeetle", "tigerbeetle"],
      ["demo-kafka", "kafka"],
      ["demo-store", "store"],
    ]) {
      const pod = podOf(objects, name!);
      const term =
        pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
      expect(term.topologyKey).toBe("kubernetes.io/hostname");
      expect(term.labelSelector.matchLabels["app.kubernetes.io/component"]).toBe(component);
      expect(pod.topologySpreadConstraints[0]).toMatchObject({
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
      });
    }
  });

  it("runs every pod under the runtime's default seccomp profile but TigerBeetle's, explicitly Unconfined (io_uring)", async () => {
    const { objects } = renderExchange(await example(), facts);
    for (const name of WORKLOADS) {
      expect(podOf(objects, name).securityContext.seccompProfile, name).toEqual({
        type: name === "demo-tigerbeetle" ? "Unconfined" : "RuntimeDefault",
      });
    }
  });
});

describe("Aeron", () => {
  it("runs no media driver with transport tcp", async () => {
    const { objects } = renderExchange(await example(), facts);
    for (const name of WORKLOADS.slice(3)) {
      const pod = podOf(objects, name);
      expect(pod.initContainers, name).toBeUndefined();
      expect(
        pod.volumes.map((v: Json) => v.name),
        name,
      ).not.toContain("aeron");
      expect(JSON.stringify(pod.containers), name).not.toContain("AERON_DIR");
    }
  });

  it("sizes each driver's /dev/shm for the logs it holds: UBSCore's grows with the gateways and the term length", async () => {
    const MiB = 2 ** 20;
    const shm = (ex: Exchange, name: string) => {
      const pod = podOf(renderExchange(ex, facts).objects, name);
      const limit = pod.volumes.find((v: Json) => v.name === "aeron").emptyDir.sizeLimit as string;
      return { bytes: Number.parseInt(limit, 10) * MiB, driver: pod.initContainers[0] };
    };
    const ex = await example();
    ex.spec = { ...ex.spec, transport: "aeron" };
    const log = 3 * 16 * MiB;
    for (const gateways of [2, 10, 100]) {
      ex.spec.gateway = { replicas: gateways };
      // Per gateway an image and a reply publication, one gateway more, and matching's two logs.
      expect(shm(ex, "demo-ubscore").bytes).toBeGreaterThanOrEqual((2 * (gateways + 1) + 2) * log);
      expect(shm(ex, "demo-gateway").bytes).toBeGreaterThanOrEqual(2 * log);
      expect(shm(ex, "demo-gateway").bytes).toBeLessThan(4 * log);
    }
    ex.spec.gateway = { replicas: 10 };
    ex.spec.aeron = { termLength: "1Mi" };
    const small = shm(ex, "demo-ubscore");
    expect(small.bytes).toBeGreaterThanOrEqual(24 * 3 * MiB);
    expect(small.bytes).toBeLessThan(shmBytes({ ...ex, spec: { ...ex.spec, aeron: {} } }, "ubscore"));
    // The driver makes its logs with that term length, and its memory request covers them.
    expect(env(small.driver).JAVA_TOOL_OPTIONS).toContain(`-Daeron.term.buffer.length=${MiB}`);
    expect(Number.parseInt(small.driver.resources.requests.memory, 10) * MiB).toBeGreaterThan(small.bytes);
  });
});

describe("status after a failed reconcile", () => {
  it("does not claim infrastructure or components ready when the pass saw none of them", async () => {
    const status = computeStatus(await example(), {
      workloads: [],
      objects: new Map(),
      now: new Date(),
      error: { reason: "ReconcileFailed", message: "etcd unavailable" },
    });
    for (const type of ["InfrastructureReady", "ComponentsReady"]) {
      expect(status.conditions!.find((c) => c.type === type)).toMatchObject({
        status: "Unknown",
        reason: "ReconcileFailed",
      });
    }
    expect(status.conditions!.find((c) => c.type === "Degraded")?.status).toBe("True");
  });
});
