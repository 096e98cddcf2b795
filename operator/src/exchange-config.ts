import type { BourseConfig } from "../../components/config/src/index.ts";
import { validateConfig } from "../../components/config/src/index.ts";
import type { MarketSpec } from "../../components/domain/src/index.ts";
import { METRICS_PORT } from "./observability.ts";

/**
 * The pure heart of the operator's ConfigMap: an Exchange resource's spec plus the addresses of
 * the infrastructure it runs on become the one Bourse configuration every component pod reads.
 * The result goes through the same schema as `bourse` itself, so an Exchange the API server
 * accepted but Bourse would not (say, a tick size finer than its asset) is caught here, with the
 * same message, before any pod starts.
 */
export interface ExchangeSpec {
  /** The hot path (gateways -> UBSCore -> matching): TCP, or Aeron UDP through each pod's media-driver sidecar. */
  readonly transport?: "tcp" | "aeron";
  readonly assets: readonly { readonly symbol: string; readonly decimals: number }[];
  readonly markets: readonly (Omit<MarketSpec, "makerFeePpm" | "takerFeePpm"> & {
    readonly makerFeePpm?: number;
    readonly takerFeePpm?: number;
  })[];
}

/** Where the infrastructure is: provisioned by the operator or named in spec.*.external. */
export interface InfrastructureEndpoints {
  readonly tigerbeetle: { readonly clusterId: string; readonly addresses: readonly string[] };
  readonly kafkaBrokers: readonly string[];
  readonly store: { readonly contactPoints: readonly string[]; readonly localDataCenter: string };
  /** Where gateways reach UBSCore (its Service, on the transport port). */
  readonly ubscore: string;
  /** UBSCore's pod and Aeron UDP port (transport: aeron). */
  readonly ubscoreAeron: string;
  /** Where UBSCore reaches `bourse settlement` (its Service, on the settlement port). */
  readonly settlement: string;
  /** Where UBSCore reaches `bourse matching` (its Service, on the matching port). */
  readonly matching: string;
  /** Matching's pod and Aeron UDP port (transport: aeron). */
  readonly matchingAeron: string;
}

/** Fees the CRD defaults when a market leaves them out (the API server applies the same). */
const DEFAULT_FEE_PPM = 1000;

/** A server listens on every interface of its pod, on the port its Service address names. */
function listenOn(address: string): string {
  return `0.0.0.0:${address.split(":").pop()}`;
}

export function renderExchangeConfig(
  name: string,
  spec: ExchangeSpec,
  infra: InfrastructureEndpoints,
  /** Copies of each row of the keyspace the components create (spec.store's nodes). */
  storeReplicationFactor = 1,
): BourseConfig {
  return validateConfig(
    {
      dataDir: "/var/lib/bourse",
      demo: false,
      exchange: {
        assets: spec.assets.map((a) => ({ symbol: a.symbol, decimals: a.decimals })),
        markets: spec.markets.map((m) => ({
          ...m,
          makerFeePpm: m.makerFeePpm ?? DEFAULT_FEE_PPM,
          takerFeePpm: m.takerFeePpm ?? DEFAULT_FEE_PPM,
        })),
      },
      gateway: { host: "0.0.0.0", port: 8080, adminHost: "0.0.0.0", adminPort: 8081 },
      ubscore: { listen: listenOn(infra.ubscore), address: infra.ubscore },
      // Gateways publish to UBSCore's endpoint; UBSCore's pod overrides `channel` to listen.
      transport:
        spec.transport === "aeron"
          ? { kind: "aeron", dir: "/dev/shm/aeron", channel: `aeron:udp?endpoint=${infra.ubscoreAeron}` }
          : { kind: "tcp" },
      ledger: {
        kind: "tigerbeetle",
        clusterId: infra.tigerbeetle.clusterId,
        addresses: [...infra.tigerbeetle.addresses],
      },
      eventLog: { kind: "kafka", brokers: [...infra.kafkaBrokers], topicPrefix: `bourse-${name}` },
      store: {
        kind: "cassandra",
        contactPoints: [...infra.store.contactPoints],
        localDataCenter: infra.store.localDataCenter,
        keyspace: `bourse_${name.replace(/[^a-z0-9]/g, "_")}`.slice(0, 48),
        replicationFactor: storeReplicationFactor,
      },
      // Settlement in its own pod: fed UBSCore's settlement feed through Kafka, dialled by UBSCore.
      settlement: { kind: "service", listen: listenOn(infra.settlement), address: infra.settlement },
      // Matching in its own pod, dialled by UBSCore: over Aeron UBSCore publishes to matching's
      // endpoint, and matching's pod overrides `channel` to listen (as UBSCore's does for gateways).
      matching: {
        kind: "service",
        listen: listenOn(infra.matching),
        address: infra.matching,
        ...(spec.transport === "aeron" ? { channel: `aeron:udp?endpoint=${infra.matchingAeron}` } : {}),
      },
      // Each component in its own pod, all on the same port (operator/src/observability.ts).
      observability: {
        exchange: name,
        ...Object.fromEntries(
          ["gateway", "ubscore", "matching", "settlement"].map((c) => [c, `0.0.0.0:${METRICS_PORT}`]),
        ),
      },
    },
    `Exchange ${name}`,
  );
}
