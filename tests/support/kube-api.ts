import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../operator/src/index.ts";
import { type KubeControlPlane, startKubeControlPlane } from "../infra/kube.ts";
import { until } from "./until.ts";

/**
 * The operator suites' fixture: a real kube-apiserver + etcd (tests/infra/kube.ts), the
 * operator's client of it and kubectl against it; with `crd`, the Exchange CRD applied and
 * Established.
 */
const run = promisify(execFile);

export type Kubectl = (...args: string[]) => Promise<string>;

export interface KubeApi {
  readonly cp: KubeControlPlane;
  readonly kube: KubeClient;
  /** kubectl against this API server: its stdout. */
  readonly kubectl: Kubectl;
  /** kubectl with `input` on its stdin; fails with kubectl's stderr as `stderr`. */
  readonly kubectlWithInput: (args: string[], input: string) => Promise<void>;
  /** The stderr of a kubectl command the API server refuses; fails if it is accepted. */
  readonly kubectlRefusal: (args: string[], input: string) => Promise<string>;
}

export async function startKubeApi(options: { crd?: boolean } = {}): Promise<KubeApi> {
  const cp = await startKubeControlPlane();
  const config = new KubeConfig();
  config.loadFromFile(cp.kubeconfig);
  const flags = ["--kubeconfig", cp.kubeconfig];
  const kubectl: Kubectl = async (...args) => (await run("kubectl", [...flags, ...args])).stdout;
  const kubectlWithInput = (args: string[], input: string) =>
    new Promise<void>((resolve, reject) => {
      const child = execFile("kubectl", [...flags, ...args], (e, _out, stderr) =>
        e ? reject(Object.assign(e, { stderr })) : resolve(),
      );
      child.stdin?.end(input);
    });
  const kubectlRefusal = async (args: string[], input: string) => {
    try {
      await kubectlWithInput(args, input);
    } catch (e) {
      return (e as { stderr: string }).stderr;
    }
    throw new Error(`kubectl ${args.join(" ")} succeeded but should have been rejected`);
  };
  if (options.crd) {
    await kubectl("apply", "--server-side", "-f", "crds/exchanges.bourse.dev.yaml");
    await kubectl("wait", "--for=condition=Established", "crd/exchanges.bourse.dev", "--timeout=60s");
  }
  return { cp, kube: new KubeClient(config), kubectl, kubectlWithInput, kubectlRefusal };
}

/**
 * `until` at the operator's pace. Generous: on a CI machine running the fault and soak suites
 * beside these, a reconcile (tens of API calls against an etcd that fsyncs on the same disk) has
 * taken long enough for two of them in a row to pass 30 s.
 */
export function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
): Promise<T> {
  return until(probe, what, { timeoutMs, everyMs: 200, retryErrors: true });
}
