import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { LocalCluster } from "./cluster.ts";
import { REPO_ROOT } from "./images.ts";

/**
 * The operator and an Exchange on the local cluster, as the e2e and `npm run cluster:up` set them
 * up: the chart installed with the Bourse image built here, and the example Exchange as written
 * but for its images (the ones built here: nothing is published) and its store engine (Cassandra:
 * ScyllaDB cannot run on these machines).
 */
export const OPERATOR_NAMESPACE = "bourse-system";

export async function installOperator(cluster: LocalCluster): Promise<void> {
  const { repository, tag } = cluster.images.bourse;
  await cluster.helm([
    "install",
    "bourse-operator",
    join(REPO_ROOT, "charts", "bourse-operator"),
    `--namespace=${OPERATOR_NAMESPACE}`,
    "--create-namespace",
    `--set=image.repository=${repository}`,
    `--set=image.tag=${tag}`,
    "--wait",
    "--timeout=5m",
  ]);
}

export async function localExchange(cluster: LocalCluster): Promise<string> {
  const exchange = parse(await readFile(join(REPO_ROOT, "examples", "exchange.yaml"), "utf8"));
  exchange.spec.image = { ...cluster.images.bourse, pullPolicy: "IfNotPresent" };
  exchange.spec.store = { engine: "cassandra", nodes: 1, storage: "5Gi" };
  return stringify(exchange);
}

/** The operator API's bearer token of Exchange `name`. */
export async function adminToken(cluster: LocalCluster, name: string): Promise<string> {
  const encoded = await cluster.kubectl([
    "get",
    "secret",
    `${name}-admin-token`,
    "-o",
    "jsonpath={.data.token}",
  ]);
  return Buffer.from(encoded, "base64").toString("utf8");
}
