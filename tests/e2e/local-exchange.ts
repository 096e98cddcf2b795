import { type ChildProcess, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { openSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../components/domain/src/index.ts";
import { KafkaEventLog } from "../../components/eventlog/src/index.ts";
import { decodeMarketEvent, eventPartition } from "../../components/exchange/src/index.ts";
import { CassandraStore } from "../../components/store/src/index.ts";
import { UbsCoreService } from "../../components/ubscore/src/index.ts";
import { TestClient } from "../api/client.ts";
import { type MediaDriver, startMediaDriver } from "../infra/aeron.ts";
import { type CassandraServer, startCassandra } from "../infra/cassandra.ts";
import { type KafkaServer, startKafka } from "../infra/kafka.ts";
import { freePort } from "../infra/ports.ts";
import { Session } from "./harness.ts";

/**
 * The exchange as local processes for the end-to-end and fault suites: one `bourse ubscore`, one
 * `bourse matching` (the books) and `gateways` × `bourse gateway`, talking over Aeron IPC through
 * the given media driver (TCP on loopback without one), HTTP on ports the kernel picks, state under `dataDir`, the history in
 * the given Cassandra. Given Kafka, UBSCore publishes its event stream there and `bourse
 * settlement` runs on its own, fed from Kafka (holding the embedded ledger). Processes can be
 * SIGKILLed and restarted; every process is killed when the suite ends.
 */
const ADMIN_TOKEN = "local-exchange-admin-token-0123";
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");

/** The real servers a LocalExchange runs on: Cassandra, the Aeron media driver and Kafka. */
export interface LocalInfrastructure {
  readonly cassandra: CassandraServer;
  readonly aeron: MediaDriver;
  readonly kafka: KafkaServer;
  stop(): Promise<void>;
}

/** Starts them together (the media driver times dead clients out after 3 s, for quick restarts). */
export async function startLocalInfrastructure(): Promise<LocalInfrastructure> {
  const [cassandra, aeron, kafka] = await Promise.all([
    startCassandra(),
    startMediaDriver({ clientLivenessTimeoutMs: 3_000 }),
    startKafka(),
  ]);
  return {
    cassandra,
    aeron,
    kafka,
    async stop() {
      await Promise.all([cassandra.stop(), aeron.stop(), kafka.stop()]);
    },
  };
}

export interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** What `LocalExchange.start` runs: how many gateways, on which servers, with what config. */
export interface LocalExchangeOptions {
  gateways: number;
  cassandra?: CassandraServer;
  keyspace: string;
  aeron?: MediaDriver;
  /** UBSCore publishes its event stream here (topic `<keyspace>.events`). */
  kafka?: KafkaServer;
  dataDir?: string;
  /** The config's `ledger` (the embedded one, held by settlement, when not given). */
  ledger?: { kind: "tigerbeetle"; clusterId: string; addresses: string[] };
  /** Without Kafka: UBSCore publishes its event stream to a file log under dataDir. */
  fileEventLog?: boolean;
  /** More of the config file's sections (e.g. `gateway`'s limits), as every process reads them. */
  config?: Record<string, unknown>;
  /** The operator API's token (a fixed one of this suite's when not given). */
  adminToken?: string;
  /** More environment for every process (e.g. Aeron UDP channels), over `processEnv`'s. */
  env?: NodeJS.ProcessEnv;
}

/** The loopback ports one exchange's processes listen on. */
interface LocalPorts {
  /** UBSCore's, for the gateways. */
  readonly transport: number;
  /** The operator API's. */
  readonly admin: number;
  /** `bourse settlement`'s, for UBSCore (with Kafka). */
  readonly settlement: number;
  /** `bourse matching`'s, for UBSCore. */
  readonly matching: number;
  /** Each gateway's trading API. */
  readonly gateways: number[];
  /** Each process's /metrics, /livez and /readyz. */
  readonly metrics: { ubscore: number; matching: number; settlement: number; gateways: number[] };
}

async function pickPorts(gateways: number): Promise<LocalPorts> {
  const ports = await Promise.all(Array.from({ length: gateways + 4 }, () => freePort()));
  const [ubscoreMetrics, matchingMetrics, settlementMetrics, ...gatewayMetrics] = (await Promise.all(
    Array.from({ length: gateways + 3 }, () => freePort()),
  )) as [number, number, number, ...number[]];
  const [transport, admin, settlement, matching, ...gatewayPorts] = ports as [
    number,
    number,
    number,
    number,
    ...number[],
  ];
  return {
    transport,
    admin,
    settlement,
    matching,
    gateways: gatewayPorts,
    metrics: {
      ubscore: ubscoreMetrics,
      matching: matchingMetrics,
      settlement: settlementMetrics,
      gateways: gatewayMetrics,
    },
  };
}

/**
 * The config file every process reads: the history store, the event log, settlement (its own
 * process with Kafka) and matching (its own process, on a stream of its own) as `options` say.
 */
async function writeConfig(path: string, options: LocalExchangeOptions, ports: LocalPorts): Promise<void> {
  const store = options.cassandra
    ? {
        kind: "cassandra",
        contactPoints: options.cassandra.contactPoints,
        localDataCenter: options.cassandra.localDataCenter,
        keyspace: options.keyspace,
      }
    : { kind: "embedded" };
  const eventLog = options.kafka
    ? { kind: "kafka", brokers: options.kafka.brokers, topicPrefix: options.keyspace }
    : { kind: options.fileEventLog ? "file" : "none" };
  const settlementAddress = `127.0.0.1:${ports.settlement}`;
  const settlement = options.kafka
    ? { kind: "service", listen: settlementAddress, address: settlementAddress }
    : { kind: "inline" };
  const matchingAddress = `127.0.0.1:${ports.matching}`;
  const matching = {
    kind: "service",
    listen: matchingAddress,
    address: matchingAddress,
    stream: randomInt(1_000, 0x3fff_ffff),
  };
  const ledger = options.ledger && { ledger: options.ledger };
  await writeFile(
    path,
    JSON.stringify({ ...options.config, store, eventLog, settlement, matching, ...ledger }),
  );
}

/** The environment every process runs with: the config file at `config`, and where to listen and dial. */
function processEnv(
  config: string,
  dir: string,
  options: LocalExchangeOptions,
  ports: LocalPorts,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BOURSE_CONFIG: config,
    BOURSE_DATA_DIR: options.dataDir ?? join(dir, "data"),
    BOURSE_DEMO: "false",
    // Every process checks its cores' invariants after each command, and stops at a break.
    BOURSE_VERIFY: "1",
    BOURSE_ADMIN_PORT: String(ports.admin),
    BOURSE_ADMIN_TOKEN: options.adminToken ?? ADMIN_TOKEN,
    BOURSE_UBSCORE_LISTEN: `127.0.0.1:${ports.transport}`,
    BOURSE_UBSCORE_ADDRESS: `127.0.0.1:${ports.transport}`,
    BOURSE_UBSCORE_METRICS_LISTEN: `127.0.0.1:${ports.metrics.ubscore}`,
    BOURSE_MATCHING_METRICS_LISTEN: `127.0.0.1:${ports.metrics.matching}`,
    BOURSE_SETTLEMENT_METRICS_LISTEN: `127.0.0.1:${ports.metrics.settlement}`,
    // A stream of its own: two exchanges may share one media driver.
    ...(options.aeron
      ? {
          BOURSE_TRANSPORT_KIND: "aeron",
          BOURSE_AERON_DIR: options.aeron.dir,
          BOURSE_AERON_STREAM: String(randomInt(1_000, 0x3fff_ffff)),
        }
      : {}),
    ...options.env,
  };
}

export class LocalExchange {
  readonly session: Session;
  ubscore!: Running;
  /** `bourse settlement`, when the exchange runs with Kafka. */
  settlement: Running | undefined;
  matching!: Running;
  readonly gateways: Running[] = [];
  private readonly running = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
    private readonly gatewayPorts: number[],
    readonly cassandra: CassandraServer | undefined,
    readonly keyspace: string,
    readonly kafka: KafkaServer | undefined,
    /** Each process's /metrics, /livez and /readyz port: UBSCore, matching, settlement, then the gateways. */
    private readonly metricsPorts: LocalPorts["metrics"],
  ) {
    this.session = new Session(`http://127.0.0.1:${env.BOURSE_ADMIN_PORT}`, env.BOURSE_ADMIN_TOKEN!);
  }

  /** Where a process serves /metrics, /livez and /readyz (gateway `i` for a gateway). */
  metricsUrl(component: "ubscore" | "matching" | "settlement" | "gateway", i = 0): string {
    const port = component === "gateway" ? this.metricsPorts.gateways[i] : this.metricsPorts[component];
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Starts everything and funds alice and bob. `dataDir` defaults to a fresh temporary one.
   * Without Cassandra the history is UBSCore's embedded store (and settlement runs inline).
   */
  static async start(options: LocalExchangeOptions): Promise<LocalExchange> {
    const dir = await mkdtemp(join(tmpdir(), "bourse-local-"));
    const config = join(dir, "bourse.json");
    const ports = await pickPorts(options.gateways);
    await writeConfig(config, options, ports);
    const exchange = new LocalExchange(
      dir,
      processEnv(config, dir, options, ports),
      ports.gateways,
      options.cassandra,
      options.keyspace,
      options.kafka,
      ports.metrics,
    );
    if (options.kafka) exchange.settlement = await exchange.spawn("settlement");
    exchange.matching = await exchange.spawn("matching");
    exchange.ubscore = await exchange.spawn("ubscore");
    for (let i = 0; i < options.gateways; i++) exchange.gateways.push(await exchange.startGateway(i));
    await exchange.session.createUsers();
    return exchange;
  }

  url(gateway: number): string {
    return `http://127.0.0.1:${this.gatewayPorts[gateway]}`;
  }

  startGateway(i: number): Promise<Running> {
    return this.spawn("gateway", {
      BOURSE_GATEWAY_PORT: String(this.gatewayPorts[i]),
      BOURSE_GATEWAY_METRICS_LISTEN: `127.0.0.1:${this.metricsPorts.gateways[i]}`,
    });
  }

  /** SIGKILLs gateway `i` and starts a fresh one in its place. */
  async restartGateway(i: number, kill = true): Promise<void> {
    if (kill) this.gateways[i]!.child.kill("SIGKILL");
    await this.gateways[i]!.exited;
    this.gateways[i] = await this.startGateway(i);
  }

  /**
   * After UBSCore was killed (or before, with `kill`): every gateway stops on its own (crash-only,
   * exit status 3), then UBSCore and the gateways start again.
   */
  async restartUbsCore(kill = true): Promise<void> {
    if (kill) this.ubscore.child.kill("SIGKILL");
    await this.ubscore.exited;
    for (const g of this.gateways) expect(await g.exited).toBe(3);
    this.ubscore = await this.spawn("ubscore");
    for (let i = 0; i < this.gateways.length; i++) this.gateways[i] = await this.startGateway(i);
  }

  /** SIGKILLs `bourse settlement` (or waits for it to end, without `kill`) and starts it again. */
  async restartSettlement(kill = true): Promise<void> {
    if (kill) this.settlement!.child.kill("SIGKILL");
    await this.settlement!.exited;
    this.settlement = await this.spawn("settlement");
  }

  /** SIGKILLs `bourse matching` (or waits for it to end, without `kill`) and starts it again. */
  async restartMatching(kill = true): Promise<void> {
    if (kill) this.matching.child.kill("SIGKILL");
    await this.matching.exited;
    this.matching = await this.spawn("matching");
  }

  /** The session's invariants through gateway `via`, plus: Cassandra holds exactly alice's trades. */
  async checkInvariants(via: number): Promise<void> {
    const aliceTrades = await this.session.checkInvariants(this.url(via));
    if (!this.cassandra) return;
    const store = await CassandraStore.connect({
      contactPoints: this.cassandra.contactPoints,
      localDataCenter: this.cassandra.localDataCenter,
      keyspace: this.keyspace,
    });
    try {
      const stored = (await store.tradesByUser(this.session.users.alice.userId, 1)).map((t) =>
        String(t.tradeId),
      );
      expect(new Set(stored)).toEqual(aliceTrades);
    } finally {
      await store.close();
    }
  }

  /**
   * Replays UBSCore's journal offline (a copy of its snapshot and journal, opened by a fresh
   * UbsCoreService) and checks that every user's open orders and every book's depth equal what
   * the running exchange serves through gateway `via`. Call while no orders are in flight.
   */
  async checkReplay(via: number): Promise<void> {
    const copy = await mkdtemp(join(tmpdir(), "bourse-replay-"));
    await cp(join(this.env.BOURSE_DATA_DIR!, "ubscore"), join(copy, "ubscore"), { recursive: true });
    const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
    const replayed = await UbsCoreService.open(copy, exchange, { matching: "remote" });
    try {
      for (const who of ["alice", "bob"] as const) {
        const client = new TestClient(this.url(via), this.session.users[who]);
        const open = await client.signed<{ orderId: number }[]>("GET", "/api/v3/openOrders", {
          symbol: "BTCUSDT",
        });
        const live = open.body.map((o) => o.orderId).sort((a, b) => a - b);
        const fromJournal = replayed.core.openOrders(this.session.users[who].userId, 1).map((o) => o.orderId);
        expect(live, `${who}'s open orders against a replay of the journal`).toEqual(fromJournal);
      }
      const depth = await new TestClient(this.url(via)).public<{ bids: string[][]; asks: string[][] }>(
        "/api/v3/depth",
        { symbol: "BTCUSDT", limit: 5000 },
      );
      const book = replayed.core.book(1).depth();
      expect(depth.body.bids.length).toBe(book.bids.length);
      expect(depth.body.asks.length).toBe(book.asks.length);
    } finally {
      await replayed.close();
      await rm(copy, { recursive: true, force: true });
    }
  }

  /**
   * UBSCore's event stream on Kafka against the store: read the way a consumer must (a record whose
   * lsn is not above the last one of its partition is a repeat and dropped), it holds every trade
   * the store holds, each once. Waits up to `timeoutMs` for the publisher to catch up.
   */
  async checkEventStream(timeoutMs = 60_000): Promise<void> {
    const topic = `${this.keyspace}.events`;
    const store = await CassandraStore.connect({
      contactPoints: this.cassandra!.contactPoints,
      localDataCenter: this.cassandra!.localDataCenter,
      keyspace: this.keyspace,
    });
    const log = await KafkaEventLog.connect(this.kafka!.brokers, "bourse-e2e-check");
    try {
      const stored = (await store.tradesByMarket(1, 10_000_000)).map((t) => t.tradeId).sort((a, b) => a - b);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const partition = eventPartition("BTCUSDT");
        const records = await log.replay(topic, partition, 0);
        let last = 0;
        const streamed: number[] = [];
        for (const r of records) {
          const e = decodeMarketEvent(r.value);
          if (e.lsn <= last || e.market !== "BTCUSDT") continue;
          last = e.lsn;
          for (const t of e.trades) streamed.push(t.tradeId);
        }
        if (streamed.length >= stored.length || Date.now() > deadline) {
          expect(streamed, "every trade in the event stream once, in order").toEqual(stored);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await log.close();
      await store.close();
    }
  }

  stop(): void {
    for (const child of this.running) child.kill("SIGKILL");
  }

  /** Starts `bourse <command>` and waits for its first line (printed once it serves). */
  private async spawn(command: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Running> {
    const log = openSync(join(this.dir, `${command}.log`), "a");
    const child = spawn(process.execPath, [bin, command], {
      env: { ...this.env, ...extraEnv },
      stdio: ["ignore", "pipe", log],
    });
    this.running.add(child);
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        this.running.delete(child);
        resolve(code);
      }),
    );
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", () => resolve());
      void exited.then((code) => reject(new Error(`bourse ${command} exited with ${code}; see ${this.dir}`)));
    });
    return { child, exited };
  }
}
