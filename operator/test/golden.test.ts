import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { Exchange } from "../src/exchange.ts";
import { type ClusterFacts, renderExchange } from "../src/resources.ts";
import { example, facts } from "./example.ts";

/**
 * Rendering regression: representative Exchanges rendered to JSON and compared byte for byte with
 * the files under golden/ (key order included: the files are read back and serialized the same
 * way, so only biome's layout of them is free). A change to what the operator renders shows here
 * as a diff to review; when it is meant, `BOURSE_UPDATE_GOLDEN=1 npx vitest run
 * operator/test/golden.test.ts` rewrites them, then `npx biome format --write operator/test/golden`.
 */
const threeReplicas: ClusterFacts = { ...facts, tigerbeetleServiceIps: ["10.0.0.7", "10.0.0.8", "10.0.0.9"] };

const CASES: Record<string, { facts: ClusterFacts; change: (ex: Exchange) => void }> = {
  // examples/exchange.yaml: tcp, ScyllaDB in developer mode, Retain, one of each, 2 gateways.
  example: { facts, change: () => {} },
  // What the local cluster e2e runs: Cassandra as the store.
  "tcp-cassandra": {
    facts,
    change: (ex) => {
      ex.spec.store = { engine: "cassandra", nodes: 1, storage: "5Gi" };
    },
  },
  // Quorums of three, Aeron, Delete, 3 gateways, a storage class and a smaller term.
  "aeron-cassandra-delete-3": {
    facts: threeReplicas,
    change: (ex) => {
      Object.assign(ex.spec, {
        transport: "aeron",
        aeron: { termLength: "1Mi" },
        volumeRetention: "Delete",
        storageClassName: "fast",
        gateway: { replicas: 3 },
        tigerbeetle: { replicas: 3, storage: "2Gi" },
        kafka: { brokers: 3, storage: "5Gi" },
        store: { engine: "cassandra", nodes: 3 },
      });
    },
  },
  // ScyllaDB out of developer mode on three nodes, Aeron at the default term, Retain.
  "aeron-scylla-3": {
    facts: threeReplicas,
    change: (ex) => {
      Object.assign(ex.spec, {
        transport: "aeron",
        tigerbeetle: { replicas: 3 },
        kafka: { brokers: 3 },
        store: { engine: "scylla", nodes: 3, developerMode: false },
      });
    },
  },
  // Every system external, matching and settlement paused, images and resources overridden.
  "external-paused-overrides": {
    facts: { ...facts, tigerbeetleServiceIps: [] },
    change: (ex) => {
      const resources = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "1Gi" } };
      Object.assign(ex.spec, {
        gateway: { replicas: 3, resources },
        ubscore: { storage: "20Gi", resources },
        matching: { replicas: 0, resources },
        settlement: { replicas: 0, resources },
        tigerbeetle: { replicas: 3, external: { clusterId: "9", addresses: ["10.1.1.1:3001"] } },
        kafka: { brokers: 1, external: { bootstrapServers: ["k:9092"] } },
        store: {
          engine: "cassandra",
          nodes: 1,
          external: { contactPoints: ["s:9042"], localDataCenter: "dc2" },
        },
      });
    },
  },
  // Only the infrastructure images and resources overridden, provisioned as usual.
  "infrastructure-overrides": {
    facts,
    change: (ex) => {
      const resources = { requests: { cpu: "2", memory: "8Gi" }, limits: { memory: "8Gi" } };
      Object.assign(ex.spec, {
        tigerbeetle: { replicas: 1, image: "mirror/tigerbeetle:1", resources },
        kafka: { brokers: 1, image: "mirror/kafka:1", resources },
        store: { engine: "scylla", nodes: 1, image: "mirror/scylla:1", resources },
      });
    },
  },
};

const golden = (name: string) => new URL(`./golden/${name}.json`, import.meta.url);

describe("rendered manifests (golden files)", () => {
  for (const [name, { facts, change }] of Object.entries(CASES)) {
    it(`${name} renders as golden/${name}.json`, async () => {
      const ex = await example();
      change(ex);
      const rendered = `${JSON.stringify(renderExchange(ex, facts), null, 2)}\n`;
      if (process.env.BOURSE_UPDATE_GOLDEN === "1") await writeFile(golden(name), rendered);
      const expected = JSON.parse(await readFile(golden(name), "utf8"));
      expect(rendered).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    });
  }
});
