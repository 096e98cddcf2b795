import { createHash } from "node:crypto";
import { type AeronPeer, driverJavaOptions, driverResources, shmQuantity } from "./aeron.ts";
import {
  DEFAULT_RESOURCES,
  INFRA_IMAGES,
  minInSync,
  orDefault,
  replicationFactor,
  spreadQuorum,
  storageClass,
} from "./defaults.ts";
import { API_VERSION, type Exchange, type KubeObject, type ObjectMeta } from "./exchange.ts";
import { type InfrastructureEndpoints, renderExchangeConfig } from "./exchange-config.ts";
import {
  componentProbes,
  METRICS_CONTAINER_PORT,
  METRICS_PORT,
  METRICS_SERVICE_PORT,
  SCRAPER_NAMESPACE_LABEL,
} from "./observability.ts";
import { STORE_DATA_CENTER, store, storeReplicationFactor } from "./store.ts";
import { underWriterLease, writerLeaseAccess } from "./ubscore-lease.ts";

/**
 * The pure part of reconciling: an Exchange (defaults applied) plus what only the cluster knows
 * (its generated ids, the TigerBeetle replicas' Service IPs) become every object the operator
 * owns. No I/O here, so the whole rendering is unit-tested; the reconciler server-side-applies
 * the result and prunes what it no longer contains.
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

export interface Rendered {
  readonly objects: KubeObject[];
  readonly workloads: Workload[];
}

export const PORTS = {
  trading: 8080,
  admin: 8081,
  transport: 7100,
  /** Aeron UDP (transport: aeron): UBSCore's endpoint; each client's (gateways', UBSCore's) for replies. */
  aeron: 7200,
  aeronReply: 7201,
  /** `bourse settlement`: UBSCore's status and `caughtUp` calls. */
  settlement: 7300,
  /** `bourse matching`: UBSCore's order commands, over TCP; over Aeron UDP, matching's endpoint. */
  matching: 7400,
  matchingAeron: 7401,
  tigerbeetle: 3001,
  kafka: 9092,
  controller: 9093,
  cql: 9042,
  /** Every Bourse component: /metrics, /livez and /readyz (operator/src/observability.ts). */
  metrics: METRICS_PORT,
};
export const CONFIG_HASH_ANNOTATION = "bourse.dev/config-hash";
const CONFIG_PATH = "/etc/bourse/bourse.json";
const UID = 10001;

/** Every object the operator creates carries this label; its watches and prunes select on it. */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=bourse-operator";

/** The objects the operator made for one Exchange. */
export function ownedSelector(ex: Exchange): string {
  return `app.kubernetes.io/instance=${ex.metadata.name},${MANAGED_SELECTOR}`;
}

export function labels(ex: Exchange, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "bourse",
    "app.kubernetes.io/instance": ex.metadata.name,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": "bourse",
    "app.kubernetes.io/managed-by": "bourse-operator",
  };
}

/** Selectors use only what never changes for a workload (its instance and component). */
export function selector(ex: Exchange, component: string): Record<string, string> {
  return { "app.kubernetes.io/instance": ex.metadata.name, "app.kubernetes.io/component": component };
}

export function meta(ex: Exchange, name: string, component: string): ObjectMeta {
  return {
    name,
    namespace: ex.metadata.namespace,
    labels: labels(ex, component),
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: "Exchange",
        name: ex.metadata.name,
        uid: ex.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

export function objectName(ex: Exchange, component: string): string {
  return `${ex.metadata.name}-${component}`;
}

/** The operator API's bearer token, generated once (see reconciler.ts); `kubectl get secret` reads it. */
export function adminTokenSecret(ex: Exchange): string {
  return objectName(ex, "admin-token");
}

/**
 * The keys of the links between the components (docs/security.md, "Internal links"), one per
 * link, generated once (see reconciler.ts). Each pod mounts only the keys of its own links.
 */
export function linkKeysSecret(ex: Exchange): string {
  return objectName(ex, "link-keys");
}

export const LINK_KEYS = {
  ubscore: ["gateway-ubscore", "ubscore-matching", "ubscore-settlement"],
  gateway: ["gateway-ubscore"],
  matching: ["ubscore-matching"],
  settlement: ["ubscore-settlement"],
} as const;
const LINK_KEY_DIR = "/etc/bourse-links";

/** A component's link keys: the Secret's items it needs, read-only to the pod's group. */
function linkKeys(ex: Exchange, c: keyof typeof LINK_KEYS) {
  return {
    volume: {
      name: "link-keys",
      secret: {
        secretName: linkKeysSecret(ex),
        items: LINK_KEYS[c].map((key) => ({ key, path: key })),
        defaultMode: 0o440,
      },
    },
    mount: { name: "link-keys", mountPath: LINK_KEY_DIR, readOnly: true },
    env: { name: "BOURSE_LINK_KEY_DIR", value: LINK_KEY_DIR },
  };
}

/** One ClusterIP Service per TigerBeetle replica: stable IPs for `--addresses`. */
export function tigerbeetleReplicaServices(ex: Exchange): KubeObject[] {
  if (ex.spec.tigerbeetle.external) return [];
  return Array.from({ length: ex.spec.tigerbeetle.replicas }, (_, i) => {
    const pod = `${objectName(ex, "tigerbeetle")}-${i}`;
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(ex, pod, "tigerbeetle"),
      spec: {
        type: "ClusterIP",
        selector: { "statefulset.kubernetes.io/pod-name": pod },
        ports: [{ name: "tigerbeetle", port: PORTS.tigerbeetle, targetPort: PORTS.tigerbeetle }],
      },
    };
  });
}

export function renderExchange(ex: Exchange, facts: ClusterFacts): Rendered {
  const objects: KubeObject[] = [];
  const workloads: Workload[] = [];
  const infra = infrastructureEndpoints(ex, facts);
  const config = renderExchangeConfig(ex.metadata.name, ex.spec, infra, storeReplicationFactor(ex));
  const configJson = `${JSON.stringify(config, null, 2)}\n`;
  const configHash = createHash("sha256").update(configJson).digest("hex").slice(0, 16);
  objects.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(ex, objectName(ex, "config"), "config"),
    data: { "bourse.json": configJson },
  });
  const add = (r: Rendered) => {
    objects.push(...r.objects);
    workloads.push(...r.workloads);
  };
  if (!ex.spec.tigerbeetle.external) add(tigerbeetle(ex, facts));
  if (!ex.spec.kafka.external) add(kafka(ex, facts));
  if (!ex.spec.store.external) add(store(ex));
  add(component(ex, "ubscore", configHash));
  add(matching(ex, configHash));
  add(component(ex, "gateway", configHash));
  add(settlement(ex, configHash));
  objects.push(...networkPolicies(ex, facts.operatorNamespace));
  return { objects, workloads };
}

export function infrastructureEndpoints(ex: Exchange, facts: ClusterFacts): InfrastructureEndpoints {
  const { spec } = ex;
  const ns = ex.metadata.namespace;
  return {
    tigerbeetle: spec.tigerbeetle.external ?? {
      clusterId: facts.tigerbeetleClusterId,
      addresses: facts.tigerbeetleServiceIps.map((ip) => `${ip}:${PORTS.tigerbeetle}`),
    },
    kafkaBrokers: spec.kafka.external?.bootstrapServers ?? [
      `${objectName(ex, "kafka")}.${ns}.svc:${PORTS.kafka}`,
    ],
    store: spec.store.external ?? {
      contactPoints: [`${objectName(ex, "store")}.${ns}.svc:${PORTS.cql}`],
      localDataCenter: STORE_DATA_CENTER,
    },
    ubscore: `${objectName(ex, "ubscore")}.${ns}.svc:${PORTS.transport}`,
    // Aeron status messages go back to the sender's address: the pod itself, not a Service IP.
    ubscoreAeron: `${objectName(ex, "ubscore")}-0.${objectName(ex, "ubscore")}-headless.${ns}.svc:${PORTS.aeron}`,
    settlement: `${objectName(ex, "settlement")}.${ns}.svc:${PORTS.settlement}`,
    matching: `${objectName(ex, "matching")}.${ns}.svc:${PORTS.matching}`,
    matchingAeron: `${objectName(ex, "matching")}-0.${objectName(ex, "matching")}-headless.${ns}.svc:${PORTS.matchingAeron}`,
  };
}

// ---- infrastructure ----

function tigerbeetle(ex: Exchange, facts: ClusterFacts): Rendered {
  const name = objectName(ex, "tigerbeetle");
  const { replicas } = ex.spec.tigerbeetle;
  const file = `/var/lib/tigerbeetle/${facts.tigerbeetleClusterId}_$(REPLICA).tigerbeetle`;
  const addresses = facts.tigerbeetleServiceIps.map((ip) => `${ip}:${PORTS.tigerbeetle}`).join(",");
  const podIndex = { name: "REPLICA", valueFrom: podIndexRef };
  const image = ex.spec.tigerbeetle.image ?? INFRA_IMAGES.tigerbeetle;
  const resources = orDefault(ex.spec.tigerbeetle.resources, DEFAULT_RESOURCES.tigerbeetle);
  // No --development: it caps a request at 253 transfers (settlement sends up to 8,190, so a
  // backlog would stall for good) and gives up direct I/O. The server runs under the image's tini
  // (/sbin/tini, its entrypoint, which a command replaces): as PID 1 itself it would ignore
  // SIGTERM, and every stop would wait for the grace period's SIGKILL.
  const shell = ["/sbin/tini", "--", "sh", "-c"];
  const sts = statefulSet(ex, name, "tigerbeetle", replicas, {
    initContainers: [
      {
        // Format once: the data file holds the replica's identity and must never be re-created.
        name: "format",
        image,
        env: [podIndex],
        command: shell,
        args: [
          `test -f "${file}" || /tigerbeetle format --cluster=${facts.tigerbeetleClusterId} --replica=$(REPLICA) --replica-count=${replicas} "${file}"`,
        ],
        resources,
        volumeMounts: [{ name: "data", mountPath: "/var/lib/tigerbeetle" }],
        securityContext: restrictedContainer(false),
      },
    ],
    containers: [
      {
        name: "tigerbeetle",
        image,
        env: [podIndex, { name: "ADDRESSES", value: addresses }],
        command: shell,
        // A replica listens on all interfaces in its own slot; the others are reached by Service IP.
        args: [
          `i=0; own=""; IFS=,; for a in $ADDRESSES; do [ "$i" = "$REPLICA" ] && a=0.0.0.0:${PORTS.tigerbeetle}; own="$own\${own:+,}$a"; i=$((i+1)); done; exec /tigerbeetle start --addresses="$own" "${file}"`,
        ],
        ports: [{ name: "tigerbeetle", containerPort: PORTS.tigerbeetle }],
        readinessProbe: { tcpSocket: { port: PORTS.tigerbeetle }, periodSeconds: 5 },
        resources,
        volumeMounts: [{ name: "data", mountPath: "/var/lib/tigerbeetle" }],
        securityContext: restrictedContainer(false),
      },
    ],
    volumeClaims: [claim(ex, "data", ex.spec.tigerbeetle.storage ?? "10Gi")],
    // TigerBeetle does all its I/O through io_uring, which the runtimes' default seccomp profiles
    // (containerd's and Docker's since 2023, and so the kubelet's seccompDefault) refuse: explicitly
    // Unconfined, never left to the node's default. The rest stays locked down (non-root, no
    // capabilities, no privilege escalation). docs/operator.md says so.
    seccomp: "Unconfined",
    scheduling: spreadQuorum(selector(ex, "tigerbeetle")),
  });
  return {
    objects: [
      ...tigerbeetleReplicaServices(ex),
      headlessService(ex, "tigerbeetle", PORTS.tigerbeetle),
      sts,
      pdb(ex, "tigerbeetle"),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "infrastructure", replicas }],
  };
}

function kafka(ex: Exchange, facts: ClusterFacts): Rendered {
  const name = objectName(ex, "kafka");
  const headless = `${name}-headless`;
  const ns = ex.metadata.namespace;
  const brokers = ex.spec.kafka.brokers;
  const host = (i: number | string) => `${name}-${i}.${headless}.${ns}.svc`;
  const voters = Array.from({ length: brokers }, (_, i) => `${i}@${host(i)}:${PORTS.controller}`).join(",");
  const rf = String(replicationFactor(brokers));
  const isr = String(minInSync(brokers));
  const env = [
    { name: "KAFKA_NODE_ID", valueFrom: podIndexRef },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "CLUSTER_ID", value: facts.kafkaClusterId },
    { name: "KAFKA_PROCESS_ROLES", value: "broker,controller" },
    { name: "KAFKA_CONTROLLER_QUORUM_VOTERS", value: voters },
    { name: "KAFKA_LISTENERS", value: `PLAINTEXT://:${PORTS.kafka},CONTROLLER://:${PORTS.controller}` },
    {
      name: "KAFKA_ADVERTISED_LISTENERS",
      value: `PLAINTEXT://$(POD_NAME).${headless}.${ns}.svc:${PORTS.kafka}`,
    },
    { name: "KAFKA_CONTROLLER_LISTENER_NAMES", value: "CONTROLLER" },
    { name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" },
    { name: "KAFKA_INTER_BROKER_LISTENER_NAME", value: "PLAINTEXT" },
    // A directory inside the volume, never its root: a block volume's filesystem has lost+found
    // there, which Kafka takes for a broken partition directory and refuses to start.
    { name: "KAFKA_LOG_DIRS", value: "/var/lib/kafka/data/logs" },
    { name: "KAFKA_AUTO_CREATE_TOPICS_ENABLE", value: "false" },
    // Topics the components create take the broker's defaults: replicated over the brokers.
    { name: "KAFKA_DEFAULT_REPLICATION_FACTOR", value: rf },
    { name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", value: rf },
    { name: "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", value: rf },
    { name: "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", value: isr },
    { name: "KAFKA_MIN_INSYNC_REPLICAS", value: isr },
  ];
  const sts = statefulSet(ex, name, "kafka", brokers, {
    serviceName: headless,
    parallel: true,
    containers: [
      {
        name: "kafka",
        image: ex.spec.kafka.image ?? INFRA_IMAGES.kafka,
        env,
        ports: [
          { name: "kafka", containerPort: PORTS.kafka },
          { name: "controller", containerPort: PORTS.controller },
        ],
        readinessProbe: { tcpSocket: { port: PORTS.kafka }, periodSeconds: 5 },
        resources: orDefault(ex.spec.kafka.resources, DEFAULT_RESOURCES.kafka),
        volumeMounts: [{ name: "data", mountPath: "/var/lib/kafka/data" }],
        securityContext: restrictedContainer(false),
      },
    ],
    volumeClaims: [claim(ex, "data", ex.spec.kafka.storage ?? "10Gi")],
    runAsUser: 1000,
    scheduling: spreadQuorum(selector(ex, "kafka")),
  });
  return {
    objects: [
      headlessService(ex, "kafka", PORTS.kafka, PORTS.controller),
      clientService(ex, "kafka", [{ name: "kafka", port: PORTS.kafka }]),
      sts,
      pdb(ex, "kafka"),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "infrastructure", replicas: brokers }],
  };
}

// ---- Bourse components ----

/**
 * `bourse ubscore` (single writer: journal, transfers, operator API; it journals every order
 * command and matching's outcome) and `bourse gateway` (any number, each on a replica of
 * UBSCore), both on the Aeron media driver. Matching (matching() below) and settlement
 * (settlement() below) run in pods of their own.
 */
type ComponentName = "ubscore" | "gateway";

function component(ex: Exchange, c: ComponentName, configHash: string): Rendered {
  const name = objectName(ex, c);
  const ubscore = c === "ubscore";
  const replicas = ubscore ? 1 : ex.spec.gateway.replicas;
  const aeron = ex.spec.transport === "aeron";
  const keys = linkKeys(ex, c);
  const container = {
    ...bourseContainer(ex, c),
    env: [
      ...aeronDir(ex).env,
      keys.env,
      ...(aeron ? aeronEnv(c) : []),
      ...(ubscore
        ? [
            {
              name: "BOURSE_ADMIN_TOKEN",
              valueFrom: { secretKeyRef: { name: adminTokenSecret(ex), key: "token" } },
            },
          ]
        : []),
    ],
    ports: ubscore
      ? [
          ...(aeron
            ? [
                { name: "aeron", containerPort: PORTS.aeron, protocol: "UDP" },
                // Matching's replies to UBSCore, its client.
                AERON_REPLY_PORT,
              ]
            : [{ name: "transport", containerPort: PORTS.transport }]),
          { name: "admin", containerPort: PORTS.admin },
          METRICS_CONTAINER_PORT,
        ]
      : [
          { name: "trading", containerPort: PORTS.trading },
          ...(aeron ? [AERON_REPLY_PORT] : []),
          METRICS_CONTAINER_PORT,
        ],
    ...componentProbes(ubscore),
    resources: orDefault(ex.spec[c].resources, DEFAULT_RESOURCES.bourse),
    volumeMounts: [...BOURSE_MOUNTS, keys.mount, ...aeronDir(ex).mounts, ...(ubscore ? [DATA_MOUNT] : [])],
  };
  const pod = componentPod(ex, c, container, configHash, keys.volume);
  if (ubscore) {
    return {
      objects: [
        ...writerLeaseAccess(ex),
        underWriterLease(
          ex,
          statefulSet(ex, name, c, replicas, {
            ...pod,
            volumeClaims: [claim(ex, "data", ex.spec.ubscore.storage)],
          }),
        ),
        clientService(ex, c, [{ name: "transport", port: PORTS.transport }, METRICS_SERVICE_PORT]),
        clientService(ex, c, [{ name: "admin", port: PORTS.admin }], objectName(ex, "admin")),
        // The StatefulSet's governing Service: the pod's DNS name, which gateways send Aeron UDP to.
        headlessService(ex, c, { port: PORTS.aeron, protocol: "UDP" }),
      ],
      workloads: [{ kind: "StatefulSet", name, tier: "component", replicas }],
    };
  }
  return {
    objects: [
      deployment(ex, name, c, replicas, pod),
      clientService(ex, c, [{ name: "trading", port: PORTS.trading }, METRICS_SERVICE_PORT]),
      pdb(ex, c),
    ],
    workloads: [{ kind: "Deployment", name, tier: "component", replicas }],
  };
}

/**
 * `bourse matching`: the order books, in memory only. UBSCore journals every order command and
 * its outcome, and whenever matching connects it sends the books (derived from its own state) and
 * every command not yet answered; so matching keeps no journal and no volume.
 * - A StatefulSet of at most one replica: one writer per market set, and at most one pod named
 *   `<name>-matching-0` at any time (a Deployment may briefly run two, even with Recreate);
 *   its stable DNS name (the headless Service) is where UBSCore sends Aeron UDP.
 * - Over TCP, UBSCore dials its ClusterIP Service (`<name>-matching:7400`).
 * - The Aeron media-driver sidecar, like UBSCore and gateways: the hot path UBSCore -> matching.
 * - No PodDisruptionBudget, like UBSCore and settlement: with one replica, `maxUnavailable: 1`
 *   allows every eviction anyway, and anything stricter would block node drains.
 */
function matching(ex: Exchange, configHash: string): Rendered {
  const c = "matching";
  const name = objectName(ex, c);
  const { replicas } = ex.spec.matching;
  const resources = orDefault(ex.spec.matching.resources, DEFAULT_RESOURCES.bourse);
  const aeron = ex.spec.transport === "aeron";
  const keys = linkKeys(ex, c);
  const container = {
    ...bourseContainer(ex, c),
    env: [...aeronDir(ex).env, keys.env, ...(aeron ? aeronEnv(c) : [])],
    ports: [
      aeron
        ? { name: "aeron", containerPort: PORTS.matchingAeron, protocol: "UDP" }
        : { name: c, containerPort: PORTS.matching },
      METRICS_CONTAINER_PORT,
    ],
    ...componentProbes(),
    resources,
    volumeMounts: [...BOURSE_MOUNTS, keys.mount, ...aeronDir(ex).mounts],
  };
  return {
    objects: [
      statefulSet(ex, name, c, replicas, componentPod(ex, c, container, configHash, keys.volume)),
      clientService(ex, c, [{ name: c, port: PORTS.matching }, METRICS_SERVICE_PORT]),
      // The StatefulSet's governing Service: the pod's DNS name, which UBSCore sends Aeron UDP to.
      headlessService(ex, c, { port: PORTS.matchingAeron, protocol: "UDP" }),
    ],
    workloads: [{ kind: "StatefulSet", name, tier: "component", replicas }],
  };
}

/**
 * `bourse settlement`: settles UBSCore's settlement feed (one Kafka partition, consumer group
 * `bourse-settlement`) into TigerBeetle and ScyllaDB, and serves UBSCore, which dials its Service.
 * - Recreate, at most one replica: the partition has one active consumer, and UBSCore must talk
 *   to the pod that settles, so a rolling update's second pod must never run beside the first.
 * - An emptyDir for its data: it keeps only its position there, which it recovers from Kafka's
 *   committed offset when the file is gone.
 * - No media-driver sidecar: it does not use Aeron.
 * - No PodDisruptionBudget, like UBSCore: with one replica, `maxUnavailable: 1` allows every
 *   eviction anyway, and anything stricter would block node drains.
 */
function settlement(ex: Exchange, configHash: string): Rendered {
  const c = "settlement";
  const name = objectName(ex, c);
  const { replicas } = ex.spec.settlement;
  const resources = orDefault(ex.spec.settlement.resources, DEFAULT_RESOURCES.bourse);
  const keys = linkKeys(ex, c);
  const container = {
    ...bourseContainer(ex, c),
    env: [keys.env],
    ports: [{ name: c, containerPort: PORTS.settlement }, METRICS_CONTAINER_PORT],
    ...componentProbes(),
    resources,
    volumeMounts: [...BOURSE_MOUNTS, keys.mount, DATA_MOUNT],
  };
  return {
    objects: [
      deployment(ex, name, c, replicas, {
        annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
        containers: [container],
        volumes: [...bourseVolumes(ex), keys.volume, { name: "data", emptyDir: {} }],
        recreate: true,
      }),
      clientService(ex, c, [{ name: c, port: PORTS.settlement }, METRICS_SERVICE_PORT]),
    ],
    workloads: [{ kind: "Deployment", name, tier: "component", replicas }],
  };
}

/** A Bourse component's container: `bourse <command>` on the rendered configuration, locked down. */
function bourseContainer(ex: Exchange, command: string): Record<string, unknown> {
  return {
    name: command,
    image: `${ex.spec.image.repository}:${ex.spec.image.tag}`,
    imagePullPolicy: ex.spec.image.pullPolicy,
    args: [command, "--config", CONFIG_PATH],
    securityContext: restrictedContainer(true),
  };
}

/** Under a read-only root a Bourse component reads its configuration, writes /tmp and its data. */
const BOURSE_MOUNTS = [
  { name: "config", mountPath: "/etc/bourse", readOnly: true },
  { name: "tmp", mountPath: "/tmp" },
];
const DATA_MOUNT = { name: "data", mountPath: "/var/lib/bourse" };

function bourseVolumes(ex: Exchange): Record<string, unknown>[] {
  return [
    { name: "config", configMap: { name: objectName(ex, "config") } },
    { name: "tmp", emptyDir: {} },
  ];
}

/**
 * With `transport: aeron`, each side talks to its own media-driver sidecar, which carries the
 * streams over UDP. A server subscribes on its pod's endpoint: UBSCore for gateways, matching for
 * UBSCore (the shared configuration names the endpoints as their clients dial them, so the
 * servers' pods override them to listen). A client, a gateway of UBSCore or UBSCore of matching,
 * takes replies on its own pod IP (the downward API), which it announces when it connects.
 */
function aeronEnv(c: ComponentName | "matching"): Record<string, unknown>[] {
  const replies = [
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "BOURSE_AERON_REPLY_CHANNEL", value: `aeron:udp?endpoint=$(POD_IP):${PORTS.aeronReply}` },
  ];
  switch (c) {
    case "ubscore":
      return [
        { name: "BOURSE_AERON_CHANNEL", value: `aeron:udp?endpoint=0.0.0.0:${PORTS.aeron}` },
        ...replies,
      ];
    case "matching":
      return [
        { name: "BOURSE_MATCHING_CHANNEL", value: `aeron:udp?endpoint=0.0.0.0:${PORTS.matchingAeron}` },
      ];
    case "gateway":
      return replies;
  }
}

const AERON_REPLY_PORT = { name: "aeron-reply", containerPort: PORTS.aeronReply, protocol: "UDP" };

/** Where a component on the Aeron media driver finds it (transport: aeron); nothing over TCP. */
function aeronDir(ex: Exchange) {
  const aeron = ex.spec.transport === "aeron";
  return {
    env: aeron ? [{ name: "AERON_DIR", value: "/dev/shm/aeron" }] : [],
    mounts: aeron ? [{ name: "aeron", mountPath: "/dev/shm" }] : [],
  };
}

/**
 * A hot-path component's pod. With transport: aeron, the media-driver sidecar and the
 * memory-backed /dev/shm they share, sized for the logs this pod's driver holds (aeron.ts); with
 * tcp, no driver at all.
 */
function componentPod(
  ex: Exchange,
  peer: AeronPeer,
  container: Record<string, unknown>,
  configHash: string,
  linkKeysVolume: Record<string, unknown>,
): PodParts {
  const aeron = ex.spec.transport === "aeron";
  return {
    annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
    ...(aeron && { initContainers: [mediaDriver(ex, peer)] }),
    containers: [container],
    volumes: [
      ...bourseVolumes(ex),
      linkKeysVolume,
      // Aeron's log buffers and CnC file, shared by the driver and the component: memory-backed.
      ...(aeron ? [{ name: "aeron", emptyDir: { medium: "Memory", sizeLimit: shmQuantity(ex, peer) } }] : []),
    ],
  };
}

/**
 * The Aeron media driver as a native sidecar (an init container that keeps running): it starts
 * before the component, is stopped after it, and the component sees its CnC file at start.
 */
function mediaDriver(ex: Exchange, peer: AeronPeer): Record<string, unknown> {
  return {
    name: "media-driver",
    image: `${ex.spec.image.repository}-media-driver:${ex.spec.image.tag}`,
    imagePullPolicy: ex.spec.image.pullPolicy,
    restartPolicy: "Always",
    env: [
      { name: "AERON_DIR", value: "/dev/shm/aeron" },
      { name: "JAVA_TOOL_OPTIONS", value: driverJavaOptions(ex) },
    ],
    resources: driverResources(ex, peer),
    startupProbe: {
      exec: { command: ["test", "-e", "/dev/shm/aeron/cnc.dat"] },
      periodSeconds: 1,
      failureThreshold: 60,
    },
    volumeMounts: [
      { name: "aeron", mountPath: "/dev/shm" },
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: restrictedContainer(true),
  };
}

// ---- network policies ----

/**
 * Who may open which port of which pod: each internal port only from the components that use it
 * (ingress only; the links authenticate each peer on top, transport/src/link.ts). The public
 * ports (trading, the operator API behind its bearer token) stay open to any source. A pod
 * selected by a policy refuses every other ingress, so each component's policy lists all of its
 * ports. Infrastructure the spec points elsewhere (external) gets none.
 */
type Peer = "ubscore" | "gateway" | "matching" | "settlement" | "tigerbeetle" | "kafka" | "store";
interface Rule {
  readonly ports: readonly (number | { port: number; protocol: "UDP" })[];
  /** The components allowed; none (and no namespaces) means any source. */
  readonly from?: readonly Peer[];
  /** Any pod in the namespaces with these labels (the metrics scrapers'). */
  readonly fromNamespaces?: Record<string, string>;
  /** The operator's pods (in this namespace), which read each component's health for the status. */
  readonly fromOperatorIn?: string;
}

export function networkPolicies(ex: Exchange, operatorNamespace?: string): KubeObject[] {
  const udp = (port: number) => ({ port, protocol: "UDP" as const });
  // Each component's metrics port: from the scrapers' namespaces, and the operator's pods.
  const SCRAPERS: Rule = {
    ports: [PORTS.metrics],
    fromNamespaces: SCRAPER_NAMESPACE_LABEL,
    fromOperatorIn: operatorNamespace,
  };
  const rules: [Peer, Rule[]][] = [
    [
      "ubscore",
      [
        { ports: [PORTS.transport, udp(PORTS.aeron)], from: ["gateway"] },
        // Matching's Aeron replies to UBSCore, its client.
        { ports: [udp(PORTS.aeronReply)], from: ["matching"] },
        { ports: [PORTS.admin] },
        SCRAPERS,
      ],
    ],
    [
      "gateway",
      [{ ports: [PORTS.trading] }, { ports: [udp(PORTS.aeronReply)], from: ["ubscore"] }, SCRAPERS],
    ],
    ["matching", [{ ports: [PORTS.matching, udp(PORTS.matchingAeron)], from: ["ubscore"] }, SCRAPERS]],
    ["settlement", [{ ports: [PORTS.settlement], from: ["ubscore"] }, SCRAPERS]],
  ];
  const { tigerbeetle, kafka, store } = ex.spec;
  if (!tigerbeetle.external) {
    rules.push([
      "tigerbeetle",
      [{ ports: [PORTS.tigerbeetle], from: ["ubscore", "settlement", "tigerbeetle"] }],
    ]);
  }
  if (!kafka.external) {
    rules.push([
      "kafka",
      [
        { ports: [PORTS.kafka], from: ["ubscore", "settlement", "kafka"] },
        { ports: [PORTS.controller], from: ["kafka"] },
      ],
    ]);
  }
  if (!store.external) {
    rules.push([
      "store",
      [
        // The gateways read history from the store; the nodes gossip among themselves on any port.
        { ports: [PORTS.cql], from: ["ubscore", "gateway", "settlement"] },
        { ports: [], from: ["store"] },
      ],
    ]);
  }
  return rules.map(([component, ingress]) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(ex, objectName(ex, component), component),
    spec: {
      podSelector: { matchLabels: selector(ex, component) },
      policyTypes: ["Ingress"],
      ingress: ingress.map((rule) => ({
        ...(rule.ports.length > 0 && {
          ports: rule.ports.map((p) =>
            typeof p === "number" ? { protocol: "TCP", port: p } : { protocol: p.protocol, port: p.port },
          ),
        }),
        ...((rule.from || rule.fromNamespaces) && {
          from: [
            ...(rule.from ?? []).map((peer) => ({ podSelector: { matchLabels: selector(ex, peer) } })),
            ...(rule.fromNamespaces ? [{ namespaceSelector: { matchLabels: rule.fromNamespaces } }] : []),
            ...(rule.fromOperatorIn ? [operatorPeer(rule.fromOperatorIn)] : []),
          ],
        }),
      })),
    },
  }));
}

/** The operator's pods as the chart labels them, in the namespace it runs in (set by the API server, not forgeable). */
function operatorPeer(namespace: string) {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: {
      matchLabels: { "app.kubernetes.io/name": "bourse-operator", "app.kubernetes.io/component": "operator" },
    },
  };
}

// ---- building blocks ----

const podIndexRef = { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } };

interface PodParts {
  annotations?: Record<string, string>;
  initContainers?: unknown[];
  containers: unknown[];
  volumes?: unknown[];
  runAsUser?: number;
  /** The pod's seccomp profile: the runtime's default unless a workload needs more (TigerBeetle). */
  seccomp?: "RuntimeDefault" | "Unconfined";
  /** Affinity and topology spread (defaults.ts spreadQuorum). */
  scheduling?: Record<string, unknown>;
}

function podTemplate(ex: Exchange, component: string, parts: PodParts): Record<string, unknown> {
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
    },
  };
}

export function statefulSet(
  ex: Exchange,
  name: string,
  component: string,
  replicas: number,
  parts: PodParts & { serviceName?: string; parallel?: boolean; volumeClaims?: unknown[] },
): KubeObject {
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
          ...(c as object),
          metadata: { ...(c as { metadata: object }).metadata, labels: labels(ex, component) },
        })),
      }),
    },
  };
}

function deployment(
  ex: Exchange,
  name: string,
  component: string,
  replicas: number,
  parts: PodParts & { recreate?: boolean },
): KubeObject {
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

export function claim(ex: Exchange, name: string, storage: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name },
    spec: { accessModes: ["ReadWriteOnce"], ...storageClass(ex), resources: { requests: { storage } } },
  };
}

export function headlessService(
  ex: Exchange,
  component: string,
  ...ports: (number | { port: number; protocol: "UDP" })[]
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(ex, `${objectName(ex, component)}-headless`, component),
    spec: {
      clusterIP: "None",
      // Peers must find each other before they are ready (quorum forms only once they do).
      publishNotReadyAddresses: true,
      selector: selector(ex, component),
      ports: ports.map((p) =>
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
): KubeObject {
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

export function pdb(ex: Exchange, component: string): KubeObject {
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

export function restrictedContainer(readOnlyRoot: boolean): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: readOnlyRoot,
    capabilities: { drop: ["ALL"] },
  };
}
