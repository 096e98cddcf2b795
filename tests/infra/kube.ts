import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { goBinary } from "./go-build.ts";
import { freePort } from "./ports.ts";
import { type ServerProcess, startProcess, waitUntil } from "./process.ts";

/**
 * A real Kubernetes control plane without nodes, for the operator's tests: etcd and kube-apiserver
 * on loopback ports chosen by the kernel, state in a fresh temporary directory. Both are built with
 * Go from the module proxy on first use and cached (see go-build.ts). There is no kubelet and no
 * controller manager: no pods run, objects are not garbage-collected, and owned objects' status is
 * whatever a test patches in. Clients authenticate with a static token of a `system:masters` user.
 */
export const KUBERNETES_VERSION = "1.34.4";
const ETCD_VERSION = "3.6.5";
export const HELM_VERSION = "3.19.5";
const here = dirname(fileURLToPath(import.meta.url));

export interface KubeControlPlane {
  readonly url: string;
  readonly token: string;
  /** A kubeconfig file for kubectl, helm and @kubernetes/client-node (context `bourse-test`). */
  readonly kubeconfig: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export function kubeApiServerBinary(): Promise<string> {
  const [major, minor] = KUBERNETES_VERSION.split(".");
  const pkg = "k8s.io/component-base/version";
  return goBinary({
    name: `kube-apiserver-v${KUBERNETES_VERSION}`,
    moduleDir: join(here, "kube", "apiserver"),
    ldflags: `-X ${pkg}.gitVersion=v${KUBERNETES_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}`,
  });
}

export function etcdBinary(): Promise<string> {
  return goBinary({ name: `etcd-v${ETCD_VERSION}`, moduleDir: join(here, "kube", "etcd") });
}

export function helmBinary(): Promise<string> {
  return goBinary({
    name: `helm-v${HELM_VERSION}`,
    installPackage: `helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}`,
  });
}

export async function startKubeControlPlane(): Promise<KubeControlPlane> {
  const [apiserverBin, etcdBin] = [await kubeApiServerBinary(), await etcdBinary()];
  const dir = await mkdtemp(join(tmpdir(), "bourse-kube-"));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = startProcess(
    etcdBin,
    [
      "--name=test",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
  );
  const token = randomBytes(16).toString("hex");
  await writeFile(join(dir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`);
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(dir, "sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }));
  await writeFile(join(dir, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
  let apiserver: ServerProcess | undefined;
  try {
    await waitUntil("etcd", () => httpOk(`${etcdUrl}/health`), 30_000, etcd);
    apiserver = startProcess(
      apiserverBin,
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${join(dir, "certs")}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--authorization-mode=RBAC",
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${join(dir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(dir, "sa.key")}`,
        "--disable-admission-plugins=ServiceAccount",
      ],
      join(dir, "kube-apiserver.log"),
    );
    const url = `https://127.0.0.1:${apiPort}`;
    const started = apiserver;
    await waitUntil("kube-apiserver", () => httpsOk(`${url}/readyz`, token), 120_000, started);
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(url, token));
    return {
      url,
      token,
      kubeconfig,
      dir,
      async stop() {
        await started.stop();
        await etcd.stop();
      },
    };
  } catch (e) {
    await apiserver?.stop();
    await etcd.stop();
    throw e;
  }
}

export function kubeconfigYaml(url: string, token: string): string {
  // The API server's serving certificate is self-signed in its cert dir: skip verification (loopback only).
  return `apiVersion: v1
kind: Config
clusters:
  - name: bourse-test
    cluster: { server: "${url}", insecure-skip-tls-verify: true }
users:
  - name: admin
    user: { token: "${token}" }
contexts:
  - name: bourse-test
    context: { cluster: bourse-test, user: admin, namespace: default }
current-context: bourse-test
`;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  return res.ok;
}

function httpsOk(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.end();
  });
}
