import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CACHE } from "../maven.ts";
import { freePort } from "../ports.ts";
import { type ClusterBinaries, clusterBinaries } from "./binaries.ts";
import { requireHostPackages } from "./debian.ts";
import { sh } from "./exec.ts";
import { buildClusterImages, type ClusterImages } from "./images.ts";
import { adopt, NODE_NAME, relay, startNode, stopCluster } from "./node.ts";

/**
 * A real single-node Kubernetes for the suites and for people (`npm run cluster:up` / `down`):
 * the Debian packages it needs, the Go binaries and the images (all built once and cached), the
 * node (node.ts), the images imported into its containerd, CoreDNS's permissions and a pool of
 * hostPath PersistentVolumes so that claims without a storage class bind. Every step is timed.
 */
const CONTAINERD_ROOT = join(CACHE, "cluster", "containerd");
/** What each image's ID was when imported into the containerd root above. */
const IMPORTED = join(CACHE, "cluster", "containerd-imported.json");
const VOLUMES = 16;
const VOLUME_SIZE = "20Gi";

export interface LocalCluster {
  readonly kubeconfig: string;
  readonly apiUrl: string;
  readonly dir: string;
  readonly images: ClusterImages;
  readonly binaries: ClusterBinaries;
  /** Milliseconds per step of the start, in order. */
  readonly timings: ReadonlyArray<readonly [string, number]>;
  kubectl(args: readonly string[], input?: string): Promise<string>;
  helm(args: readonly string[]): Promise<string>;
  /** Each pod's memory working set in bytes (`namespace/name`), as the kubelet measures it. */
  podMemory(): Promise<Record<string, number>>;
  /** A loopback URL on the host that reaches a Service's port inside the cluster. */
  forward(namespace: string, service: string, port: number): Promise<string>;
  /** Another name for an image in the node's containerd (a new release of the same bits, as a rollout sees it). */
  tagImage(source: string, target: string): Promise<void>;
  stop(): Promise<void>;
}

export type Progress = (line: string) => void;

export async function startLocalCluster(progress: Progress = () => {}): Promise<LocalCluster> {
  const timings: [string, number][] = [];
  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await work();
    timings.push([what, Date.now() - started]);
    progress(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };
  await timed("host packages", requireHostPackages);
  const binaries = await timed("binaries", clusterBinaries);
  const images = await timed("images", () =>
    buildClusterImages(binaries.pause, (what, ms, built) =>
      progress(`  ${what}: ${built ? "built" : "cached"} (${(ms / 1000).toFixed(1)} s)`),
    ),
  );
  await mkdir(CONTAINERD_ROOT, { recursive: true });
  // Whatever fails after the first process starts, nothing is left running.
  const node = await timed("node up", () =>
    startNode({ binaries, containerdRoot: CONTAINERD_ROOT, pauseImage: images.pause }),
  ).catch(async (e) => {
    await stopCluster();
    throw e;
  });
  const kubectl = (args: readonly string[], input?: string) =>
    run(binaries.kubectl, ["--kubeconfig", node.kubeconfig, ...args], input);
  try {
    await timed("images imported", () => importImages(images.all, node.containerdSocket));
    await timed("node ready", async () => {
      await waitForNode(kubectl);
      await kubectl(["apply", "-f", "-"], await volumePool(node.dir));
    });
  } catch (e) {
    await stopCluster();
    throw e;
  }
  return {
    kubeconfig: node.kubeconfig,
    apiUrl: node.apiUrl,
    dir: node.dir,
    images,
    binaries,
    timings,
    kubectl,
    helm: (args) => run(binaries.helm, ["--kubeconfig", node.kubeconfig, ...args]),
    async forward(namespace, service, port) {
      const ip = (
        await kubectl(["-n", namespace, "get", "service", service, "-o", "jsonpath={.spec.clusterIP}"])
      ).trim();
      const local = await freePort();
      const pid = await relay(local, ip, port, join(node.dir, "logs", `relay-${service}-${port}.log`));
      // One name per relay: a Service forwarded again (made again: a new IP) keeps the first too.
      await adopt(`relay-${namespace}-${service}-${port}-${local}`, pid);
      return `http://127.0.0.1:${local}`;
    },
    async tagImage(source, target) {
      await sh("ctr", [
        "--address",
        node.containerdSocket,
        "-n",
        "k8s.io",
        "images",
        "tag",
        "--force",
        source,
        target,
      ]);
    },
    async podMemory() {
      const pods = await kubectl([
        "get",
        "pods",
        "-A",
        "-o",
        'jsonpath={range .items[*]}{.metadata.uid} {.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
      ]);
      const names = new Map(
        pods
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(" ") as [string, string]),
      );
      const usage: Record<string, number> = {};
      for (const [uid, bytes] of await podCgroupMemory()) {
        const name = names.get(uid);
        if (name) usage[name] = bytes;
      }
      return usage;
    },
    stop: stopCluster,
  };
}

/**
 * Working set per pod UID from the kubelet's cgroups (cgroupfs driver, v1 or v2): usage less
 * inactive file cache, the figure the kubelet evicts on.
 */
async function podCgroupMemory(): Promise<[string, number][]> {
  const v1 = "/sys/fs/cgroup/memory/kubepods";
  const root = await readdir(v1).then(
    () => v1,
    () => "/sys/fs/cgroup/kubepods",
  );
  const found: [string, number][] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (!entry.name.startsWith("pod")) {
        await walk(path);
        continue;
      }
      const usage = await readFile(
        join(path, root === v1 ? "memory.usage_in_bytes" : "memory.current"),
        "utf8",
      );
      const stat = await readFile(join(path, "memory.stat"), "utf8");
      const inactive =
        stat.match(root === v1 ? /^total_inactive_file (\d+)$/m : /^inactive_file (\d+)$/m)?.[1] ?? "0";
      found.push([entry.name.slice(3).replaceAll("_", "-"), Number(usage) - Number(inactive)]);
    }
  };
  await walk(root);
  return found;
}

async function waitForNode(kubectl: LocalCluster["kubectl"]): Promise<void> {
  // The node object appears once the kubelet registers; `kubectl wait` needs it to exist.
  for (let i = 0; i < 120; i++) {
    if (
      await kubectl(["get", "node", NODE_NAME]).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await kubectl(["wait", "--for=condition=Ready", `node/${NODE_NAME}`, "--timeout=120s"]);
}

/**
 * Each image goes into containerd (`ctr import` of a docker archive from `buildah push`) unless
 * the persistent containerd root already holds that build of it.
 */
async function importImages(refs: readonly string[], socket: string): Promise<void> {
  const imported = JSON.parse(await readFile(IMPORTED, "utf8").catch(() => "{}")) as Record<string, string>;
  const present = new Set(
    (await sh("ctr", ["--address", socket, "-n", "k8s.io", "images", "ls", "-q"])).split("\n"),
  );
  const archives = join(CACHE, "cluster", "archives");
  await mkdir(archives, { recursive: true });
  // Builds tagged per build (bourse.local/...) that are no longer current go, as in buildah's store.
  for (const old of present)
    if (old.startsWith("bourse.local/") && !refs.includes(old))
      await sh("ctr", ["--address", socket, "-n", "k8s.io", "images", "rm", old]);
  for (const ref of refs) {
    const id = (
      await sh("buildah", ["inspect", "--type", "image", "--format", "{{.FromImageID}}", ref])
    ).trim();
    if (present.has(ref) && imported[ref] === id) continue;
    const archive = join(archives, `${ref.replace(/[^A-Za-z0-9.-]/g, "_")}.tar`);
    await sh("rm", ["-f", archive]);
    await sh("buildah", ["push", "--quiet", ref, `docker-archive:${archive}:${ref}`]);
    await sh("ctr", ["--address", socket, "-n", "k8s.io", "images", "import", archive]);
    await sh("rm", ["-f", archive]);
    imported[ref] = id;
    await writeFile(IMPORTED, JSON.stringify(imported, null, 2));
  }
}

/**
 * hostPath PersistentVolumes without a storage class: a claim without one (the operator's
 * volumeClaimTemplates) binds to any of them. World-writable, as pods run under several UIDs
 * (10001, Kafka's 1000, root) and hostPath volumes ignore fsGroup.
 */
async function volumePool(dir: string): Promise<string> {
  const docs: string[] = [];
  for (let i = 0; i < VOLUMES; i++) {
    const path = join(dir, "volumes", `pv-${i}`);
    await mkdir(path, { recursive: true });
    await chmod(path, 0o777);
    docs.push(`apiVersion: v1
kind: PersistentVolume
metadata: { name: local-${i} }
spec:
  capacity: { storage: ${VOLUME_SIZE} }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: { path: "${path}", type: Directory }
`);
  }
  return docs.join("---\n");
}

function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return sh(command, args, { input });
}
