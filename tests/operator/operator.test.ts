import { appendFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import type { Exchange, KubeClient, KubeObject } from "../../operator/src/index.ts";
import { CONFIG_HASH_ANNOTATION, type RunningOperator, runOperator } from "../../operator/src/index.ts";
import type { KubeControlPlane } from "../infra/kube.ts";
import { eventually, type KubeApi, type Kubectl, startKubeApi } from "../support/kube-api.ts";

/**
 * The operator against a real kube-apiserver + etcd (no kubelet, no controller manager): the
 * server validates every object the operator writes; workloads' status is patched by the test
 * the way their controllers would.
 */
// biome-ignore lint/suspicious/noExplicitAny: objects as the API server returns them; the assertions check their shape
type Json = any;
const NS = "default";
let cp: KubeControlPlane;
let kube: KubeClient;
let kubectl: Kubectl;
let kubectlWithInput: KubeApi["kubectlWithInput"];
let kubectlFails: KubeApi["kubectlRefusal"];
let operator: RunningOperator | undefined;

// Each test waits on the operator several times (see eventually).
vi.setConfig({ testTimeout: 600_000 });

const exchangePath = (name: string) => `/apis/bourse.dev/v1alpha1/namespaces/${NS}/exchanges/${name}`;
const getExchange = (name: string) => kube.get<Exchange>(exchangePath(name));
const list = async (path: string, name: string) =>
  (await kube.list<KubeObject>(`${path}`, `app.kubernetes.io/instance=${name}`)).items;
const statefulSets = (name: string) => list(`/apis/apps/v1/namespaces/${NS}/statefulsets`, name);
const deployments = (name: string) => list(`/apis/apps/v1/namespaces/${NS}/deployments`, name);
const services = (name: string) => list(`/api/v1/namespaces/${NS}/services`, name);
const condition = (ex: Exchange, type: string) => ex.status?.conditions?.find((c) => c.type === type);

async function startOperator(): Promise<RunningOperator> {
  return runOperator({
    kubeconfig: cp.kubeconfig,
    leaseNamespace: NS,
    healthHost: "127.0.0.1",
    healthPort: 0,
    resyncMs: 5_000,
    log: (msg) => appendFileSync(join(cp.dir, "operator.log"), `${new Date().toISOString()} ${msg}\n`),
  });
}

/** What the StatefulSet and Deployment controllers would report once every pod is up (or not). */
async function reportWorkloads(name: string, ready: (obj: KubeObject) => boolean): Promise<void> {
  const workloads = [
    ...(await statefulSets(name)).map((o) => ["statefulsets", o] as const),
    ...(await deployments(name)).map((o) => ["deployments", o] as const),
  ];
  for (const [kind, obj] of workloads) {
    const replicas = (obj.spec as { replicas: number }).replicas;
    const n = ready(obj) ? replicas : 0;
    await kube.request("PATCH", `/apis/apps/v1/namespaces/${NS}/${kind}/${obj.metadata.name}/status`, {
      contentType: "application/merge-patch+json",
      body: {
        status: {
          observedGeneration: obj.metadata.generation,
          replicas,
          readyReplicas: n,
          availableReplicas: n,
          updatedReplicas: replicas,
        },
      },
    });
  }
}

const example = async (): Promise<Json> => parse(await readFile("examples/exchange.yaml", "utf8"));

beforeAll(async () => {
  ({ cp, kube, kubectl, kubectlWithInput, kubectlRefusal: kubectlFails } = await startKubeApi({ crd: true }));
}, 1_800_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe("the Exchange CRD on a real API server", () => {
  it("is documented for kubectl explain", async () => {
    // The API server publishes a new CRD's OpenAPI a moment after it is established.
    const explained = await eventually("the published schema", () => kubectl("explain", "exchange.spec"));
    expect(explained).toContain("The desired exchange");
    expect(explained).toMatch(/markets\s+<\[\]Object> -required-/);
    expect(await kubectl("explain", "exchange.spec.volumeRetention")).toContain("deleted");
    const settlement = await kubectl("explain", "exchange.spec.settlement");
    expect(settlement).toContain("its own Deployment");
    expect(settlement).not.toContain("Reserved");
    expect(await kubectl("explain", "exchange.spec.settlement.replicas")).toContain("0 to pause settlement");
    expect(await kubectl("explain", "exchange.spec.ubscore")).not.toContain("settlement");
    const matching = await kubectl("explain", "exchange.spec.matching");
    expect(matching).toContain("its own StatefulSet");
    expect(matching).not.toContain("Reserved");
    expect(matching).not.toMatch(/storage/);
    expect(await kubectl("explain", "exchange.spec.matching.replicas")).toContain("0 to pause matching");
  });

  it("rejects invalid Exchanges with the CEL messages", async () => {
    const base = await example();
    const attempt = (mutate: (spec: Json) => void) => {
      const ex = structuredClone(base);
      ex.metadata.name = "invalid";
      mutate(ex.spec);
      return kubectlFails(["apply", "-f", "-"], JSON.stringify(ex));
    };
    expect(await attempt((s) => (s.tigerbeetle.replicas = 2))).toContain(
      "tigerbeetle.replicas must be 1, 3 or 6",
    );
    expect(await attempt((s) => (s.markets[0]!.quote = "EUR"))).toContain(
      "every market's base and quote must be listed in spec.assets",
    );
    expect(await attempt((s) => (s.markets[1]!.symbol = s.markets[0]!.symbol))).toContain("Duplicate value");
    expect(await attempt((s) => (s.markets[0]!.base = "USDT"))).toContain(
      "a market's base and quote must differ",
    );
    expect(
      await attempt((s) => {
        s.kafka = { brokers: 1, storage: "1Gi", external: { bootstrapServers: ["kafka:9092"] } };
      }),
    ).toContain("set either kafka.external or kafka.storage, not both");
    expect(await attempt((s) => (s.assets[0]!.decimals = 19))).toMatch(/decimals.*less than or equal to 18/);
    expect(await attempt((s) => (s.settlement = { replicas: 2 }))).toMatch(
      /settlement.replicas.*less than or equal to 1/,
    );
    expect(await attempt((s) => (s.matching = { replicas: 2 }))).toMatch(
      /matching.replicas.*less than or equal to 1/,
    );
  });
});

/** The example Exchange as the operator first reconciled it, and its workloads by name. */
let ex: Exchange;
let sts: Record<string, KubeObject>;
let deps: Record<string, KubeObject>;
const service = async (name: string) => (await services("demo")).find((s) => s.metadata.name === name)!;
const podSpec = (obj: KubeObject | undefined): Json => (obj!.spec as Json).template.spec;

describe("the operator reconciling the example Exchange", () => {
  beforeAll(async () => {
    operator = await startOperator();
    await kubectl("apply", "-f", "examples/exchange.yaml");
    ex = await eventually("the Exchange's status", async () => {
      const e = await getExchange("demo");
      return e.status?.observedGeneration === e.metadata.generation && e;
    });
    sts = Object.fromEntries((await statefulSets("demo")).map((o) => [o.metadata.name, o]));
    deps = Object.fromEntries((await deployments("demo")).map((o) => [o.metadata.name, o]));
  }, 600_000);

  it("makes every workload, owned by the Exchange, and reports Provisioning", async () => {
    expect(ex.metadata.finalizers).toContain("bourse.dev/cleanup");
    expect(ex.status?.phase).toBe("Provisioning");
    expect(condition(ex, "Ready")?.status).toBe("False");
    expect(condition(ex, "InfrastructureReady")?.message).toContain("demo-tigerbeetle");
    expect(Object.keys(sts).sort()).toEqual([
      "demo-kafka",
      "demo-matching",
      "demo-store",
      "demo-tigerbeetle",
      "demo-ubscore",
    ]);
    expect(Object.keys(deps).sort()).toEqual(["demo-gateway", "demo-settlement"]);
    for (const obj of [...Object.values(sts), ...Object.values(deps)]) {
      expect(obj.metadata.ownerReferences?.[0]).toMatchObject({
        kind: "Exchange",
        name: "demo",
        uid: ex.metadata.uid,
        controller: true,
      });
    }
    const table = await kubectl("get", "exchanges");
    expect(table).toMatch(/NAME\s+PHASE\s+MARKETS\s+READY\s+LAG\s+AGE/);
    expect(table).toMatch(/demo\s+Provisioning\s+2\s+False/);
    await eventually("the Reconciled event", async () =>
      (await kubectl("get", "events.events.k8s.io", "--field-selector", "regarding.name=demo")).includes(
        "Reconciled",
      ),
    );
  });

  it("runs UBSCore over TCP with its journal volume and the operator API's token", async () => {
    // UBSCore over TCP (the example's transport): no media driver (the aeron test has it).
    const ubscore = sts["demo-ubscore"]!.spec as Json;
    const pod = ubscore.template.spec;
    expect(pod.initContainers).toBeUndefined();
    expect(pod.containers[0].args).toEqual(["ubscore", "--config", "/etc/bourse/bourse.json"]);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(ubscore.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
    expect(ubscore.persistentVolumeClaimRetentionPolicy.whenDeleted).toBe("Retain");
    // The operator API runs in the UBSCore pod; gateways reach UBSCore through its Service.
    expect(pod.containers[0].env).toContainEqual({
      name: "BOURSE_ADMIN_TOKEN",
      valueFrom: { secretKeyRef: { name: "demo-admin-token", key: "token" } },
    });
    const admin = await service("demo-admin");
    expect((admin.spec as Json).selector["app.kubernetes.io/component"]).toBe("ubscore");
    const token = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/secrets/demo-admin-token`,
    );
    expect(Buffer.from(token.data.token!, "base64").toString()).toMatch(/^[0-9a-f]{48}$/);
  });
});

describe("the example Exchange's component pods", () => {
  it("runs settlement as one Recreate pod with its Service, rolled by the config", async () => {
    const ubscore = sts["demo-ubscore"]!.spec as Json;
    // Settlement: one pod at a time, no media driver, its position on an emptyDir, rolled by config.
    const settlement = deps["demo-settlement"]!.spec as Json;
    expect(settlement.replicas).toBe(1);
    expect(settlement.strategy).toEqual({ type: "Recreate" });
    const settlementPod = settlement.template.spec;
    expect(settlementPod.initContainers).toBeUndefined();
    expect(settlementPod.containers[0]).toMatchObject({
      args: ["settlement", "--config", "/etc/bourse/bourse.json"],
      ports: [
        { name: "settlement", containerPort: 7300, protocol: "TCP" },
        { name: "metrics", containerPort: 9090, protocol: "TCP" },
      ],
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics", scheme: "HTTP" } },
      securityContext: { readOnlyRootFilesystem: true },
    });
    expect(settlementPod.volumes).toContainEqual({ name: "data", emptyDir: {} });
    expect(settlementPod.securityContext.runAsNonRoot).toBe(true);
    expect(settlement.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toBe(
      ubscore.template.metadata.annotations[CONFIG_HASH_ANNOTATION],
    );
    const settlementService = await service("demo-settlement");
    expect(settlementService.spec).toMatchObject({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/component": "settlement" },
      ports: [
        { name: "settlement", port: 7300, targetPort: 7300 },
        { name: "metrics", port: 9090, targetPort: 9090 },
      ],
    });
  });

  it("runs matching as one pod without volume, dialled at its Services", async () => {
    const ubscore = sts["demo-ubscore"]!.spec as Json;
    // Matching: one pod with the media driver, no volume, ready once its /readyz says so, rolled by config.
    const matching = sts["demo-matching"]!.spec as Json;
    expect(matching).toMatchObject({
      replicas: 1,
      serviceName: "demo-matching-headless",
      podManagementPolicy: "OrderedReady",
    });
    expect(matching.volumeClaimTemplates ?? []).toEqual([]);
    const matchingPod = matching.template.spec;
    expect(matchingPod.initContainers).toBeUndefined();
    expect(matchingPod.securityContext.runAsNonRoot).toBe(true);
    expect(matchingPod.containers).toHaveLength(1);
    expect(matchingPod.containers[0]).toMatchObject({
      args: ["matching", "--config", "/etc/bourse/bourse.json"],
      ports: [
        { name: "matching", containerPort: 7400, protocol: "TCP" },
        { name: "metrics", containerPort: 9090, protocol: "TCP" },
      ],
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics", scheme: "HTTP" } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    expect(matching.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toBe(
      ubscore.template.metadata.annotations[CONFIG_HASH_ANNOTATION],
    );
    expect((await service("demo-matching")).spec).toMatchObject({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": "matching" },
      ports: [
        { name: "matching", port: 7400, targetPort: 7400, protocol: "TCP" },
        { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
      ],
    });
    expect((await service("demo-matching-headless")).spec).toMatchObject({
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { "app.kubernetes.io/component": "matching" },
      ports: [{ port: 7401, protocol: "UDP" }],
    });
  });
});

describe("the example Exchange's infrastructure and configuration", () => {
  it("runs TigerBeetle at its replicas' Service IPs, which the config names, with the budgets", async () => {
    const tb = podSpec(sts["demo-tigerbeetle"]);
    expect(tb.initContainers[0].args[0]).toContain("/tigerbeetle format --cluster=");
    const tbServices = (await services("demo")).filter((s) => s.metadata.name === "demo-tigerbeetle-0");
    const ip = (tbServices[0]!.spec as { clusterIP: string }).clusterIP;
    expect(tb.containers[0].env.find((e: Json) => e.name === "ADDRESSES").value).toBe(`${ip}:3001`);

    const config = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/configmaps/demo-config`,
    );
    const rendered = JSON.parse(config.data["bourse.json"]!);
    expect(rendered.exchange.markets.map((m: { symbol: string }) => m.symbol)).toEqual([
      "BTCUSDT",
      "ETHUSDT",
    ]);
    expect(rendered.ledger.addresses).toEqual([`${ip}:3001`]);
    expect(rendered.eventLog.brokers).toEqual(["demo-kafka.default.svc:9092"]);
    expect(rendered.ubscore).toMatchObject({
      listen: "0.0.0.0:7100",
      address: "demo-ubscore.default.svc:7100",
    });
    expect(rendered.settlement).toEqual({
      kind: "service",
      listen: "0.0.0.0:7300",
      address: "demo-settlement.default.svc:7300",
    });
    // UBSCore dials matching's Service.
    expect(rendered.matching).toEqual({
      kind: "service",
      listen: "0.0.0.0:7400",
      address: "demo-matching.default.svc:7400",
      stream: 1002,
      maxInFlight: 10_000,
    });
    const pdbs = await list(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, "demo");
    expect(pdbs.map((p) => p.metadata.name).sort()).toEqual([
      "demo-gateway",
      "demo-kafka",
      "demo-store",
      "demo-tigerbeetle",
    ]);
  });
});

describe("the operator's link keys, policies and status", () => {
  it("owns the link keys and the NetworkPolicies, which the API server accepts", async () => {
    const keysPath = `/api/v1/namespaces/${NS}/secrets/demo-link-keys`;
    const secret = await eventually("the link keys Secret", () => kube.find<Json>(keysPath));
    expect(secret.metadata.ownerReferences[0]).toMatchObject({ kind: "Exchange", name: "demo" });
    const keys = Object.fromEntries(
      Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, "base64").toString(),
      ]),
    );
    expect(Object.keys(keys).sort()).toEqual(["gateway-ubscore", "ubscore-matching", "ubscore-settlement"]);
    for (const key of Object.values(keys)) expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(Object.values(keys)).size).toBe(3);
    const policies = await eventually("the NetworkPolicies", async () => {
      const found = await list(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`, "demo");
      return found.length === 7 && found;
    });
    const matching = policies.find((p) => p.metadata.name === "demo-matching")!.spec as Json;
    expect(matching).toMatchObject({
      podSelector: { matchLabels: { "app.kubernetes.io/component": "matching" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          ports: [
            { protocol: "TCP", port: 7400 },
            { protocol: "UDP", port: 7401 },
          ],
          from: [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "ubscore" } } }],
        },
        // Metrics and health: from the namespaces labelled for scraping only.
        {
          ports: [{ protocol: "TCP", port: 9090 }],
          from: [{ namespaceSelector: { matchLabels: { "bourse.dev/scrape-metrics": "true" } } }],
        },
      ],
    });
  });

  it("moves status and conditions as the owned workloads report", async () => {
    await reportWorkloads("demo", () => true);
    const running = await eventually("Ready", async () => {
      const e = await getExchange("demo");
      return condition(e, "Ready")?.status === "True" && e;
    });
    expect(running.status?.phase).toBe("Running");
    expect(condition(running, "InfrastructureReady")?.status).toBe("True");
    expect(condition(running, "ComponentsReady")?.status).toBe("True");
    expect(condition(running, "Degraded")?.status).toBe("False");
    expect(await kubectl("wait", "--for=condition=Ready", "exchange/demo", "--timeout=10s")).toContain(
      "condition met",
    );

    await reportWorkloads("demo", (o) => o.metadata.name !== "demo-kafka");
    const degraded = await eventually("Degraded", async () => {
      const e = await getExchange("demo");
      return condition(e, "Degraded")?.status === "True" && e;
    });
    expect(degraded.status?.phase).toBe("Degraded");
    expect(condition(degraded, "InfrastructureReady")).toMatchObject({
      status: "False",
      message: "waiting for demo-kafka",
    });
    expect(condition(degraded, "ComponentsReady")?.status).toBe("True");
    await reportWorkloads("demo", () => true);
    await eventually("Running again", async () => (await getExchange("demo")).status?.phase === "Running");

    await reportWorkloads("demo", (o) => o.metadata.name !== "demo-settlement");
    const unsettled = await eventually("settlement unavailable", async () => {
      const e = await getExchange("demo");
      return condition(e, "ComponentsReady")?.status === "False" && e;
    });
    expect(condition(unsettled, "ComponentsReady")?.message).toBe("waiting for demo-settlement");
    expect(condition(unsettled, "InfrastructureReady")?.status).toBe("True");
    await reportWorkloads("demo", () => true);
    await eventually("Running again", async () => (await getExchange("demo")).status?.phase === "Running");

    await reportWorkloads("demo", (o) => o.metadata.name !== "demo-matching");
    const unmatched = await eventually("matching unavailable", async () => {
      const e = await getExchange("demo");
      return condition(e, "ComponentsReady")?.status === "False" && e;
    });
    expect(condition(unmatched, "ComponentsReady")?.message).toBe("waiting for demo-matching");
    expect(condition(unmatched, "Ready")?.status).toBe("False");
    await reportWorkloads("demo", () => true);
    await eventually("Running again", async () => (await getExchange("demo")).status?.phase === "Running");
  });
});

describe("the operator rolling changes out", () => {
  it("rolls spec changes out: config, image and replicas; prunes what the spec drops", async () => {
    const deployment = async (name: string) =>
      (await deployments("demo")).find((d) => d.metadata.name === name)!;
    const hashOf = (d: KubeObject) => (d.spec as Json).template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    const statefulSet = async (name: string) =>
      (await statefulSets("demo")).find((s) => s.metadata.name === name)!;
    const hashBefore = hashOf(await deployment("demo-gateway"));
    const settlementBefore = await deployment("demo-settlement");
    const matchingBefore = await statefulSet("demo-matching");
    await kubectl(
      "patch",
      "exchange",
      "demo",
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: {
          gateway: { replicas: 3 },
          settlement: { replicas: 0, resources: { requests: { cpu: "250m" } } },
          matching: { resources: { limits: { memory: "1Gi" } } },
          image: { tag: "v2" },
          kafka: { storage: null, external: { bootstrapServers: ["kafka.shared:9092"] } },
        },
      }),
    );
    const gateway = await eventually("the gateway rolled", async () => {
      const d = await deployment("demo-gateway");
      return (d.spec as Json).replicas === 3 && d;
    });
    const template = (gateway.spec as Json).template;
    expect(template.spec.containers[0].image).toBe("ghcr.io/bourse/bourse:v2");
    expect(template.metadata.annotations[CONFIG_HASH_ANNOTATION]).not.toBe(hashBefore);
    const settlement = await eventually("settlement paused", async () => {
      const d = await deployment("demo-settlement");
      return (d.spec as Json).replicas === 0 && d;
    });
    const settlementPod = (settlement.spec as Json).template.spec;
    expect(settlementPod.containers[0].resources).toEqual({ requests: { cpu: "250m" } });
    expect(settlementPod.containers[0].image).toBe("ghcr.io/bourse/bourse:v2");
    expect(hashOf(settlement)).toBe(template.metadata.annotations[CONFIG_HASH_ANNOTATION]);
    expect(hashOf(settlement)).not.toBe(hashOf(settlementBefore));
    expect((settlement.spec as Json).strategy).toEqual({ type: "Recreate" });
    const matching = await eventually("matching rolled", async () => {
      const s = await statefulSet("demo-matching");
      return hashOf(s) !== hashOf(matchingBefore) && s;
    });
    expect(hashOf(matching)).toBe(template.metadata.annotations[CONFIG_HASH_ANNOTATION]);
    const matchingSpec = matching.spec as Json;
    expect(matchingSpec.replicas).toBe(1);
    expect(matchingSpec.template.spec.containers[0].image).toBe("ghcr.io/bourse/bourse:v2");
    expect(matchingSpec.template.spec.containers[0].resources).toEqual({ limits: { memory: "1Gi" } });
    expect(matching.metadata.generation).toBeGreaterThan(matchingBefore.metadata.generation!);
    const config = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/configmaps/demo-config`,
    );
    expect(JSON.parse(config.data["bourse.json"]!).eventLog.brokers).toEqual(["kafka.shared:9092"]);
    await eventually("Kafka pruned", async () =>
      (await statefulSets("demo")).every((s) => s.metadata.name !== "demo-kafka"),
    );
    expect((await services("demo")).some((s) => s.metadata.name.startsWith("demo-kafka"))).toBe(false);
    const ex = await eventually("the new generation observed", async () => {
      const e = await getExchange("demo");
      return e.status?.observedGeneration === e.metadata.generation && e;
    });
    expect(ex.status?.gateway?.selector).toBe(
      "app.kubernetes.io/instance=demo,app.kubernetes.io/component=gateway",
    );
  });

  it("serves health and metrics, and a restarted operator converges without duplicates", async () => {
    const metrics = await (await fetch(`${operator!.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/bourse_operator_reconciles_total\{result="success"\} \d+/);
    expect(metrics).toContain("bourse_operator_leader 1");
    expect((await fetch(`${operator!.healthUrl}/readyz`)).status).toBe(200);
    const count = async () =>
      (await statefulSets("demo")).length +
      (await deployments("demo")).length +
      (await services("demo")).length;
    const objects = await count();
    const identity = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/configmaps/demo-identity`,
    );
    await operator!.stop();
    operator = await startOperator();
    await eventually("the new operator leads", async () => operator!.isLeader());
    await kubectl("annotate", "exchange", "demo", "touched=1", "--overwrite");
    await eventually("a reconcile by the new operator", async () => {
      const m = await (await fetch(`${operator!.healthUrl}/metrics`)).text();
      return /bourse_operator_reconciles_total\{result="success"\} [1-9]/.test(m);
    });
    expect(await count()).toBe(objects);
    const after = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/configmaps/demo-identity`,
    );
    expect(after.data).toEqual(identity.data);
  });
});

describe("the operator deleting an Exchange, and over Aeron", () => {
  it("runs the finalizer on deletion: volumes deleted under volumeRetention Delete", async () => {
    await kubectl("patch", "exchange", "demo", "--type=merge", "-p", '{"spec":{"volumeRetention":"Delete"}}');
    await eventually("retention applied", async () => {
      const s = (await statefulSets("demo")).find((o) => o.metadata.name === "demo-ubscore")!;
      return (s.spec as Json).persistentVolumeClaimRetentionPolicy.whenDeleted === "Delete";
    });
    // The claim a StatefulSet controller would have made for ubscore-0 (no controller runs here).
    await kube.create({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: "data-demo-ubscore-0",
        namespace: NS,
        labels: { "app.kubernetes.io/instance": "demo", "app.kubernetes.io/managed-by": "bourse-operator" },
      },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    await kubectl("delete", "exchange", "demo", "--wait=false");
    await eventually("the Exchange gone", async () => !(await kube.find(exchangePath("demo"))));
    const pvc = await kube.find(`/api/v1/namespaces/${NS}/persistentvolumeclaims/data-demo-ubscore-0`);
    expect(pvc === undefined || (pvc as KubeObject).metadata.deletionTimestamp !== undefined).toBe(true);
  });
  it("with transport aeron, renders UDP endpoints between UBSCore and matching the API server accepts", async () => {
    const ex = await example();
    ex.metadata.name = "udp";
    ex.spec.transport = "aeron";
    await kubectlWithInput(["apply", "-f", "-"], JSON.stringify(ex));
    const sts = await eventually("UBSCore and matching", async () => {
      const all = Object.fromEntries((await statefulSets("udp")).map((o) => [o.metadata.name, o]));
      return all["udp-ubscore"] && all["udp-matching"] && all;
    });
    // The media driver as a native sidecar on a memory-backed /dev/shm.
    const pod = (sts["udp-ubscore"]!.spec as Json).template.spec;
    expect(pod.initContainers[0]).toMatchObject({ name: "media-driver", restartPolicy: "Always" });
    expect(pod.volumes.find((v: Json) => v.name === "aeron").emptyDir.medium).toBe("Memory");
    const container = (name: string) => (sts[name]!.spec as Json).template.spec.containers[0];
    const env = (name: string) =>
      Object.fromEntries(container(name).env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
    expect(env("udp-matching").BOURSE_MATCHING_CHANNEL).toBe("aeron:udp?endpoint=0.0.0.0:7401");
    expect(container("udp-matching").ports).toEqual([
      { name: "aeron", containerPort: 7401, protocol: "UDP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
    expect(container("udp-matching").readinessProbe).toMatchObject({ httpGet: { path: "/readyz" } });
    expect(env("udp-ubscore")).toMatchObject({
      BOURSE_AERON_CHANNEL: "aeron:udp?endpoint=0.0.0.0:7200",
      POD_IP: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
      BOURSE_AERON_REPLY_CHANNEL: "aeron:udp?endpoint=$(POD_IP):7201",
    });
    expect(container("udp-ubscore").ports).toContainEqual({
      name: "aeron-reply",
      containerPort: 7201,
      protocol: "UDP",
    });
    const config = await kube.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${NS}/configmaps/udp-config`,
    );
    const rendered = JSON.parse(config.data["bourse.json"]!);
    expect(rendered.matching.channel).toBe(
      "aeron:udp?endpoint=udp-matching-0.udp-matching-headless.default.svc:7401",
    );
    // Created in the same reconcile as the StatefulSets, not necessarily before them.
    const headless = await eventually("the headless matching Service", async () =>
      (await services("udp")).find((s) => s.metadata.name === "udp-matching-headless"),
    );
    expect((headless.spec as Json).ports).toEqual([
      { name: "p7401-udp", port: 7401, targetPort: 7401, protocol: "UDP" },
    ]);
    await kubectl("delete", "exchange", "udp", "--wait=false");
    await eventually("the Exchange gone", async () => !(await kube.find(exchangePath("udp"))));
  });
});
