import { userInfo } from "node:os";
import { z } from "zod";
import { DEMO_EXCHANGE } from "../../domain/src/index.ts";

/**
 * The one configuration schema for every component and every mode. Sources, later wins:
 * built-in defaults < config file (YAML or JSON) < BOURSE_* environment variables < CLI flags.
 */
const decimalString = z.string().regex(/^\d+(\.\d+)?$/, "must be a plain decimal string");
const port = z.number().int().min(0).max(65535);
/** A switch: true/false, or 1/0 as an environment variable gives it (BOURSE_VERIFY=1). */
const flag = z.preprocess((v) => (v === 1 ? true : v === 0 ? false : v), z.boolean());
const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, "must be host:port");

/**
 * Aeron's own default directory, /dev/shm/aeron-<user name>. A process whose UID has no passwd
 * entry (a container run as an arbitrary UID) has no user name: Node's userInfo() throws, so the
 * UID stands in for it.
 */
function defaultAeronDir(): string {
  try {
    return `/dev/shm/aeron-${userInfo().username}`;
  } catch {
    return `/dev/shm/aeron-${process.getuid?.() ?? "default"}`;
  }
}

const marketSchema = z.object({
  symbol: z.string().regex(/^[A-Z0-9]{4,20}$/),
  base: z.string(),
  quote: z.string(),
  tickSize: decimalString,
  stepSize: decimalString,
  minPrice: decimalString,
  maxPrice: decimalString,
  minQty: decimalString,
  maxQty: decimalString,
  minNotional: decimalString,
  makerFeePpm: z.number().int().min(0).max(100_000),
  takerFeePpm: z.number().int().min(0).max(100_000),
});

export const configSchema = z
  .object({
    /** Where journals, snapshots and embedded stores live. */
    dataDir: z.string().min(1).default("./data"),
    exchange: z
      .object({
        assets: z
          .array(
            z.object({
              symbol: z.string().regex(/^[A-Z0-9]{2,12}$/),
              decimals: z.number().int().min(0).max(18),
            }),
          )
          .min(1),
        markets: z.array(marketSchema).min(1),
      })
      .default(DEMO_EXCHANGE as never),
    gateway: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: port.default(8080),
        adminHost: z.string().default("127.0.0.1").meta({ env: "BOURSE_ADMIN_HOST" }),
        adminPort: port.default(8081).meta({ env: "BOURSE_ADMIN_PORT" }),
        /** Bearer token of the operator (admin) API; generated and printed when absent. */
        adminToken: z.string().min(16).optional().meta({ env: "BOURSE_ADMIN_TOKEN" }),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(10 * 1024 * 1024)
          .default(64 * 1024),
        /**
         * `bourse start` only: serve the trading API from this many worker threads, each on a
         * replica of UBSCore, so that HTTP, signatures and streams run beside UBSCore's thread
         * rather than on it. Unset or 0: on UBSCore's thread. More than 1 shares the port with
         * SO_REUSEPORT (Node 22.12 or later). No default written, so rendered configs and their
         * hashes stay as they were.
         */
        threads: z.number().int().min(0).max(64).optional(),
        /**
         * How long an order, cancel or transfer waits for UBSCore (and the matching service behind
         * it) before the client is told Binance's -1007: sent, execution status unknown.
         */
        backendTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        /**
         * How long a reconcile may take (UBSCore's commands wait meanwhile) before it gives way
         * with 503: under the operator's 30 s of silence, so it is told rather than left waiting.
         */
        reconcileTimeoutMs: z.number().int().min(100).max(600_000).default(25_000),
        /**
         * Connections of both APIs: a request's headers must arrive within headerTimeoutMs and the
         * whole request within requestTimeoutMs (slow senders are cut off); a stop waits at most
         * shutdownGraceMs for open connections before closing them.
         */
        connections: z
          .object({
            headerTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
            requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
            shutdownGraceMs: z.number().int().min(0).max(120_000).default(5_000),
          })
          .strict()
          .prefault({}),
        /**
         * WebSocket streams, after Binance's: connections and streams capped per client address
         * and per user (user data streams), streams per connection, incoming messages per second
         * per connection; a connection whose unsent data passes maxBufferedBytes (a reader too
         * slow for its streams) is dropped with close code 1008. Listen keys: at most
         * maxListenKeysPerUser each, expiring listenKeyTtlMs after their last keepalive.
         */
        websocket: z
          .object({
            maxConnectionsPerIp: z.number().int().min(1).default(300),
            maxConnectionsPerUser: z.number().int().min(1).default(50),
            maxStreamsPerConnection: z.number().int().min(1).default(1024),
            maxStreamsPerIp: z.number().int().min(1).default(5_000),
            maxMessagesPerSecond: z.number().int().min(1).default(5),
            maxBufferedBytes: z
              .number()
              .int()
              .min(1024)
              .default(4 * 1024 * 1024),
            maxListenKeysPerUser: z.number().int().min(1).default(10),
            listenKeyTtlMs: z
              .number()
              .int()
              .min(1_000)
              .default(60 * 60_000),
          })
          .strict()
          .prefault({}),
        /** Binance-style limits: request weight per client address per minute, new orders per user per 10 s. */
        rateLimit: z
          .object({
            weightPerMinute: z.number().int().min(1).default(6000),
            ordersPer10s: z.number().int().min(1).default(100),
            ordersPerDay: z.number().int().min(1).default(200_000),
            /** Requests refused with 429 within a minute after which the address is banned (418). */
            banAfterRefusals: z.number().int().min(1).default(20),
          })
          .strict()
          .prefault({}),
        /**
         * Proxies (addresses or CIDR ranges) in front of the trading API whose X-Forwarded-For
         * names the client; from anyone else the header is ignored. Limits are per client address.
         */
        trustedProxies: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    ubscore: z
      .object({
        /** Take a snapshot (and drop covered journal segments) every this many journal records. */
        snapshotEvery: z.number().int().min(100).default(100_000),
        /**
         * Closed orders (all markets) and trades per market UBSCore keeps in memory beyond the
         * open orders; older history is served from the history store.
         */
        retention: z
          .object({
            closedOrders: z.number().int().min(1_000).default(50_000),
            tradesPerMarket: z.number().int().min(1_000).default(10_000),
          })
          .strict()
          .prefault({}),
        /**
         * How many journaled commands settlement may fall behind before new commands wait for it
         * (bounded lag and memory under bursts).
         */
        maxSettlementLag: z.number().int().min(100).default(20_000),
        /** How many event-stream records may wait for the event log (e.g. Kafka down) before new commands wait. */
        maxEventBacklog: z.number().int().min(100).default(200_000),
        /**
         * Fencing between UBSCores on different hosts (Kubernetes): `bourse ubscore` holds this
         * coordination.k8s.io Lease before it opens the journal and exits the moment it cannot
         * renew it in time; another waits for it. See components/exchange/src/writer-lease.ts.
         */
        lease: z
          .object({
            name: z.string().min(1),
            namespace: z.string().min(1),
            /** This process's name in the lease (a random suffix is added per start); the pod's name. */
            identity: z.string().min(1).default("ubscore"),
            /** A kubeconfig file; the pod's service account when not given. */
            kubeconfig: z.string().min(1).optional(),
            durationMs: z.number().int().min(1_000).default(15_000),
            renewDeadlineMs: z.number().int().min(500).default(10_000),
            retryMs: z.number().int().min(100).default(2_000),
          })
          .strict()
          .refine((l) => l.renewDeadlineMs < l.durationMs, "renewDeadlineMs must be below durationMs")
          .optional(),
        /** Where `bourse ubscore` listens for gateways on the transport (host:port). */
        listen: hostPort.default("127.0.0.1:7100"),
        /** Where `bourse gateway` finds UBSCore (host:port; a Service name in Kubernetes). */
        address: hostPort.default("127.0.0.1:7100"),
      })
      .strict()
      .prefault({}),
    /**
     * The hot path between gateways and UBSCore: loopback/cluster TCP (ubscore.listen and
     * ubscore.address), or Aeron through the media driver whose directory is `dir` (the sidecar
     * in Kubernetes), with UBSCore listening on `stream`: IPC on one host, UDP between pods.
     */
    transport: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("tcp") }).strict(),
        z
          .object({
            kind: z.literal("aeron"),
            dir: z.string().min(1).default(defaultAeronDir).meta({ env: "BOURSE_AERON_DIR" }),
            /** UBSCore subscribes here, gateways publish here: IPC, or UBSCore's UDP endpoint. */
            channel: z
              .string()
              .startsWith("aeron:")
              .default("aeron:ipc")
              .meta({ env: "BOURSE_AERON_CHANNEL" }),
            /** Where a gateway takes UBSCore's replies (its own UDP endpoint); `channel` if unset. */
            replyChannel: z
              .string()
              .startsWith("aeron:")
              .optional()
              .meta({ env: "BOURSE_AERON_REPLY_CHANNEL" }),
            stream: z
              .number()
              .int()
              .min(1)
              .max(0x3fff_ffff)
              .default(1001)
              .meta({ env: "BOURSE_AERON_STREAM" }),
          })
          .strict(),
      ])
      .default({ kind: "tcp" }),
    ledger: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("embedded") }).strict(),
        z
          .object({
            kind: z.literal("tigerbeetle"),
            clusterId: z.string().regex(/^\d+$/).default("0"),
            addresses: z.array(z.string()).min(1),
          })
          .strict(),
      ])
      .default({ kind: "embedded" }),
    /**
     * Where UBSCore publishes its event stream (orders and trades per market, keyed by market):
     * nowhere (the default), a file log under dataDir, or Kafka.
     */
    eventLog: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("none") }).strict(),
        z.object({ kind: z.literal("file"), topicPrefix: z.string().default("bourse") }).strict(),
        z
          .object({
            kind: z.literal("kafka"),
            brokers: z.array(z.string()).min(1),
            topicPrefix: z.string().default("bourse"),
          })
          .strict(),
      ])
      .default({ kind: "none" }),
    store: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("embedded") }).strict(),
        z
          .object({
            kind: z.literal("cassandra"),
            contactPoints: z.array(z.string()).min(1),
            localDataCenter: z.string().default("datacenter1"),
            keyspace: z
              .string()
              .regex(/^[a-z][a-z0-9_]{0,47}$/)
              .default("bourse"),
            /** Copies of each row in the local data center, for a keyspace the writers create. */
            replicationFactor: z.number().int().min(1).max(9).default(1),
          })
          .strict(),
      ])
      .default({ kind: "embedded" }),
    /**
     * Where settlement runs: inside UBSCore's process, on its thread (`inline`, the default) or
     * on a worker thread of its own with the ledger and the history store (`worker`: UBSCore's
     * thread keeps the ordering, its journal and HTTP; see docs/capacity.md), or as `bourse
     * settlement` (`service`), fed through the Kafka event log, listening on `listen` for UBSCore
     * (which finds it at `address`). As a service it owns the embedded ledger, if that is the one
     * configured, and serves it; the history store must then be one both reach (Cassandra).
     */
    settlement: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("inline") }).strict(),
        z.object({ kind: z.literal("worker") }).strict(),
        z
          .object({
            kind: z.literal("service"),
            listen: hostPort.default("127.0.0.1:7300"),
            address: hostPort.default("127.0.0.1:7300"),
          })
          .strict(),
      ])
      .default({ kind: "inline" }),
    /**
     * Where the order books run: inside UBSCore's state machine (`local`, the default), or as
     * `bourse matching` (`service`), which UBSCore reaches over the hot-path transport: with TCP
     * matching listens on `listen` and UBSCore dials `address`; with Aeron matching subscribes to
     * `stream` on `channel` (the transport's channel if unset; for UDP, matching's own endpoint).
     * UBSCore journals each order command and then its outcome from matching, so matching keeps
     * no state of its own: UBSCore sends it the books whenever it (re)connects.
     */
    matching: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("local") }).strict(),
        z
          .object({
            kind: z.literal("service"),
            listen: hostPort.default("127.0.0.1:7400"),
            address: hostPort.default("127.0.0.1:7400"),
            stream: z.number().int().min(1).max(0x3fff_ffff).default(1002),
            channel: z.string().startsWith("aeron:").optional(),
            /**
             * How many order commands may wait for matching's answer (matching away, or behind)
             * before new ones are refused (Binance's -1008, overloaded) instead of piling up.
             */
            maxInFlight: z.number().int().min(1).default(10_000),
          })
          .strict(),
      ])
      .default({ kind: "local" }),
    /**
    /**
     * The keys of the links between processes (one file per link, named `<client>-<server>`,
     * 32+ bytes in hex): in `keyDir` (on Kubernetes the operator's Secret), else in
     * `<dataDir>/links`; a missing key is generated on first use (docs/security.md).
     */
    links: z
      .object({ keyDir: z.string().min(1).optional().meta({ env: "BOURSE_LINK_KEY_DIR" }) })
      .strict()
      .prefault({}),
    /**
     * Metrics, health and logs (docs/operability.md): the exchange's name, which every log line
     * carries (the Exchange's name on Kubernetes), and where each component serves `/metrics`,
     * `/livez` and `/readyz` (host:port; nowhere when unset). `bourse start` runs every component
     * in one process and serves them all at `ubscore`'s address.
     */
    observability: z
      .object({
        exchange: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Kubernetes object name")
          .default("bourse")
          .meta({ env: "BOURSE_EXCHANGE_NAME" }),
        gateway: hostPort.optional().meta({ env: "BOURSE_GATEWAY_METRICS_LISTEN" }),
        ubscore: hostPort.optional().meta({ env: "BOURSE_UBSCORE_METRICS_LISTEN" }),
        matching: hostPort.optional().meta({ env: "BOURSE_MATCHING_METRICS_LISTEN" }),
        settlement: hostPort.optional().meta({ env: "BOURSE_SETTLEMENT_METRICS_LISTEN" }),
        /**
         * The HTTP APIs' request logs: a JSON line a request on stderr, beside the process's own.
         * Off when unset (no default written, so rendered configs and their hashes stay as they were).
         */
        requestLog: flag.optional().meta({ env: "BOURSE_LOG" }),
      })
      .strict()
      .prefault({}),
    /**
     * `bourse start` only: create demo users with funded accounts and print their API keys at
     * start. `bourse ubscore` never does.
     */
    demo: flag.default(true),
    /**
     * Check every core's invariants after each command (UBSCore's money rules, each order book's
     * structure) and stop at the first break: slow, for test runs and hunting bugs.
     */
    verify: flag.default(false),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.settlement.kind !== "service") return;
    if (config.eventLog.kind !== "kafka") {
      ctx.addIssue({
        code: "custom",
        path: ["eventLog", "kind"],
        message: "settlement as a service is fed through Kafka: eventLog.kind must be kafka",
      });
    }
    if (config.store.kind !== "cassandra") {
      ctx.addIssue({
        code: "custom",
        path: ["store", "kind"],
        message: "settlement as a service writes a store UBSCore reads too: store.kind must be cassandra",
      });
    }
  });

export type BourseConfig = z.infer<typeof configSchema>;
