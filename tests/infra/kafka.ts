import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { mavenLibs } from "./maven.ts";
import { freePort } from "./ports.ts";
import { type ServerProcess, startProcess, waitUntil } from "./process.ts";

/**
 * A real Apache Kafka (KRaft, one node acting as broker and controller) on loopback ports chosen
 * by the kernel, with its data and log in a fresh temporary directory. Ready when a kafkajs admin
 * client can list topics.
 */
export const KAFKA_VERSION = "3.9.1";
const run = promisify(execFile);

export interface KafkaServer {
  readonly brokers: string[];
  readonly dir: string;
  /** Stops the broker (SIGTERM) and starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** Starts a stopped broker again on the same ports and data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function kafkaLibs(): Promise<string> {
  return mavenLibs(`kafka-${KAFKA_VERSION}`, [
    `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`,
    "org.slf4j:slf4j-reload4j:1.7.36",
  ]);
}

export async function startKafka(): Promise<KafkaServer> {
  const lib = await kafkaLibs();
  const dir = await mkdtemp(join(tmpdir(), "bourse-kafka-"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const config = join(dir, "server.properties");
  await writeFile(
    config,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${join(dir, "data")}`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=false",
    ].join("\n"),
  );
  await writeFile(
    join(dir, "log4j.properties"),
    "log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n",
  );
  const java = [
    "-Xms256m",
    "-Xmx512m",
    `-Dlog4j.configuration=file:${join(dir, "log4j.properties")}`,
    "-cp",
    `${lib}/*`,
  ];
  await run("java", [
    ...java,
    "kafka.tools.StorageTool",
    "format",
    // One argument, "=" attached: a random id may begin with "-", which would read as an option.
    `--cluster-id=${randomBytes(16).toString("base64url")}`,
    "-c",
    config,
  ]);
  const brokers = [`127.0.0.1:${port}`];
  const launch = async (): Promise<ServerProcess> => {
    const server = startProcess("java", [...java, "kafka.Kafka", config], join(dir, "kafka.log"));
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await waitUntil(
      "Kafka",
      async () => {
        await admin.connect();
        await admin.listTopics();
        return true;
      },
      90_000,
      server,
    );
    await admin.disconnect();
    return server;
  };
  let server = await launch();
  return {
    brokers,
    dir,
    restart: async () => {
      await server.stop();
      server = await launch();
    },
    start: async () => {
      server = await launch();
    },
    stop: () => server.stop(),
  };
}
