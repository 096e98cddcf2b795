import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { Exchange } from "../src/exchange.ts";
import type { ClusterFacts } from "../src/resources.ts";
import { OPERATOR_NAMESPACE } from "./network-reach.ts";

/** The example Exchange (examples/exchange.yaml) with the defaults the API server would have applied. */
export async function example(): Promise<Exchange> {
  const ex = parse(await readFile(new URL("../../examples/exchange.yaml", import.meta.url), "utf8"));
  ex.metadata = { ...ex.metadata, namespace: "trading", uid: "u-1", generation: 4 };
  ex.spec = {
    image: { repository: "ghcr.io/bourse/bourse", tag: "1.0.0", pullPolicy: "IfNotPresent" },
    ubscore: { storage: "10Gi" },
    matching: { replicas: 1 },
    settlement: { replicas: 1 },
    ...ex.spec,
  };
  return ex;
}

/** What the operator would have found in the cluster. */
export const facts: ClusterFacts = {
  tigerbeetleClusterId: "12345",
  kafkaClusterId: "abcdefghijklmnopqrstuv",
  tigerbeetleServiceIps: ["10.0.0.7"],
  operatorNamespace: OPERATOR_NAMESPACE,
};
