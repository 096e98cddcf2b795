import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../ports.ts";
import type { ClusterBinaries } from "./binaries.ts";
import { sh, succeeds } from "./exec.ts";

/**
 * A real single-node Kubernetes, every part of it inside a network namespace of its own
 * (`bourse-cluster`) and a mount namespace of its own, so nothing it does reaches the host's
 * network or mounts: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd
 * (CRI, runc, CNI bridge + host-local), the kubelet, kube-proxy (iptables) and CoreDNS.
 * - The namespace has loopback and the pods' bridge `cni0` (10.244.0.1/24, also the node's IP and
 *   the API server's address) and no other interface: no pod can reach anything off this machine,
 *   and containerd's HTTP(S)_PROXY is a closed port, so an image pull fails at once.
 * - The host reaches in only through loopback: socat relays on 127.0.0.1 whose far ends run inside
 *   the namespace (the API server for kubectl, helm and the tests, and any Service a test forwards).
 * - The kubelet's iptables chains, kube-proxy's rules and the bridge die with the network
 *   namespace; every mount (overlay roots, pod volumes) dies with the mount namespace; host-wide
 *   sysctls the kubelet sets are saved and restored, and its cgroups removed.
 * State lives in /run/bourse-cluster (pids, sockets, the saved sysctls) so `stopCluster()` cleans
 * up after any earlier run, even one that crashed; logs and volumes stay in /tmp/bourse-cluster
 * until the next start.
 */
export const NETNS = "bourse-cluster";
const RUN = "/run/bourse-cluster";
export const CLUSTER_DIR = "/tmp/bourse-cluster";
const NODE_IP = "10.244.0.1";
const POD_CIDR = "10.244.0.0/24";
const SERVICE_CIDR = "10.96.0.0/16";
const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const NODE_NAME = "bourse-node";
const STATE = join(RUN, "state.json");
const MOUNT_NS = join(RUN, "mnt");
const CONTAINERD_SOCK = join(RUN, "containerd", "containerd.sock");
/** The kubelet writes these host-wide settings; they are put back on teardown. */
const HOST_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
];
const CGROUP_ROOT = "/sys/fs/cgroup";

interface State {
  pids: Record<string, number>;
  sysctls: Record<string, string>;
  /** /run/netns entries that existed before: containerd's per-pod ones are removed after. */
  netnsBefore: string[];
  apiPort?: number;
}

export interface NodeOptions {
  readonly binaries: ClusterBinaries;
  /** containerd's persistent root (the images imported into it survive a teardown). */
  readonly containerdRoot: string;
  readonly pauseImage: string;
}

export interface RunningNode {
  /** kubeconfig for the host: the API server through a loopback relay. */
  readonly kubeconfig: string;
  readonly apiUrl: string;
  readonly containerdSocket: string;
  readonly dir: string;
}

/** What the steps of a start share: where it runs, what it has recorded, its binaries and credentials. */
interface NodeStart {
  readonly dir: string;
  readonly state: State;
  readonly binaries: ClusterBinaries;
  readonly pki: Pki;
  readonly tokens: Awaited<ReturnType<typeof tokenFile>>;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const dir = CLUSTER_DIR;
  const state = await freshNode(dir);
  const pki = await certificates(join(dir, "pki"));
  const tokens = await tokenFile(join(dir, "pki", "tokens.csv"));
  const start: NodeStart = { dir, state, binaries: options.binaries, pki, tokens };
  const { apiUrl, kubeconfig } = await startApiServer(start);
  await startControllers(start);
  await startNodeAgents(start, options);
  await startCoreDns(start, kubeconfig);
  return { kubeconfig, apiUrl, containerdSocket: CONTAINERD_SOCK, dir };
}

/**
 * Tears down whatever an earlier run left, makes the directories afresh, records the host's state,
 * makes the namespaces.
 */
async function freshNode(dir: string): Promise<State> {
  await stopCluster();
  await rm(dir, { recursive: true, force: true });
  for (const d of ["logs", "pki", "etcd", "kubelet", "pods-logs", "cni/net.d", "cni/ipam", "volumes"])
    await mkdir(join(dir, d), { recursive: true });
  await mkdir(join(RUN, "containerd"), { recursive: true });
  const state: State = {
    pids: {},
    sysctls: await hostSysctls(),
    netnsBefore: await readdir("/run/netns").catch(() => []),
  };
  await saveState(state);
  await createNamespaces(dir);
  return state;
}

/** Starts `command` inside the cluster's namespaces, logging to logs/<name>.log, its pid recorded for teardown. */
async function spawnIn(
  { dir, state }: NodeStart,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  state.pids[name] = await spawnDetached(
    join(dir, "logs", `${name}.log`),
    "nsenter",
    [`--net=/run/netns/${NETNS}`, `--mount=${MOUNT_NS}`, "--", command, ...args],
    env,
  );
  await saveState(state);
}

/** Writes a kubeconfig for a component inside the namespace, which reaches the API server at the node's address. */
function inside({ dir, pki }: NodeStart, name: string, token: string): Promise<string> {
  const path = join(dir, `${name}.kubeconfig`);
  return writeFile(path, kubeconfigYaml(`https://${NODE_IP}:6443`, pki.ca, token)).then(() => path);
}

/** etcd and the API server, reached from the host through a loopback relay; returns once it is ready. */
async function startApiServer(start: NodeStart): Promise<{ apiUrl: string; kubeconfig: string }> {
  const { dir, state, binaries: b, pki, tokens } = start;
  await spawnIn(start, "etcd", b.etcd, [
    "--name=node",
    `--data-dir=${join(dir, "etcd")}`,
    "--listen-client-urls=http://127.0.0.1:2379",
    "--advertise-client-urls=http://127.0.0.1:2379",
    "--listen-peer-urls=http://127.0.0.1:2380",
    "--initial-advertise-peer-urls=http://127.0.0.1:2380",
    "--initial-cluster=node=http://127.0.0.1:2380",
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
  await spawnIn(start, "kube-apiserver", b.apiserver, [
    "--etcd-servers=http://127.0.0.1:2379",
    // Pods reach the API server at the node's address (the bridge), not at loopback.
    `--bind-address=${NODE_IP}`,
    `--advertise-address=${NODE_IP}`,
    "--secure-port=6443",
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.ca}`,
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    "--kubelet-preferred-address-types=InternalIP",
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--allow-privileged=true",
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    `--token-auth-file=${tokens.file}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--cert-dir=${join(dir, "pki", "apiserver")}`,
    "--profiling=false",
  ]);
  const apiPort = await freePort();
  state.pids.relayApi = await relay(apiPort, NODE_IP, 6443, join(dir, "logs", "relay-api.log"));
  state.apiPort = apiPort;
  await saveState(state);
  const apiUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml(apiUrl, pki.ca, tokens.admin));
  await waitFor("kube-apiserver", join(dir, "logs", "kube-apiserver.log"), 120_000, () =>
    succeeds(b.kubectl, ["--kubeconfig", kubeconfig, "get", "--raw", "/readyz"]),
  );
  return { apiUrl, kubeconfig };
}

/** The controller manager and the scheduler. */
async function startControllers(start: NodeStart): Promise<void> {
  const { binaries: b, pki, tokens } = start;
  await spawnIn(start, "kube-controller-manager", b.node, [
    "kube-controller-manager",
    `--kubeconfig=${await inside(start, "controller-manager", tokens.controllerManager)}`,
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.ca}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    "--profiling=false",
  ]);
  await spawnIn(start, "kube-scheduler", b.node, [
    "kube-scheduler",
    `--kubeconfig=${await inside(start, "scheduler", tokens.scheduler)}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    "--profiling=false",
  ]);
}

/** containerd (with the CNI bridge), the kubelet and kube-proxy. */
async function startNodeAgents(start: NodeStart, options: NodeOptions): Promise<void> {
  const { dir, binaries: b, pki, tokens } = start;
  await writeFile(join(dir, "containerd.toml"), containerdConfig(dir, options));
  await writeFile(join(dir, "cni", "net.d", "10-bourse.conflist"), cniConfig(dir));
  // An image pull goes to a proxy at a closed port: it fails at once, whatever the image name.
  const closedPort = await freePort();
  await spawnIn(start, "containerd", "containerd", ["--config", join(dir, "containerd.toml")], {
    HTTP_PROXY: `http://127.0.0.1:${closedPort}`,
    HTTPS_PROXY: `http://127.0.0.1:${closedPort}`,
    NO_PROXY: "",
  });
  await waitFor("containerd", join(dir, "logs", "containerd.log"), 30_000, () =>
    succeeds("ctr", ["--address", CONTAINERD_SOCK, "version"]),
  );
  await spawnIn(start, "kubelet", b.node, [
    "kubelet",
    `--config=${await kubeletConfig(dir, pki.ca)}`,
    `--kubeconfig=${await inside(start, "kubelet", tokens.kubelet)}`,
    `--root-dir=${join(dir, "kubelet")}`,
    `--cert-dir=${join(dir, "pki", "kubelet")}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
  ]);
  await spawnIn(start, "kube-proxy", b.node, [
    "kube-proxy",
    `--config=${await kubeProxyConfig(dir, await inside(start, "kube-proxy", tokens.proxy))}`,
  ]);
}

/** CoreDNS, its RBAC applied through the host's kubeconfig first. */
async function startCoreDns(start: NodeStart, kubeconfig: string): Promise<void> {
  const { dir, binaries: b, tokens } = start;
  // CoreDNS may list what it serves before it starts (it would serve nothing until its watches recover).
  await sh(b.kubectl, ["--kubeconfig", kubeconfig, "apply", "-f", "-"], { input: COREDNS_RBAC });
  await writeFile(join(dir, "Corefile"), corefile(await inside(start, "coredns", tokens.coredns)));
  await spawnIn(start, "coredns", b.coredns, ["-conf", join(dir, "Corefile")]);
}

/** Relays a loopback port on the host to `host:port` inside the cluster's namespace; returns the relay's pid. */
export async function relay(localPort: number, host: string, port: number, logFile: string): Promise<number> {
  return spawnDetached(logFile, "socat", [
    `TCP-LISTEN:${localPort},bind=127.0.0.1,reuseaddr,fork`,
    `EXEC:nsenter --net=/run/netns/${NETNS} socat STDIO TCP\\:${host}\\:${port}`,
  ]);
}

/** Records a process started for the cluster (a relay) so that teardown stops it too. */
export async function adopt(name: string, pid: number): Promise<void> {
  const state = await loadState();
  if (!state) throw new Error("no cluster is running");
  state.pids[name] = pid;
  await saveState(state);
}

/**
 * Tears down whatever a previous start left, in an order that leaves nothing behind: the
 * control plane and node agents, every container (by its cgroup), containerd and its shims (by
 * their network namespace), the cgroups, the namespaces, then the host's sysctls as they were.
 */
export async function stopCluster(): Promise<void> {
  const state = await loadState();
  const errors: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    await work().catch((e: Error) => errors.push(`${what}: ${e.message}`));
  };
  if (state) {
    const order = [
      "coredns",
      "kube-proxy",
      "kubelet",
      "kube-scheduler",
      "kube-controller-manager",
      "kube-apiserver",
      "etcd",
    ];
    const rest = Object.keys(state.pids).filter((n) => !order.includes(n) && n !== "containerd");
    for (const name of [...order, ...rest]) {
      const pid = state.pids[name];
      if (pid) await attempt(name, () => terminate(pid));
    }
  }
  await attempt("containers", () => killCgroups());
  if (state?.pids.containerd) await attempt("containerd", () => terminate(state.pids.containerd!));
  await attempt("namespace processes", () => killNamespaceProcesses());
  await attempt("relays", () => killRelays());
  await attempt("cgroups", () => removeCgroups());
  await attempt("mount namespace", async () => {
    await succeeds("umount", [MOUNT_NS]);
    await succeeds("umount", [RUN]);
  });
  await attempt("network namespace", async () => {
    if ((await readdir("/run/netns").catch(() => [] as string[])).includes(NETNS))
      await sh("ip", ["netns", "delete", NETNS]);
  });
  if (state) {
    await attempt("pod network namespaces", async () => {
      for (const name of await readdir("/run/netns").catch(() => [] as string[]))
        if (name.startsWith("cni-") && !state.netnsBefore.includes(name)) {
          await succeeds("umount", [join("/run/netns", name)]);
          await rm(join("/run/netns", name), { force: true });
        }
    });
    await attempt("sysctls", () => restoreSysctls(state.sysctls));
  }
  await rm(RUN, { recursive: true, force: true });
  if (errors.length > 0) throw new Error(`cluster teardown incomplete:\n${errors.join("\n")}`);
}

/** What a teardown must not leave: every trace of the cluster still on the host (none when clean). */
export async function clusterLeftovers(): Promise<string[]> {
  const found: string[] = [];
  if ((await readdir("/run/netns").catch(() => [] as string[])).includes(NETNS))
    found.push(`network namespace ${NETNS}`);
  if (
    await readdir(RUN).then(
      () => true,
      () => false,
    )
  )
    found.push(RUN);
  for (const cg of await kubepodsCgroups()) found.push(`cgroup ${cg}`);
  for (const line of (await readFile("/proc/mounts", "utf8")).split("\n"))
    if (line.includes(CLUSTER_DIR) || line.includes(RUN)) found.push(`mount ${line}`);
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(CLUSTER_DIR) || cmdline.includes(`/run/netns/${NETNS}`) || cmdline.includes(RUN))
      found.push(`process ${pid}: ${cmdline.replaceAll("\0", " ").slice(0, 120)}`);
  }
  return found;
}

/** The host-wide sysctls the kubelet changes, as they are now. */
export async function hostSysctls(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const key of HOST_SYSCTLS) {
    const value = await readFile(join("/proc/sys", key), "utf8").catch(() => undefined);
    if (value !== undefined) values[key] = value.trim();
  }
  return values;
}

// ---- namespaces ----

async function createNamespaces(dir: string): Promise<void> {
  await sh("ip", ["netns", "add", NETNS]);
  const ipn = (...args: string[]) => sh("ip", ["-n", NETNS, ...args]);
  await ipn("link", "set", "lo", "up");
  // The bridge exists before the API server binds its address (the CNI bridge plugin reuses it).
  await ipn("link", "add", "cni0", "type", "bridge");
  await ipn("addr", "add", `${NODE_IP}/24`, "dev", "cni0");
  await ipn("link", "set", "cni0", "up");
  // Connections from the namespace itself (the relays) to Service IPs need a route before
  // kube-proxy's OUTPUT rules rewrite them: the bridge, which is all there is.
  await ipn("route", "add", SERVICE_CIDR, "dev", "cni0");
  await sh("ip", ["netns", "exec", NETNS, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  // A mount namespace kept by a bind mount of its handle (which needs a private parent mount).
  await sh("mount", ["--bind", RUN, RUN]);
  await sh("mount", ["--make-private", RUN]);
  await writeFile(MOUNT_NS, "");
  await sh("unshare", [`--mount=${MOUNT_NS}`, "--propagation", "private", "true"]);
  // The kubelet's directory must propagate mounts to the containers (mount propagation rshared).
  const kubelet = join(dir, "kubelet");
  await sh("nsenter", [
    `--mount=${MOUNT_NS}`,
    "--",
    "sh",
    "-c",
    `mount --bind ${kubelet} ${kubelet} && mount --make-rshared ${kubelet}`,
  ]);
}

async function killNamespaceProcesses(): Promise<void> {
  if (!(await readdir("/run/netns").catch(() => [] as string[])).includes(NETNS)) return;
  for (const signal of ["TERM", "KILL"]) {
    const pids = (await sh("ip", ["netns", "pids", NETNS])).split("\n").filter(Boolean);
    if (pids.length === 0) return;
    await succeeds("kill", [`-${signal}`, ...pids]);
    await sleep(1000);
  }
}

/**
 * The host's relays into the namespace (relay() below) that the state does not name: those of a
 * run that crashed before adopting them. Each names this cluster's namespace in its command line.
 */
async function killRelays(): Promise<void> {
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.startsWith("socat\0") && cmdline.includes(`EXEC:nsenter --net=/run/netns/${NETNS} `))
      await terminate(Number(pid));
  }
}

// ---- cgroups (the kubelet's cgroupfs driver: /sys/fs/cgroup/<controller>/kubepods...) ----

async function kubepodsCgroups(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
    if (!entries) return;
    for (const entry of entries) if (entry.isDirectory()) await walk(join(path, entry.name));
    found.push(path);
  };
  for (const controller of await readdir(CGROUP_ROOT).catch(() => [] as string[]))
    await walk(join(CGROUP_ROOT, controller, "kubepods"));
  return found;
}

async function killCgroups(): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const pids = new Set<string>();
    for (const cg of await kubepodsCgroups())
      for (const pid of (await readFile(join(cg, "cgroup.procs"), "utf8").catch(() => "")).split("\n"))
        if (pid) pids.add(pid);
    if (pids.size === 0) return;
    await succeeds("kill", ["-KILL", ...pids]);
    await sleep(500);
  }
}

async function removeCgroups(): Promise<void> {
  // Deepest first (kubepodsCgroups lists children before their parent).
  for (const cg of await kubepodsCgroups()) await rmdir(cg).catch(() => undefined);
  const left = await kubepodsCgroups();
  if (left.length > 0) throw new Error(`cgroups left: ${left.slice(0, 5).join(", ")}`);
}

// ---- sysctls ----

async function restoreSysctls(values: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    const now = (await readFile(join("/proc/sys", key), "utf8")).trim();
    if (now !== value) await writeFile(join("/proc/sys", key), value);
  }
}

// ---- processes ----

async function spawnDetached(
  logFile: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<number> {
  const log = await open(logFile, "a");
  const child: ChildProcess = spawn(command, args, {
    stdio: ["ignore", log.fd, log.fd],
    detached: true,
    env: { ...process.env, ...env },
  });
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${command} did not start`);
  child.unref();
  return pid;
}

async function terminate(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

async function waitFor(
  what: string,
  logFile: string,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await sleep(250);
  }
  const tail = (await readFile(logFile, "utf8").catch(() => "")).split("\n").slice(-20).join("\n");
  throw new Error(`${what} was not ready after ${timeoutMs} ms; ${logFile} ends with:\n${tail}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loadState(): Promise<State | undefined> {
  return JSON.parse(await readFile(STATE, "utf8").catch(() => "null")) ?? undefined;
}

async function saveState(state: State): Promise<void> {
  await writeFile(STATE, JSON.stringify(state, null, 2));
}

// ---- identities ----

interface Pki {
  ca: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  saKey: string;
  saPub: string;
}

/** A CA of the cluster's own (openssl), the API server's serving certificate, its kubelet client certificate. */
async function certificates(pki: string): Promise<Pki> {
  const p = (name: string) => join(pki, name);
  const days = "30";
  await sh("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    days,
    "-subj",
    "/CN=bourse-cluster-ca",
  ]);
  const issue = async (name: string, subject: string, extensions: string) => {
    await sh("openssl", [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
      "-subj",
      subject,
    ]);
    await writeFile(p(`${name}.ext`), extensions);
    await sh("openssl", [
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      days,
      "-out",
      p(`${name}.crt`),
      "-extfile",
      p(`${name}.ext`),
    ]);
  };
  const names = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ];
  await issue(
    "apiserver",
    "/CN=kube-apiserver",
    `subjectAltName=${[...names.map((n) => `DNS:${n}`), `IP:${NODE_IP}`, `IP:${KUBERNETES_SERVICE_IP}`, "IP:127.0.0.1"].join(",")}\nextendedKeyUsage=serverAuth\n`,
  );
  // The API server calls kubelets (logs, exec) as a member of system:masters.
  await issue(
    "kubelet-client",
    "/O=system:masters/CN=kube-apiserver-kubelet-client",
    "extendedKeyUsage=clientAuth\n",
  );
  await sh("openssl", [
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    p("sa.key"),
  ]);
  await sh("openssl", ["pkey", "-in", p("sa.key"), "-pubout", "-out", p("sa.pub")]);
  return {
    ca: p("ca.crt"),
    apiserverCert: p("apiserver.crt"),
    apiserverKey: p("apiserver.key"),
    kubeletClientCert: p("kubelet-client.crt"),
    kubeletClientKey: p("kubelet-client.key"),
    saKey: p("sa.key"),
    saPub: p("sa.pub"),
  };
}

/** Static bearer tokens, one per identity, each with the user and groups Kubernetes' default RBAC expects. */
async function tokenFile(file: string) {
  const t = () => randomBytes(24).toString("hex");
  const tokens = {
    admin: t(),
    controllerManager: t(),
    scheduler: t(),
    kubelet: t(),
    proxy: t(),
    coredns: t(),
  };
  await writeFile(
    file,
    [
      `${tokens.admin},admin,admin,"system:masters"`,
      `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
      `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
      `${tokens.kubelet},system:node:${NODE_NAME},system:node:${NODE_NAME},"system:nodes"`,
      `${tokens.proxy},system:kube-proxy,system:kube-proxy`,
      `${tokens.coredns},system:coredns,system:coredns`,
      "",
    ].join("\n"),
  );
  return { file, ...tokens };
}

function kubeconfigYaml(server: string, ca: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: bourse
    cluster: { server: "${server}", certificate-authority: "${ca}" }
users:
  - name: user
    user: { token: "${token}" }
contexts:
  - name: bourse
    context: { cluster: bourse, user: user, namespace: default }
current-context: bourse
`;
}

// ---- node configuration ----

function containerdConfig(dir: string, options: NodeOptions): string {
  return `version = 2
root = "${options.containerdRoot}"
state = "${join(RUN, "containerd", "state")}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${CONTAINERD_SOCK}"
[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, "containerd-opt")}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.pauseImage}"
  # runc cannot lower oom_score_adj without CAP_SYS_RESOURCE, which root lacks here.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${join(dir, "cni", "net.d")}"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "bourse",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: join(dir, "cni", "ipam"),
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

async function kubeletConfig(dir: string, ca: string): Promise<string> {
  const path = join(dir, "kubelet.yaml");
  await writeFile(
    path,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: ${NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "${ca}" }
authorization: { mode: Webhook }
clusterDomain: cluster.local
# CoreDNS runs in the node's namespace on the bridge address; pods get no resolv.conf of the host.
clusterDNS: ["${NODE_IP}"]
resolvConf: ""
podLogsDir: ${join(dir, "pods-logs")}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: { memory.available: "100Mi" }
`,
  );
  return path;
}

async function kubeProxyConfig(dir: string, kubeconfig: string): Promise<string> {
  const path = join(dir, "kube-proxy.yaml");
  await writeFile(
    path,
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: "${kubeconfig}" }
hostnameOverride: ${NODE_NAME}
clusterCIDR: ${POD_CIDR}
bindAddress: ${NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# conntrack limits are host-wide: left as they are.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
`,
  );
  return path;
}

/** CoreDNS serves cluster.local only: no forward plugin, so nothing outside is ever resolved. */
function corefile(kubeconfig: string): string {
  return `.:53 {
    bind ${NODE_IP}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} bourse
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`;
}

/** What CoreDNS may read (its kubeconfig's user, system:coredns). */
const COREDNS_RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns" }]
`;
