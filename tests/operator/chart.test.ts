import { execFile } from "node:child_process";
import { appendFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Exchange } from "../../operator/src/index.ts";
import { KubeClient, type RunningOperator, runOperator } from "../../operator/src/index.ts";
import { helmBinary, KUBERNETES_VERSION, type KubeControlPlane } from "../infra/kube.ts";
import { type Kubectl, startKubeApi } from "../support/kube-api.ts";

/**
 * The Helm chart: lint and template pass, the rendered manifests are accepted by a real API server
 * (server-side dry run), and an install's RBAC is enough for the operator: it runs with the chart's
 * ServiceAccount token (nothing more) and reconciles the example Exchange.
 */
const run = promisify(execFile);
const CHART = "charts/bourse-operator";
const NS = "bourse-system";
let cp: KubeControlPlane;
let helm: string;
let kubectl: Kubectl;
let operator: RunningOperator | undefined;

/** lint and template take the target version; install asks the API server itself. */
const helmRun = async (...args: string[]) => {
  const offline = args[0] === "lint" || args[0] === "template";
  const flags = offline ? ["--kube-version", KUBERNETES_VERSION] : [];
  return (await run(helm, [...args, ...flags], { env: { ...process.env, KUBECONFIG: cp.kubeconfig } }))
    .stdout;
};

beforeAll(async () => {
  [{ cp, kubectl }, helm] = await Promise.all([startKubeApi(), helmBinary()]);
  await kubectl("create", "namespace", NS);
}, 1_800_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe("the bourse-operator Helm chart", () => {
  it("passes helm lint --strict, for the defaults and a namespaced install", async () => {
    expect(await helmRun("lint", "--strict", CHART)).toContain("0 chart(s) failed");
    expect(await helmRun("lint", "--strict", CHART, "--set", "watchNamespace=trading")).toContain(
      "0 chart(s) failed",
    );
  });

  it("rejects values outside its schema", async () => {
    await expect(helmRun("template", "x", CHART, "--set", "replicaCount=-1")).rejects.toThrow(/replicaCount/);
    await expect(helmRun("template", "x", CHART, "--set", "image.pullPolicy=Sometimes")).rejects.toThrow(
      /pullPolicy/,
    );
  });

  it("renders manifests the API server accepts (server-side dry run)", async () => {
    const manifests = await helmRun("template", "bourse", CHART, "--namespace", NS, "--include-crds");
    const file = join(cp.dir, "chart.yaml");
    await writeFile(file, manifests);
    const out = await kubectl("apply", "--server-side", "--dry-run=server", "-f", file);
    for (const kind of [
      "customresourcedefinition",
      "deployment",
      "clusterrole",
      "role",
      "serviceaccount",
      "service",
    ]) {
      expect(out).toMatch(new RegExp(`^${kind}[^\\n]* serverside-applied \\(server dry run\\)`, "m"));
    }
  });

  it("installs, and its RBAC is all the operator needs to reconcile an Exchange", async () => {
    await helmRun("install", "bourse-operator", CHART, "--namespace", NS, "--wait=false");
    await kubectl("wait", "--for=condition=Established", "crd/exchanges.bourse.dev", "--timeout=60s");
    const token = (await kubectl("create", "token", "bourse-operator", "-n", NS, "--duration=1h")).trim();
    const kubeconfig = join(cp.dir, "operator-sa.kubeconfig");
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${cp.url}", insecure-skip-tls-verify: true } }]
users: [{ name: operator, user: { token: "${token}" } }]
contexts: [{ name: c, context: { cluster: c, user: operator } }]
current-context: c
`,
    );
    operator = await runOperator({
      kubeconfig,
      leaseNamespace: NS,
      healthHost: "127.0.0.1",
      healthPort: 0,
      log: (msg) => appendFileSync(join(cp.dir, "operator.log"), `${msg}\n`),
    });
    await kubectl("apply", "-f", "examples/exchange.yaml");
    const config = new KubeConfig();
    config.loadFromFile(cp.kubeconfig);
    const kube = new KubeClient(config);
    const deadline = Date.now() + 30_000;
    let ex: Exchange | undefined;
    while (Date.now() < deadline) {
      ex = await kube.get<Exchange>("/apis/bourse.dev/v1alpha1/namespaces/default/exchanges/demo");
      if (ex.status?.phase === "Provisioning") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ex?.status?.phase).toBe("Provisioning");
    expect(ex?.status?.conditions?.find((c) => c.type === "Degraded")?.status).toBe("False");
    expect(await kubectl("get", "statefulsets", "-n", "default", "-o", "name")).toContain(
      "statefulset.apps/demo-ubscore",
    );
    const lease = await kubectl(
      "get",
      "lease",
      "bourse-operator",
      "-n",
      NS,
      "-o",
      "jsonpath={.spec.holderIdentity}",
    );
    expect(lease.length).toBeGreaterThan(0);
  });
});
