import { mkdir, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { goBinary } from "../go-build.ts";
import { etcdBinary, helmBinary, KUBERNETES_VERSION, kubeApiServerBinary } from "../kube.ts";

/**
 * The Go programs a single-node cluster runs, built from the Go module proxy once and cached in
 * ~/.cache/bourse-infra/go-bin (see go-build.ts): etcd, kube-apiserver and helm are the ones the
 * operator's tests already build; the node's components (controller manager, scheduler, kubelet,
 * kube-proxy, kubectl) are one binary from one `go build` (./k8s), which reuses the apiserver's
 * compiled packages from the Go build cache; CoreDNS installs from its own module as is; the pod
 * sandbox's pause program is a few lines of Go (./k8s/pause).
 */
export const COREDNS_VERSION = "1.13.1";
const here = dirname(fileURLToPath(import.meta.url));

export interface ClusterBinaries {
  readonly etcd: string;
  readonly apiserver: string;
  /** Multi-call: `kube-node kubelet|kube-proxy|kube-scheduler|kube-controller-manager|kubectl ...`. */
  readonly node: string;
  readonly kubectl: string;
  readonly helm: string;
  readonly coredns: string;
  readonly pause: string;
}

export async function clusterBinaries(): Promise<ClusterBinaries> {
  // One at a time: each build already uses every core.
  const etcd = await etcdBinary();
  const apiserver = await kubeApiServerBinary();
  const node = await kubeNodeBinary();
  const helm = await helmBinary();
  const coredns = await goBinary({
    name: `coredns-v${COREDNS_VERSION}`,
    installPackage: `github.com/coredns/coredns@v${COREDNS_VERSION}`,
  });
  const pause = await goBinary({ name: "pause-1", moduleDir: join(here, "k8s"), mainPackage: "./pause" });
  return { etcd, apiserver, node, kubectl: await kubectlLink(node), helm, coredns, pause };
}

function kubeNodeBinary(): Promise<string> {
  const [major, minor] = KUBERNETES_VERSION.split(".");
  const pkg = "k8s.io/component-base/version";
  return goBinary({
    name: `kube-node-v${KUBERNETES_VERSION}`,
    moduleDir: join(here, "k8s"),
    ldflags: `-X ${pkg}.gitVersion=v${KUBERNETES_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}`,
  });
}

/** `kubectl` beside the multi-call binary (it dispatches on its own name), for people and helm's docs. */
async function kubectlLink(node: string): Promise<string> {
  const link = join(dirname(node), `kubectl-v${KUBERNETES_VERSION}`, "kubectl");
  await mkdir(dirname(link), { recursive: true });
  await symlink(node, link).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  return link;
}
