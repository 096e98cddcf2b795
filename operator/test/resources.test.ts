import { describe, expect, it } from "vitest";
import type { KubeObject } from "../src/exchange.ts";
import { CONFIG_HASH_ANNOTATION, renderExchange, type Workload } from "../src/resources.ts";
import { computeStatus, workloadKey } from "../src/status.ts";
import { example, facts } from "./example.ts";
import { COMPONENTS, reachOf } from "./network-reach.ts";

// biome-ignore lint/suspicious/noExplicitAny: rendered objects as JSON; the assertions check their shape
type Json = any;
const names = (objs: KubeObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const template = (o: KubeObject) =>
  (o.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;

describe("renderExchange: what it renders, and when it rolls pods", () => {
  it("renders infrastructure only where the spec does not point at an existing cluster", async () => {
    const ex = await example();
    const provisioned = renderExchange(ex, facts);
    expect(provisioned.workloads.map((w) => `${w.tier}:${w.name}`)).toEqual([
      "infrastructure:demo-tigerbeetle",
      "infrastructure:demo-kafka",
      "infrastructure:demo-store",
      "component:demo-ubscore",
      "component:demo-matching",
      "component:demo-gateway",
      "component:demo-settlement",
    ]);
    ex.spec.kafka = { brokers: 1, external: { bootstrapServers: ["k:9092"] } };
    ex.spec.tigerbeetle = { replicas: 3, external: { clusterId: "9", addresses: ["10.1.1.1:3001"] } };
    const external = renderExchange(ex, facts);
    expect(names(external.objects).filter((n) => /kafka|tigerbeetle/.test(n))).toEqual([]);
    const config = JSON.parse((external.objects[0]!.data as Record<string, string>)["bourse.json"]!);
    expect(config.eventLog.brokers).toEqual(["k:9092"]);
    expect(config.ledger).toMatchObject({ clusterId: "9", addresses: ["10.1.1.1:3001"] });
  });

  it("is deterministic, and a config change changes every component's pod template (a rollout)", async () => {
    const ex = await example();
    const a = renderExchange(ex, facts);
    expect(renderExchange(ex, facts)).toEqual(a);
    ex.spec = {
      ...ex.spec,
      markets: [{ ...ex.spec.markets[0]!, takerFeePpm: 2000 }, ...ex.spec.markets.slice(1)],
    };
    const b = renderExchange(ex, facts);
    for (const name of ["demo-ubscore", "demo-matching", "demo-gateway", "demo-settlement"]) {
      const find = (r: typeof a) =>
        r.objects.find(
          (o) => o.metadata.name === name && o.kind !== "Service" && o.kind !== "PodDisruptionBudget",
        )!;
      expect(template(find(b)).metadata.annotations[CONFIG_HASH_ANNOTATION]).not.toBe(
        template(find(a)).metadata.annotations[CONFIG_HASH_ANNOTATION],
      );
    }
  });

  it("probes every component on its metrics port, which the rendered config serves and its Service carries", async () => {
    const ex = await example();
    const { objects } = renderExchange(ex, facts);
    const config = JSON.parse((objects[0]!.data as Record<string, string>)["bourse.json"]!);
    expect(config.observability).toEqual({
      exchange: "demo",
      gateway: "0.0.0.0:9090",
      ubscore: "0.0.0.0:9090",
      matching: "0.0.0.0:9090",
      settlement: "0.0.0.0:9090",
    });
    for (const c of ["ubscore", "matching", "gateway", "settlement"]) {
      const workload = objects.find(
        (o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.name === `demo-${c}`,
      )!;
      const container = (workload.spec as Json).template.spec.containers[0];
      expect(container.ports, c).toContainEqual({ name: "metrics", containerPort: 9090 });
      expect(container.livenessProbe, c).toMatchObject({ httpGet: { path: "/livez", port: "metrics" } });
      expect(container.readinessProbe, c).toMatchObject({ httpGet: { path: "/readyz", port: "metrics" } });
      // Only UBSCore, which replays its journal at start, holds liveness back with a startup probe.
      expect(container.startupProbe === undefined, c).toBe(c !== "ubscore");
      const service = objects.find((o) => o.kind === "Service" && o.metadata.name === `demo-${c}`)!;
      expect((service.spec as Json).ports, c).toContainEqual({
        name: "metrics",
        port: 9090,
        targetPort: 9090,
      });
    }
  });
});

describe("renderExchange: settlement and TigerBeetle", () => {
  it("runs settlement as one Recreate Deployment with its own Service, no sidecar and no persistent volume", async () => {
    const ex = await example();
    ex.spec.settlement = { replicas: 1, resources: { requests: { cpu: "500m", memory: "512Mi" } } };
    const { objects, workloads } = renderExchange(ex, facts);
    const ofSettlement = objects.filter(
      (o) => o.metadata.labels?.["app.kubernetes.io/component"] === "settlement",
    );
    expect(names(ofSettlement)).toEqual([
      "Deployment/demo-settlement",
      "NetworkPolicy/demo-settlement",
      "Service/demo-settlement",
    ]);
    const [deployment, service] = ofSettlement as [KubeObject, KubeObject];
    const spec = deployment.spec as Json;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: "Recreate" });
    const pod = spec.template.spec;
    expect(pod.initContainers).toBeUndefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0]).toMatchObject({
      name: "settlement",
      image: "ghcr.io/bourse/bourse:1.0.0",
      args: ["settlement", "--config", "/etc/bourse/bourse.json"],
      ports: [
        { name: "settlement", containerPort: 7300 },
        { name: "metrics", containerPort: 9090 },
      ],
      livenessProbe: { httpGet: { path: "/livez", port: "metrics" } },
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } },
      resources: { requests: { cpu: "500m", memory: "512Mi" } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/bourse" });
    expect(pod.volumes).toContainEqual({ name: "data", emptyDir: {} });
    expect(pod.volumes).toContainEqual({ name: "config", configMap: { name: "demo-config" } });
    expect(spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{16}$/);
    expect(service.spec).toMatchObject({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/component": "settlement" },
      ports: [
        { name: "settlement", port: 7300, targetPort: 7300 },
        { name: "metrics", port: 9090, targetPort: 9090 },
      ],
    });
    // UBSCore dials the Service the operator renders.
    const config = JSON.parse((objects[0]!.data as Record<string, string>)["bourse.json"]!);
    expect(config.settlement).toEqual({
      kind: "service",
      listen: "0.0.0.0:7300",
      address: "demo-settlement.trading.svc:7300",
    });
    // The gateway keeps its rolling update.
    const gateway = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "demo-gateway")!;
    expect((gateway.spec as Json).strategy.type).toBe("RollingUpdate");
    expect(workloads.find((w) => w.name === "demo-settlement")).toMatchObject({
      kind: "Deployment",
      tier: "component",
      replicas: 1,
    });

    ex.spec.settlement = { replicas: 0 };
    const paused = renderExchange(ex, facts);
    expect(paused.workloads.find((w) => w.name === "demo-settlement")?.replicas).toBe(0);
  });

  it("runs TigerBeetle in production mode under the image's tini, so requests are full size and a stop is prompt", async () => {
    const sts: Json = renderExchange(await example(), facts).objects.find(
      (o) => o.kind === "StatefulSet" && o.metadata.name === "demo-tigerbeetle",
    );
    const pod = sts.spec.template.spec;
    for (const c of [...pod.initContainers, ...pod.containers]) {
      // A command replaces the image's entrypoint (tini + /tigerbeetle): tini must be named again.
      expect(c.command).toEqual(["/sbin/tini", "--", "sh", "-c"]);
      // --development caps a request at 253 transfers and drops direct I/O.
      expect(c.args.join(" ")).not.toContain("--development");
    }
    expect(pod.initContainers[0].args[0]).toContain(
      "/tigerbeetle format --cluster=12345 --replica=$(REPLICA) --replica-count=1 ",
    );
    expect(pod.containers[0].args[0]).toContain("exec /tigerbeetle start --addresses=");
  });
});

describe("renderExchange: matching, and what Bourse would reject", () => {
  it("runs matching as one StatefulSet with no volume and no budget, dialled by UBSCore", async () => {
    const ex = await example();
    ex.spec.matching = { replicas: 1, resources: { limits: { memory: "2Gi" } } };
    const { objects, workloads } = renderExchange(ex, facts);
    const ofMatching = objects.filter(
      (o) => o.metadata.labels?.["app.kubernetes.io/component"] === "matching",
    );
    expect(names(ofMatching)).toEqual([
      "NetworkPolicy/demo-matching",
      "Service/demo-matching",
      "Service/demo-matching-headless",
      "StatefulSet/demo-matching",
    ]);
    const sts = ofMatching.find((o) => o.kind === "StatefulSet")!.spec as Json;
    expect(sts).toMatchObject({ replicas: 1, serviceName: "demo-matching-headless" });
    expect(sts.volumeClaimTemplates).toBeUndefined();
    expect(sts.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    const pod = sts.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    // Over TCP (the example's transport) no media driver: see the aeron tests for the sidecar.
    expect(pod.initContainers).toBeUndefined();
    expect(pod.volumes.map((v: Json) => v.name)).not.toContain("data");
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0]).toMatchObject({
      name: "matching",
      image: "ghcr.io/bourse/bourse:1.0.0",
      args: ["matching", "--config", "/etc/bourse/bourse.json"],
      env: [{ name: "BOURSE_LINK_KEY_DIR", value: "/etc/bourse-links" }],
      ports: [
        { name: "matching", containerPort: 7400 },
        { name: "metrics", containerPort: 9090 },
      ],
      livenessProbe: { httpGet: { path: "/livez", port: "metrics" } },
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } },
      resources: { limits: { memory: "2Gi" } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    const ubscore = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "demo-ubscore")!;
    expect(sts.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toBe(
      template(ubscore).metadata.annotations[CONFIG_HASH_ANNOTATION],
    );
    const service = (name: string) =>
      ofMatching.find((o) => o.kind === "Service" && o.metadata.name === name)!.spec as Json;
    expect(service("demo-matching")).toMatchObject({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/component": "matching" },
      ports: [
        { name: "matching", port: 7400, targetPort: 7400 },
        { name: "metrics", port: 9090, targetPort: 9090 },
      ],
    });
    expect(service("demo-matching-headless")).toMatchObject({
      clusterIP: "None",
      selector: { "app.kubernetes.io/component": "matching" },
    });
    // UBSCore dials the Service the operator renders.
    const config = JSON.parse((objects[0]!.data as Record<string, string>)["bourse.json"]!);
    expect(config.matching).toEqual({
      kind: "service",
      listen: "0.0.0.0:7400",
      address: "demo-matching.trading.svc:7400",
      stream: 1002,
      maxInFlight: 10_000,
    });
    expect(workloads.find((w) => w.name === "demo-matching")).toEqual({
      kind: "StatefulSet",
      name: "demo-matching",
      tier: "component",
      replicas: 1,
    });
    // UBSCore keeps its journal volume.
    expect((ubscore.spec as Json).volumeClaimTemplates).toHaveLength(1);

    ex.spec.matching = { replicas: 0 };
    const paused = renderExchange(ex, facts);
    expect(paused.workloads.find((w) => w.name === "demo-matching")?.replicas).toBe(0);
  });

  it("rejects a spec Bourse itself would reject, before any pod starts", async () => {
    const ex = await example();
    ex.spec = { ...ex.spec, markets: [{ ...ex.spec.markets[0]!, tickSize: "0.000000001" }] };
    expect(() => renderExchange(ex, facts)).toThrow(/tick/i);
  });
});

describe("renderExchange: network policies and link keys", () => {
  it("lets each internal port be reached only by the components that use it", async () => {
    const ex = await example();
    const { objects } = renderExchange(ex, facts);
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    expect(names(policies)).toEqual(
      ["gateway", "kafka", "matching", "settlement", "store", "tigerbeetle", "ubscore"].map(
        (c) => `NetworkPolicy/demo-${c}`,
      ),
    );
    const { who } = reachOf(objects, "demo");
    const everyone = ["intruder", "operator", "scraper", "stranger", ...COMPONENTS].sort();
    expect(who("ubscore", 7100)).toEqual(["gateway"]);
    expect(who("ubscore", 7200, "UDP")).toEqual(["gateway"]);
    expect(who("ubscore", 7201, "UDP")).toEqual(["matching"]);
    expect(who("matching", 7400)).toEqual(["ubscore"]);
    expect(who("matching", 7401, "UDP")).toEqual(["ubscore"]);
    expect(who("gateway", 7201, "UDP")).toEqual(["ubscore"]);
    expect(who("settlement", 7300)).toEqual(["ubscore"]);
    expect(who("tigerbeetle", 3001)).toEqual(["settlement", "tigerbeetle", "ubscore"]);
    expect(who("kafka", 9092)).toEqual(["kafka", "settlement", "ubscore"]);
    expect(who("kafka", 9093)).toEqual(["kafka"]);
    expect(who("store", 9042)).toEqual(["gateway", "settlement", "store", "ubscore"]);
    expect(who("store", 7000)).toEqual(["store"]);
    // The public doors: the trading API, and the operator API behind its bearer token.
    expect(who("gateway", 8080)).toEqual(everyone);
    expect(who("ubscore", 8081)).toEqual(everyone);
    // A port a component does not serve is open to nobody.
    expect(who("matching", 7100)).toEqual([]);
    // Metrics and health: only from the namespaces labelled for scraping and the operator's own
    // pods (not another pod of its namespace); the kubelet probes from the node.
    for (const c of ["ubscore", "gateway", "matching", "settlement"] as const)
      expect(who(c, 9090)).toEqual(["operator", "scraper"]);

    // External infrastructure is not the operator's to fence.
    ex.spec.kafka = { brokers: 1, external: { bootstrapServers: ["k:9092"] } };
    const external = renderExchange(ex, facts).objects.filter((o) => o.kind === "NetworkPolicy");
    expect(names(external)).not.toContain("NetworkPolicy/demo-kafka");
  });

  it("mounts into each component only the keys of its own links", async () => {
    const ex = await example();
    const { objects } = renderExchange(ex, facts);
    const mounted = Object.fromEntries(
      ["ubscore", "gateway", "matching", "settlement"].map((c) => {
        const pod = (
          objects.find(
            (o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.name === `demo-${c}`,
          )!.spec as Json
        ).template.spec;
        const volume = pod.volumes.find((v: Json) => v.name === "link-keys");
        expect(volume.secret).toMatchObject({ secretName: "demo-link-keys", defaultMode: 0o440 });
        expect(pod.containers[0].volumeMounts).toContainEqual({
          name: "link-keys",
          mountPath: "/etc/bourse-links",
          readOnly: true,
        });
        expect(pod.containers[0].env).toContainEqual({
          name: "BOURSE_LINK_KEY_DIR",
          value: "/etc/bourse-links",
        });
        return [c, volume.secret.items.map((i: Json) => i.key)];
      }),
    );
    expect(mounted).toEqual({
      ubscore: ["gateway-ubscore", "ubscore-matching", "ubscore-settlement"],
      gateway: ["gateway-ubscore"],
      matching: ["ubscore-matching"],
      settlement: ["ubscore-settlement"],
    });
  });
});

/** A StatefulSet whose controller has seen `generation` and has `replicas` ready. */
const ready = (replicas: number, generation = 1): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "x", generation },
  status: {
    observedGeneration: generation,
    readyReplicas: replicas,
    availableReplicas: replicas,
    updatedReplicas: replicas,
    replicas,
  },
});

/** Every workload's object, with all its replicas ready. */
const allReady = (workloads: Workload[]) =>
  new Map(workloads.map((w) => [workloadKey(w.kind, w.name), ready(w.replicas)] as const));

describe("computeStatus", () => {
  const now = new Date("2026-11-24T12:00:00Z");

  it("reports Provisioning, then Running, then Degraded, keeping transition times of unchanged conditions", async () => {
    const ex = await example();
    const { workloads } = renderExchange(ex, facts);
    const objects = new Map<string, KubeObject | undefined>();
    const first = computeStatus(ex, { workloads, objects, now });
    expect(first.phase).toBe("Pending");
    for (const w of workloads) objects.set(workloadKey(w.kind, w.name), ready(0));
    const provisioning = computeStatus(ex, { workloads, objects, now });
    expect(provisioning.phase).toBe("Provisioning");
    expect(provisioning.observedGeneration).toBe(4);
    for (const w of workloads) objects.set(workloadKey(w.kind, w.name), ready(w.replicas));
    ex.status = provisioning;
    const later = new Date(now.getTime() + 60_000);
    const running = computeStatus(ex, { workloads, objects, now: later });
    expect(running.phase).toBe("Running");
    const ready1 = running.conditions!.find((c) => c.type === "Ready")!;
    expect(ready1).toMatchObject({
      status: "True",
      reason: "Running",
      lastTransitionTime: later.toISOString(),
    });
    const degradedBefore = running.conditions!.find((c) => c.type === "Degraded")!;
    expect(degradedBefore.lastTransitionTime).toBe(now.toISOString());
    ex.status = running;
    objects.set(workloadKey("Deployment", "demo-gateway"), ready(1));
    const degraded = computeStatus(ex, { workloads, objects, now: later });
    expect(degraded.phase).toBe("Degraded");
    expect(degraded.conditions!.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "WorkloadUnavailable",
    });
    expect(degraded.conditions!.find((c) => c.type === "ComponentsReady")!.message).toBe(
      "waiting for demo-gateway",
    );
    // Still down at the next pass: still Degraded, not Provisioning; Running once back.
    ex.status = degraded;
    expect(computeStatus(ex, { workloads, objects, now: later }).phase).toBe("Degraded");
    objects.set(workloadKey("Deployment", "demo-gateway"), ready(2));
    expect(computeStatus(ex, { workloads, objects, now: later }).phase).toBe("Running");
  });

  it("does not count a workload whose controller has not seen its latest spec", async () => {
    const ex = await example();
    const { workloads } = renderExchange(ex, facts);
    const objects = allReady(workloads);
    const stale = ready(2, 3);
    (stale.status as { observedGeneration: number }).observedGeneration = 2;
    objects.set(workloadKey("Deployment", "demo-gateway"), stale);
    expect(computeStatus(ex, { workloads, objects, now }).phase).toBe("Provisioning");
  });

  it("reports components not ready until the settlement Deployment is", async () => {
    const ex = await example();
    const { workloads } = renderExchange(ex, facts);
    const objects = allReady(workloads);
    objects.set(workloadKey("Deployment", "demo-settlement"), ready(0));
    const status = computeStatus(ex, { workloads, objects, now });
    expect(status.phase).toBe("Provisioning");
    expect(status.conditions!.find((c) => c.type === "ComponentsReady")).toMatchObject({
      status: "False",
      message: "waiting for demo-settlement",
    });
    expect(status.conditions!.find((c) => c.type === "InfrastructureReady")!.status).toBe("True");
  });

  it("reports components not ready until the matching StatefulSet is", async () => {
    const ex = await example();
    const { workloads } = renderExchange(ex, facts);
    const objects = allReady(workloads);
    objects.set(workloadKey("StatefulSet", "demo-matching"), ready(0));
    const status = computeStatus(ex, { workloads, objects, now });
    expect(status.phase).toBe("Provisioning");
    expect(status.conditions!.find((c) => c.type === "ComponentsReady")).toMatchObject({
      status: "False",
      message: "waiting for demo-matching",
    });
    objects.set(workloadKey("StatefulSet", "demo-matching"), ready(1));
    expect(computeStatus(ex, { workloads, objects, now }).phase).toBe("Running");
  });

  it("reports a failed reconcile as not Ready and Degraded with its reason", async () => {
    const ex = await example();
    const status = computeStatus(ex, {
      workloads: [],
      objects: new Map(),
      now,
      error: { reason: "ReconcileFailed", message: "boom" },
    });
    expect(status.conditions!.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "ReconcileFailed",
      message: "boom",
    });
    expect(status.phase).toBe("Degraded");
  });
});

describe("renderExchange with transport aeron", () => {
  it("with transport aeron, carries the hot path over UDP between the pods' media-driver sidecars", async () => {
    const ex = await example();
    ex.spec = { ...ex.spec, transport: "aeron" };
    const { objects } = renderExchange(ex, facts);
    const config = JSON.parse((objects[0]!.data as Record<string, string>)["bourse.json"]!);
    expect(config.transport).toEqual({
      kind: "aeron",
      dir: "/dev/shm/aeron",
      channel: "aeron:udp?endpoint=demo-ubscore-0.demo-ubscore-headless.trading.svc:7200",
      stream: 1001,
    });
    const container = (name: string) =>
      (
        objects.find((o) => o.metadata.name === name)!.spec as {
          template: { spec: { containers: { env: { name: string; value?: string }[]; ports: unknown[] }[] } };
        }
      ).template.spec.containers[0]!;
    const env = (name: string) => Object.fromEntries(container(name).env.map((e) => [e.name, e.value]));
    expect(env("demo-ubscore").BOURSE_AERON_CHANNEL).toBe("aeron:udp?endpoint=0.0.0.0:7200");
    expect(env("demo-gateway").BOURSE_AERON_REPLY_CHANNEL).toBe("aeron:udp?endpoint=$(POD_IP):7201");
    expect(container("demo-ubscore").ports).toContainEqual({
      name: "aeron",
      containerPort: 7200,
      protocol: "UDP",
    });
    const headless = objects.find((o) => o.metadata.name === "demo-ubscore-headless")!;
    expect((headless.spec as { ports: unknown[] }).ports).toEqual([
      { name: "p7200-udp", port: 7200, targetPort: 7200, protocol: "UDP" },
    ]);
    // UBSCore -> matching: UBSCore publishes to matching's pod, which listens on its own endpoint;
    // UBSCore, matching's client, takes the replies on its own pod IP, as a gateway does.
    expect(config.matching).toMatchObject({
      kind: "service",
      channel: "aeron:udp?endpoint=demo-matching-0.demo-matching-headless.trading.svc:7401",
      stream: 1002,
      maxInFlight: 10_000,
    });
    expect(env("demo-matching").BOURSE_MATCHING_CHANNEL).toBe("aeron:udp?endpoint=0.0.0.0:7401");
    expect(env("demo-matching").BOURSE_AERON_CHANNEL).toBeUndefined();
    expect(env("demo-ubscore").BOURSE_AERON_REPLY_CHANNEL).toBe("aeron:udp?endpoint=$(POD_IP):7201");
    expect(container("demo-ubscore").env).toContainEqual({
      name: "POD_IP",
      valueFrom: { fieldRef: { fieldPath: "status.podIP" } },
    });
    expect(container("demo-ubscore").ports).toContainEqual({
      name: "aeron-reply",
      containerPort: 7201,
      protocol: "UDP",
    });
    expect(container("demo-matching").ports).toEqual([
      { name: "aeron", containerPort: 7401, protocol: "UDP" },
      { name: "metrics", containerPort: 9090 },
    ]);
    // Nothing listens on TCP 7400 over Aeron: probed on its metrics port, like every component.
    expect(container("demo-matching")).toMatchObject({
      livenessProbe: { httpGet: { path: "/livez", port: "metrics" } },
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } },
    });
    const matchingHeadless = objects.find((o) => o.metadata.name === "demo-matching-headless")!;
    expect((matchingHeadless.spec as { ports: unknown[] }).ports).toEqual([
      { name: "p7401-udp", port: 7401, targetPort: 7401, protocol: "UDP" },
    ]);
  });
});
