import { createHash } from "node:crypto";
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { Exchange, KubeObject } from "./exchange.ts";
import { type InfrastructureEndpoints, renderExchangeConfig } from "./exchange-config.ts";
import { gateway } from "./resources/gateway.ts";
import { meta, objectName, PORTS } from "./resources/identity.ts";
import { kafka } from "./resources/kafka.ts";
import { matching } from "./resources/matching.ts";
import { networkPolicies } from "./resources/network-policies.ts";
import type { ClusterFacts, Manifest, Rendered, Workload } from "./resources/rendered.ts";
import { settlement } from "./resources/settlement.ts";
import { STORE_DATA_CENTER, store, storeReplicationFactor } from "./resources/store.ts";
import { tigerbeetle } from "./resources/tigerbeetle.ts";
import { ubscore } from "./resources/ubscore.ts";

/**
 * The pure part of reconciling: an Exchange (defaults applied) plus what only the cluster knows
 * (its generated ids, the TigerBeetle replicas' Service IPs) become every object the operator
 * owns. No I/O here, so the whole rendering is unit-tested (operator/test/golden.test.ts holds
 * it byte for byte); the reconciler server-side-applies the result and prunes what it no longer
 * contains. Each component and each system of infrastructure renders in its own file under
 * resources/; this module puts them together and is what the reconciler and status read.
 */
export {
  adminTokenSecret,
  CONFIG_HASH_ANNOTATION,
  LINK_KEYS,
  labels,
  linkKeysSecret,
  MANAGED_SELECTOR,
  objectName,
  ownedSelector,
  PORTS,
} from "./resources/identity.ts";
export type { ClusterFacts, Rendered, Tier, Workload, WorkloadKind } from "./resources/rendered.ts";
export { tigerbeetleReplicaServices } from "./resources/tigerbeetle.ts";

export function renderExchange(ex: Exchange, facts: ClusterFacts): Rendered {
  const config = renderExchangeConfig(
    ex.metadata.name,
    ex.spec,
    infrastructureEndpoints(ex, facts),
    storeReplicationFactor(ex),
  );
  const configJson = `${JSON.stringify(config, null, 2)}\n`;
  const configHash = createHash("sha256").update(configJson).digest("hex").slice(0, 16);
  const configMap: Manifest<V1ConfigMap> = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(ex, objectName(ex, "config"), "config"),
    data: { "bourse.json": configJson },
  };
  const parts: Rendered[] = [
    ...(ex.spec.tigerbeetle.external ? [] : [tigerbeetle(ex, facts)]),
    ...(ex.spec.kafka.external ? [] : [kafka(ex, facts)]),
    ...(ex.spec.store.external ? [] : [store(ex)]),
    ubscore(ex, configHash),
    matching(ex, configHash),
    gateway(ex, configHash),
    settlement(ex, configHash),
  ];
  const objects: KubeObject[] = [
    configMap,
    ...parts.flatMap((r) => r.objects),
    ...networkPolicies(ex, facts.operatorNamespace),
  ];
  const workloads: Workload[] = parts.flatMap((r) => r.workloads);
  return { objects, workloads };
}

export function infrastructureEndpoints(ex: Exchange, facts: ClusterFacts): InfrastructureEndpoints {
  const { spec } = ex;
  const ns = ex.metadata.namespace;
  return {
    tigerbeetle: spec.tigerbeetle.external ?? {
      clusterId: facts.tigerbeetleClusterId,
      addresses: facts.tigerbeetleServiceIps.map((ip) => `${ip}:${PORTS.tigerbeetle}`),
    },
    kafkaBrokers: spec.kafka.external?.bootstrapServers ?? [
      `${objectName(ex, "kafka")}.${ns}.svc:${PORTS.kafka}`,
    ],
    store: spec.store.external ?? {
      contactPoints: [`${objectName(ex, "store")}.${ns}.svc:${PORTS.cql}`],
      localDataCenter: STORE_DATA_CENTER,
    },
    ubscore: `${objectName(ex, "ubscore")}.${ns}.svc:${PORTS.transport}`,
    // Aeron status messages go back to the sender's address: the pod itself, not a Service IP.
    ubscoreAeron: `${objectName(ex, "ubscore")}-0.${objectName(ex, "ubscore")}-headless.${ns}.svc:${PORTS.aeron}`,
    settlement: `${objectName(ex, "settlement")}.${ns}.svc:${PORTS.settlement}`,
    matching: `${objectName(ex, "matching")}.${ns}.svc:${PORTS.matching}`,
    matchingAeron: `${objectName(ex, "matching")}-0.${objectName(ex, "matching")}-headless.${ns}.svc:${PORTS.matchingAeron}`,
  };
}
