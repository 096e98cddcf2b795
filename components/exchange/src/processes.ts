import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import type { BourseConfig } from "../../config/src/index.ts";
import { BourseError, ExchangeDefinition } from "../../domain/src/index.ts";
import { KafkaEventLog } from "../../eventlog/src/index.ts";
import type { FundingPort } from "../../gateway/src/index.ts";
import { type CapCounter, KeyRing } from "../../gateway/src/index.ts";
import { lockDataDir } from "../../journal/src/index.ts";
import { MatchingService } from "../../matching/src/index.ts";
import { SettlementService } from "../../settlement/src/index.ts";
import type { HistoryReader } from "../../store/src/index.ts";
import { CassandraStore } from "../../store/src/index.ts";
import type { TransferRecord } from "../../transfers/src/index.ts";
import { type Channel, linkTransport, tcpTransport } from "../../transport/src/index.ts";
import { UbsCoreReplica } from "../../ubscore/src/index.ts";
import { openLedger, openStore } from "./backends.ts";
import { ClosingStack } from "./closing-stack.ts";
import { serveTradingApi, startUbsCoreNode, type TradingListen, type UbsCoreNode } from "./embedded.ts";
import { openHotPath } from "./hot-path.ts";
import { kubeLeaseStore } from "./kube-lease.ts";
import { observe, observeReplica, observeSettlement } from "./observability.ts";
import { type ApiKeyEvent, replicationServer } from "./replication.ts";
import { WriterLease } from "./writer-lease.ts";

/**
 * The exchange as separate processes. `bourse ubscore` runs the UBSCore node (journal, matching,
 * settlement, ledger, transfers, operator API) and serves gateways over the transport;
 * `bourse gateway` runs the trading API on a replica of UBSCore, any number of them. Between
 * them runs the configured transport: Aeron IPC through the media driver, or TCP. With
 * `settlement.kind: service`, `bourse settlement` settles UBSCore's feed from Kafka on its own.
 */
export interface UbsCoreProcess {
  readonly node: UbsCoreNode;
  /** Where /metrics, /livez and /readyz are served (observability.ubscore), if anywhere. */
  readonly metricsUrl: string | undefined;
  /** Where gateways connect. */
  readonly address: string;
  /** Resolves if the transport fails for good (the media driver died): the process must restart. */
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

/**
 * `demoUsers`: funded demo users, for a benchmark. Never from the config's `demo`, which is for
 * `bourse start` on a laptop: a UBSCore serving gateways must not come up with funded accounts.
 */
export async function startUbsCoreProcess(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
  { demoUsers = false }: { demoUsers?: boolean } = {},
): Promise<UbsCoreProcess> {
  const opened = new ClosingStack();
  const observed = await opened.open(
    () => observe(config, "ubscore"),
    (o) => o.close(),
  );
  // Fenced (on Kubernetes) before anything in the data directory is opened.
  const leaseOptions = config.ubscore.lease;
  const lease =
    leaseOptions &&
    (await opened.open(
      () => acquireWriterLease(leaseOptions),
      (l) => l.release(),
    ));
  const hotPath = await opened.open(
    () => openHotPath(config),
    (h) => h.close(),
  );
  const node = await opened.open(
    () => startUbsCoreNode({ ...config, demo: demoUsers }, log, hotPath, observed.health),
    (n) => n.close(),
  );
  const replication = replicationServer(node);
  const { ubscore } = hotPath;
  const server = await opened.open(
    () => ubscore.transport.listen(ubscore.listen, (channel) => replication.accept(channel)),
    (listening) => listening.close(),
  );
  // Replayed, and serving gateways and the operator API.
  observed.health.ready("ubscore", () => undefined);
  return {
    node,
    metricsUrl: observed.url,
    address: server.address,
    lost: lease ? Promise.race([hotPath.lost, lease.lost]) : hotPath.lost,
    close: () => opened.close(),
  };
}

/** Waits for UBSCore's writer lease, saying on stderr who holds it meanwhile. */
async function acquireWriterLease(
  options: NonNullable<BourseConfig["ubscore"]["lease"]>,
): Promise<WriterLease> {
  const identity = `${options.identity}-${randomBytes(4).toString("hex")}`;
  let told = "";
  return WriterLease.acquire(kubeLeaseStore(options), identity, options, (holder) => {
    if (holder === told) return;
    told = holder;
    process.stderr.write(
      `bourse ubscore: waiting for lease ${options.namespace}/${options.name}, held by ${holder}\n`,
    );
  });
}

export interface GatewayProcess {
  readonly tradingUrl: string;
  readonly metricsUrl: string | undefined;
  readonly replica: UbsCoreReplica;
  close(): Promise<void>;
}

/**
 * A gateway: subscribes to UBSCore, then serves the trading API from its replica. It ends when
 * the replica does (`replica.closed`): the caller exits and its supervisor starts a fresh one.
 */
export async function startGatewayProcess(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
): Promise<GatewayProcess> {
  const opened = new ClosingStack();
  const observed = await opened.open(
    () => observe(config, "gateway"),
    (o) => o.close(),
  );
  const hotPath = await opened.open(
    () => openHotPath(config),
    (h) => h.close(),
  );
  return opened.closedOnFailure(async () => {
    const channel = await opened.open(
      () => hotPath.ubscore.transport.connect(hotPath.ubscore.address),
      (c) => c.close(),
    );
    const { tradingUrl, replica } = await serveReplica(config, log, channel, opened);
    opened.defer(observeReplica(observed.health, replica));
    return { tradingUrl, metricsUrl: observed.url, replica, close: () => opened.close() };
  });
}

/**
 * The trading API served from a replica of UBSCore subscribed over `channel` (which it then
 * owns): a gateway process's, or one of the embedded exchange's gateway threads'.
 */
export async function serveReplica(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream,
  channel: Channel,
  opened: ClosingStack,
  { listen, caps }: { listen?: TradingListen; caps?: CapCounter } = {},
): Promise<{ tradingUrl: string; replica: UbsCoreReplica }> {
  const keyRing = new KeyRing();
  const replica = await opened.open(
    () =>
      UbsCoreReplica.open(channel, new ExchangeDefinition(config.exchange), (event) => {
        const e = event as ApiKeyEvent;
        if (e.kind === "apiKey") keyRing.add(e.key);
      }),
    (r) => r.close(),
  );
  opened.handedOver(channel);
  const { store: storeConfig } = config;
  const store =
    storeConfig.kind === "cassandra"
      ? await opened.open(
          () => CassandraStore.connect({ ...storeConfig, reader: true }),
          (s) => s.close(),
        )
      : undefined;
  const tradingUrl = await serveTradingApi(
    config,
    log,
    {
      service: replica,
      funding: replicaFunding(replica),
      history: store ?? replicaHistory(replica),
      keys: keyRing,
      caps,
    },
    opened,
    listen,
  );
  return { tradingUrl, replica };
}

/** The funding calls a gateway forwards to UBSCore. */
function replicaFunding(replica: UbsCoreReplica): FundingPort {
  return {
    transfer: (req) => replica.call<TransferRecord>("transfer", req),
    history: (userId, type) => replica.call<TransferRecord[]>("history", userId, type),
    balances: (userId) => replica.call("balances", userId),
  };
}

/**
 * History beyond what the replica keeps, read by UBSCore from its embedded store. (With a shared
 * store, Cassandra, the gateway reads it itself, sparing UBSCore's single thread.)
 */
function replicaHistory(replica: UbsCoreReplica): HistoryReader {
  return {
    order: (orderId) => replica.call("order", orderId),
    orderByClientId: (userId, marketId, clientOrderId) =>
      replica.call("orderByClientId", userId, marketId, clientOrderId),
    ordersByUser: (userId, marketId, page) => replica.call("ordersByUser", userId, marketId, page),
    tradesByUser: (userId, marketId, page) => replica.call("tradesByUser", userId, marketId, page),
    tradesFrom: (marketId, fromId, limit) => replica.call("tradesFrom", marketId, fromId, limit),
  };
}

/**
 * `bourse settlement`: settles UBSCore's settlement feed (Kafka topic `<topicPrefix>.settlement`)
 * into the ledger and the store, its position under dataDir/settlement; serves its status, and
 * the embedded ledger if that is the configured one (kept under dataDir/ledger), at
 * settlement.listen.
 */
export interface SettlementProcess {
  readonly service: SettlementService;
  readonly metricsUrl: string | undefined;
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

export async function startSettlementProcess(config: BourseConfig): Promise<SettlementProcess> {
  const { settlement, eventLog } = config;
  if (settlement.kind !== "service" || eventLog.kind !== "kafka") {
    throw new BourseError("INVALID_CONFIG", "bourse settlement needs settlement.kind service (and Kafka)");
  }
  const dataDir = resolve(config.dataDir);
  const opened = new ClosingStack();
  await opened.open(
    () => lockDataDir(dataDir, "settlement"),
    (lock) => lock.release(),
  );
  const observed = await opened.open(
    () => observe(config, "settlement"),
    (o) => o.close(),
  );
  const log = await opened.open(
    () => KafkaEventLog.connect([...eventLog.brokers], "bourse-settlement"),
    (l) => l.close(),
  );
  const ledger = await opened.open(
    () => openLedger(config, dataDir),
    (l) => l.close(),
  );
  const store = await opened.open(
    () => openStore(config, dataDir),
    (s) => s.close(),
  );
  const service = await opened.open(
    () =>
      SettlementService.start({
        dir: join(dataDir, "settlement"),
        exchange: new ExchangeDefinition(config.exchange),
        ledger,
        store,
        log,
        topic: `${eventLog.topicPrefix}.settlement`,
        transport: linkTransport(config, tcpTransport, "ubscore", "settlement"),
        listen: settlement.listen,
        serveLedger: config.ledger.kind === "embedded",
      }),
    (s) => s.close(),
  );
  // The service closes the ledger and the store with its settlement.
  opened.handedOver(ledger, store);
  opened.defer(observeSettlement(observed.health, service, ledger));
  return { service, metricsUrl: observed.url, lost: service.lost, close: () => opened.close() };
}

/**
 * `bourse matching` (matching.kind service): the order books, run for UBSCore over the hot-path
 * transport. Stateless: UBSCore hands the books over whenever it connects.
 */
export interface MatchingProcess {
  readonly service: MatchingService;
  readonly metricsUrl: string | undefined;
  readonly address: string;
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

export async function startMatchingProcess(config: BourseConfig): Promise<MatchingProcess> {
  const opened = new ClosingStack();
  const observed = await opened.open(
    () => observe(config, "matching"),
    (o) => o.close(),
  );
  const hotPath = await opened.open(
    () => openHotPath(config),
    (h) => h.close(),
  );
  if (!hotPath.matching) {
    await opened.close();
    throw new BourseError("INVALID_CONFIG", "bourse matching needs matching.kind service");
  }
  const { transport, listen } = hotPath.matching;
  const markets = new ExchangeDefinition(config.exchange).markets.map((m) => ({
    id: m.id,
    quotePerTickLot: Number(m.quotePerTickLot),
  }));
  const service = await opened.open(
    () => MatchingService.start({ transport, listen, markets, verify: config.verify }),
    (m) => m.close(),
  );
  // Ready once it listens: UBSCore connects to a ready matching, never the other way round.
  observed.health.ready("matching", () => undefined);
  return {
    service,
    metricsUrl: observed.url,
    address: service.address,
    lost: hotPath.lost,
    close: () => opened.close(),
  };
}
