import type { V1EnvVar } from "@kubernetes/client-node";
import {
  DEFAULT_RESOURCES,
  INFRA_IMAGES,
  minInSync,
  orDefault,
  replicationFactor,
  spreadQuorum,
} from "../defaults.ts";
import type { Exchange } from "../exchange.ts";
import { objectName, PORTS, selector } from "./identity.ts";
import type { ClusterFacts, Rendered } from "./rendered.ts";
import {
  claim,
  clientService,
  headlessService,
  pdb,
  podIndexRef,
  restrictedContainer,
  statefulSet,
} from "./workloads.ts";

/**
 * Kafka in KRaft mode, each broker its own controller too: node id from the pod index, the
 * static voters every broker's headless DNS name, the generated cluster id.
 */
export function kafka(ex: Exchange, facts: ClusterFacts): Rendered {
  const name = objectName(ex, "kafka");
  const brokers = ex.spec.kafka.brokers;
  const sts = statefulSet(ex, name, "kafka", brokers, {
    serviceName: `${name}-headless`,
    parallel: true,
    containers: [
      {
        name: "kafka",
        image: ex.spec.kafka.image ?? INFRA_IMAGES.kafka,
        env: kafkaEnv(ex, facts),
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

/** The apache/kafka image takes its settings as `KAFKA_*` variables. */
function kafkaEnv(ex: Exchange, facts: ClusterFacts): V1EnvVar[] {
  const name = objectName(ex, "kafka");
  const headless = `${name}-headless`;
  const ns = ex.metadata.namespace;
  const brokers = ex.spec.kafka.brokers;
  const host = (i: number | string) => `${name}-${i}.${headless}.${ns}.svc`;
  const voters = Array.from({ length: brokers }, (_, i) => `${i}@${host(i)}:${PORTS.controller}`).join(",");
  const rf = String(replicationFactor(brokers));
  const isr = String(minInSync(brokers));
  return [
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
}
