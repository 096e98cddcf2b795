import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * The node's runtime comes from Debian, not from the Go module proxy: containerd (CRI), runc, the
 * CNI plugins (bridge, host-local, loopback, portmap in /usr/lib/cni), iptables and conntrack for
 * kube-proxy, buildah and debootstrap for the images, socat to reach into the node's network
 * namespace from loopback, openssl for the cluster's certificates. Missing ones are installed with
 * apt on first use (the suites run as root on a fresh machine); elsewhere the error says what to install.
 */
const run = promisify(execFile);
const PACKAGES: Record<string, string> = {
  containerd: "containerd",
  ctr: "containerd",
  runc: "runc",
  "/usr/lib/cni/bridge": "containernetworking-plugins",
  iptables: "iptables",
  conntrack: "conntrack",
  buildah: "buildah",
  debootstrap: "debootstrap",
  socat: "socat",
  openssl: "openssl",
  nsenter: "util-linux",
};

export async function requireHostPackages(): Promise<void> {
  const missing = new Set<string>();
  for (const [tool, pkg] of Object.entries(PACKAGES)) if (!(await onPath(tool))) missing.add(pkg);
  if (missing.size === 0) return;
  const list = [...missing].sort();
  if (process.getuid?.() !== 0 || !(await onPath("apt-get")))
    throw new Error(`the local cluster needs Debian packages: apt-get install ${list.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-q"], { env, maxBuffer: 64 * 1024 * 1024 });
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...list], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function onPath(tool: string): Promise<boolean> {
  const probe = tool.startsWith("/") ? ["test", "-x", tool] : ["sh", "-c", `command -v ${tool}`];
  return run(probe[0]!, probe.slice(1)).then(
    () => true,
    () => false,
  );
}
