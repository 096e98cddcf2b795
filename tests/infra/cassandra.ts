import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import cassandra from "cassandra-driver";
import { mavenLibs } from "./maven.ts";
import { freePort } from "./ports.ts";
import { type ServerProcess, startProcess, waitUntil } from "./process.ts";

/**
 * A real Apache Cassandra 5 (the CQL stand-in for ScyllaDB) as a single node on loopback ports
 * chosen by the kernel, data in a fresh temporary directory, started straight from Maven Central's
 * cassandra-all with the JDK 17 module flags of Cassandra's own jvm17-server.options. Ready when a
 * cassandra-driver client connects and answers a query. No JMX port is opened (none is needed).
 */
export const CASSANDRA_VERSION = "5.0.4";

export interface CassandraServer {
  readonly contactPoints: string[];
  readonly localDataCenter: string;
  readonly dir: string;
  /** Kills the server (SIGKILL, a crash) and starts it again on the same data and ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The JDK 17 module flags of Cassandra's jvm17-server.options (the cluster's Cassandra image uses them too). */
export const JDK17_MODULE_FLAGS = [
  "-Djdk.attach.allowAttachSelf=true",
  ...[
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
  ].flatMap((m) => ["--add-exports", `${m}=ALL-UNNAMED`]),
  ...[
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac",
    "java.base/java.lang",
    "java.base/java.util",
  ].flatMap((m) => ["--add-opens", `${m}=ALL-UNNAMED`]),
  "-Dio.netty.tryReflectionSetAccessible=true",
];

export function cassandraLibs(): Promise<string> {
  return mavenLibs(`cassandra-${CASSANDRA_VERSION}`, [
    `org.apache.cassandra:cassandra-all:${CASSANDRA_VERSION}`,
  ]);
}

export async function startCassandra(): Promise<CassandraServer> {
  const lib = await cassandraLibs();
  const dir = await mkdtemp(join(tmpdir(), "bourse-cassandra-"));
  const [storagePort, nativePort] = [await freePort(), await freePort()];
  const yaml = join(dir, "cassandra.yaml");
  await writeFile(
    yaml,
    `cluster_name: bourse-test
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# batch: a write is fsynced before it is acknowledged, so a crash (the fault suite kills it) loses nothing acknowledged.
commitlog_sync: batch
data_file_directories: [${join(dir, "data")}]
commitlog_directory: ${join(dir, "commitlog")}
saved_caches_directory: ${join(dir, "saved_caches")}
hints_directory: ${join(dir, "hints")}
cdc_raw_directory: ${join(dir, "cdc_raw")}
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${storagePort}"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: ${storagePort}
native_transport_port: ${nativePort}
start_native_transport: true
# Two cores shared by every suite can stall a batch fsync for seconds: the server's own 2 s write
# timeout then fails a write the test never meant to fail (the client still sees real errors).
write_request_timeout: 20000ms
read_request_timeout: 20000ms
`,
  );
  const logback = join(dir, "logback.xml");
  await writeFile(
    logback,
    `<configuration><appender name="OUT" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %level %logger{0} %msg%n</pattern></encoder></appender><root level="INFO"><appender-ref ref="OUT"/></root></configuration>`,
  );
  const launch = (): ServerProcess =>
    startProcess(
      "java",
      [
        "-Xms768m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        ...JDK17_MODULE_FLAGS,
        "-Dcassandra-foreground=yes",
        `-Dcassandra.config=file://${yaml}`,
        `-Dcassandra.storagedir=${dir}`,
        `-Dlogback.configurationFile=${logback}`,
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=0",
        "-cp",
        `${lib}/*`,
        "org.apache.cassandra.service.CassandraDaemon",
      ],
      join(dir, "cassandra.log"),
    );
  const contactPoints = [`127.0.0.1:${nativePort}`];
  const ready = (server: ServerProcess) =>
    waitUntil(
      "Cassandra",
      async () => {
        const client = new cassandra.Client({ contactPoints, localDataCenter: "datacenter1" });
        try {
          await client.connect();
          await client.execute("SELECT release_version FROM system.local");
          return true;
        } finally {
          await client.shutdown();
        }
      },
      240_000,
      server,
    );
  let server = launch();
  await ready(server);
  return {
    contactPoints,
    localDataCenter: "datacenter1",
    dir,
    async restart() {
      server.child.kill("SIGKILL");
      await new Promise((r) => server.child.once("exit", r));
      server = launch();
      await ready(server);
    },
    stop: () => server.stop(),
  };
}
