import { randomBytes } from "node:crypto";
import { mkdir, open, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BourseConfig } from "../../config/src/schema.ts";
import { BourseError } from "../../domain/src/errors.ts";
import { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { FileEventLog } from "../../eventlog/src/file-event-log.ts";
import { KafkaEventLog } from "../../eventlog/src/kafka-event-log.ts";
import type { EventLog } from "../../eventlog/src/port.ts";
import { LogPublisher } from "../../eventlog/src/publisher.ts";
import { buildAdminApi } from "../../gateway/src/admin-api.ts";
import type { FundingPort } from "../../gateway/src/funding.ts";
import { ApiKeyStore, type HmacKey } from "../../gateway/src/keys.ts";
import { buildTradingApi } from "../../gateway/src/trading-api.ts";
import { type DirLock, lockDataDir } from "../../journal/src/dir-lock.ts";
import { EmbeddedLedger } from "../../ledger/src/embedded-ledger.ts";
import { AccountKind, accountId } from "../../ledger/src/ids.ts";
import { measuredLedger } from "../../ledger/src/measured-ledger.ts";
import type { LedgerPort } from "../../ledger/src/port.ts";
import { TigerBeetleLedger } from "../../ledger/src/tigerbeetle-ledger.ts";
import { Health } from "../../observability/src/health.ts";
import { LagClock } from "../../observability/src/lag-clock.ts";
import { SETTLEMENT_PARTITIONS, SettlementFeed } from "../../settlement/src/feed.ts";
import type { SettlementPort } from "../../settlement/src/port.ts";
import { type Reconciliation, reconcile } from "../../settlement/src/reconcile.ts";
import { remoteLedger } from "../../settlement/src/remote-ledger.ts";
import { Settlement } from "../../settlement/src/settlement.ts";
import { PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/private-files.ts";
import { CassandraStore } from "../../store/src/cassandra-store.ts";
import { EmbeddedStore } from "../../store/src/embedded-store.ts";
import type { HistoryStore } from "../../store/src/port.ts";
import { ubsCoreTradingPort } from "../../transfers/src/trading-port.ts";
import { TransferSaga } from "../../transfers/src/transfer-saga.ts";
import { tcpTransport } from "../../transport/src/tcp.ts";
import { MatchingLink } from "../../ubscore/src/matching-link.ts";
import { type CommandListener, UbsCoreService } from "../../ubscore/src/service.ts";
import { EVENT_PARTITIONS, marketEvents } from "./event-publisher.ts";
import { type HotPath, openHotPath } from "./hot-path.ts";
import { linkTransport } from "./links.ts";
import { measuredReconcile, observe, observeUbsCore } from "./observability.ts";

/**
 * The UBSCore node: UBSCore (with the books, or linked to `bourse matching`) on its journal under dataDir, settlement
 * into the embedded ledger and store, the transfer saga, API keys, and the operator API. `bourse
 * ubscore` serves it to gateways over the transport; `bourse start` adds the trading API in the
 * same process (the embedded exchange).
 */
export interface UbsCoreNode {
  readonly adminUrl: string;
  readonly adminToken: string;
  readonly demoKeys: readonly HmacKey[];
  readonly service: UbsCoreService;
  readonly settlement: SettlementPort;
  readonly ledger: LedgerPort;
  /** All of the history (UBSCore keeps only the recent part in memory). */
  readonly store: HistoryStore;
  /** UBSCore's event stream publisher, when an event log is configured. */
  readonly events?: LogPublisher;
  readonly transfers: TransferSaga;
  readonly funding: FundingPort;
  readonly keys: ApiKeyStore;
  /** UBSCore against the ledger at one settled journal position (UBSCore paused meanwhile). */
  reconcile(): Promise<Reconciliation>;
  close(): Promise<void>;
}

/** Every component in one process on embedded adapters: what `bourse start` runs. */
export interface EmbeddedExchange extends UbsCoreNode {
  readonly tradingUrl: string;
  /** Where /metrics, /livez and /readyz are served (observability.ubscore), if anywhere. */
  readonly metricsUrl: string | undefined;
}

const DEMO_USERS = ["alice", "bob"];
const DEMO_FUNDS = [
  ["BTC", 10n],
  ["ETH", 100n],
  ["USDT", 1_000_000n],
] as const;

export async function startEmbeddedExchange(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
): Promise<EmbeddedExchange> {
  const observed = await observe(config, "ubscore");
  const node = await startUbsCoreNode(config, log, undefined, observed.health).catch(async (e: Error) => {
    await observed.close();
    throw e;
  });
  const trading = buildTradingApi({
    service: node.service,
    funding: node.funding,
    history: node.store,
    keys: node.keys,
    rateLimits: config.gateway.rateLimit,
    trustedProxies: config.gateway.trustedProxies,
    connections: config.gateway.connections,
    websocket: config.gateway.websocket,
    maxBodyBytes: config.gateway.maxBodyBytes,
    backendTimeoutMs: config.gateway.backendTimeoutMs,
    logger: log,
  });
  const tradingUrl = await trading.listen({ host: config.gateway.host, port: config.gateway.port });
  // Replayed, and serving both APIs.
  observed.health.ready("ubscore", () => undefined);
  return {
    ...node,
    tradingUrl,
    metricsUrl: observed.url,
    async close() {
      await trading.close();
      await node.close();
      await observed.close();
    },
  };
}

/**
 * `hotPath`: the transport to reach `bourse matching` on (matching.kind service); opened here if
 * not given. `health`: where the node reports its liveness and readiness.
 */
export async function startUbsCoreNode(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
  hotPath?: HotPath,
  health = new Health(),
): Promise<UbsCoreNode> {
  const dataDir = resolve(config.dataDir);
  // Before anything under dataDir is opened: a second writer would corrupt all of it.
  const lock = await lockDataDir(dataDir, "ubscore");
  try {
    return await openUbsCoreNode(config, dataDir, lock, log, hotPath, health);
  } catch (e) {
    await lock.release();
    throw e;
  }
}

async function openUbsCoreNode(
  config: BourseConfig,
  dataDir: string,
  lock: DirLock,
  log: boolean | NodeJS.WritableStream,
  hotPath: HotPath | undefined,
  health: Health,
): Promise<UbsCoreNode> {
  const exchange = new ExchangeDefinition(config.exchange);
  const eventLog = await openEventLog(config, dataDir);
  const events = eventLog && (await openPublisher(config, eventLog, "events", EVENT_PARTITIONS, dataDir));
  const store = await openStore(config, dataDir);
  // The schema allows a settlement service only with Kafka as the event log.
  const { settlement, ledger, closeSettlement } =
    config.settlement.kind === "service"
      ? await settlementService(config, config.settlement.address, exchange, eventLog!, store, dataDir)
      : await inlineSettlement(config, exchange, store, dataDir);
  const publishEvents = events && marketEvents(events);
  const lag = new LagClock();
  const record: CommandListener = (cmd, result, lsn, core) => {
    settlement.record(cmd, result, lsn, core);
    lag.note(settlement.recordedLsn);
    publishEvents?.(cmd, result, lsn, core);
  };
  const service = await UbsCoreService.open(dataDir, exchange, {
    snapshotEvery: config.ubscore.snapshotEvery,
    retention: config.ubscore.retention,
    verify: config.verify,
    onReplay: record,
    admit: () =>
      settlement.backpressure(config.ubscore.maxSettlementLag) ??
      events?.backpressure(config.ubscore.maxEventBacklog),
    // A snapshot drops the journal it covers: what it covers must be settled and published.
    beforeSnapshot: async () => {
      await settlement.recordedDurably();
      await events?.drained();
    },
    matching: config.matching.kind === "service" ? "remote" : "local",
    maxInFlight: config.matching.kind === "service" ? config.matching.maxInFlight : undefined,
  });
  service.onCommand(record);
  const unobserve = observeUbsCore(health, service, settlement, lag);
  const ownHotPath = config.matching.kind === "service" && !hotPath ? await openHotPath(config) : undefined;
  const matchingAt = (hotPath ?? ownHotPath)?.matching;
  const matching = matchingAt && MatchingLink.start(service, matchingAt.transport, matchingAt.address);
  // UBSCore waits while a reconcile runs: one that cannot finish (the ledger away) gives way
  // after gateway.reconcileTimeoutMs rather than hold every order back until the ledger returns.
  const reconcileNow = () =>
    measuredReconcile(() =>
      service.exclusive(() =>
        within(config.gateway.reconcileTimeoutMs, "settlement or the ledger", async () => {
          const lsn = service.lastLsn;
          await settlement.waitSettled(lsn);
          return reconcile(service.core, ledger, lsn);
        }),
      ),
    );
  const transfers = await TransferSaga.open(
    join(dataDir, "transfers"),
    exchange,
    ledger,
    ubsCoreTradingPort(service),
  );
  // Finish whatever a crash interrupted, then keep an eye out for stragglers.
  await transfers.recover();
  const recovery = setInterval(() => void transfers.recover(), 5_000);
  recovery.unref();
  const funding = fundingPort(exchange, ledger, transfers, () => settlement.waitSettled(service.lastLsn));
  const keys = await ApiKeyStore.open(join(dataDir, "gateway", "api-keys.json"));
  const adminToken =
    config.gateway.adminToken ?? (await persistentToken(join(dataDir, "gateway", "admin-token")));
  if (config.demo && keys.all().length === 0) await createDemoUsers(service, keys);
  const admin = buildAdminApi({
    service,
    funding,
    keys,
    token: adminToken,
    connections: config.gateway.connections,
    timeoutMs: config.gateway.backendTimeoutMs,
    logger: log,
    reconcile: reconcileNow,
  });
  const adminUrl = await admin.listen({ host: config.gateway.adminHost, port: config.gateway.adminPort });
  return {
    adminUrl,
    adminToken,
    demoKeys: config.demo
      ? keys.all().filter((k): k is HmacKey => k.type !== "ED25519" && DEMO_USERS.includes(k.label))
      : [],
    service,
    settlement,
    ledger,
    store,
    events,
    transfers,
    funding,
    keys,
    reconcile: reconcileNow,
    async close() {
      clearInterval(recovery);
      unobserve();
      await admin.close();
      await transfers.close();
      matching?.close();
      await ownHotPath?.close();
      await service.close();
      await closeSettlement();
      await events?.close();
      await eventLog?.close();
      await lock.release();
    },
  };
}

/** `work`, or UNAVAILABLE once `ms` have passed without it (it goes on, unawaited). */
function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BourseError("UNAVAILABLE", `no answer from ${what} within ${ms} ms`)),
      ms,
    );
  });
  const running = work();
  running.catch(() => {});
  return Promise.race([running, late]).finally(() => clearTimeout(timer));
}

/** The event log the config names, if any. */
async function openEventLog(config: BourseConfig, dataDir: string): Promise<EventLog | undefined> {
  const kind = config.eventLog;
  if (kind.kind === "none") return undefined;
  return kind.kind === "kafka"
    ? await KafkaEventLog.connect([...kind.brokers], "bourse-ubscore")
    : await FileEventLog.open(join(dataDir, "events"));
}

/** A publisher of UBSCore's records to topic `<topicPrefix>.<name>`, its position under dataDir. */
function openPublisher(
  config: BourseConfig,
  log: EventLog,
  name: string,
  partitions: number,
  dataDir: string,
): Promise<LogPublisher> {
  const prefix = config.eventLog.kind === "none" ? "" : config.eventLog.topicPrefix;
  return LogPublisher.open(
    log,
    `${prefix}.${name}`,
    partitions,
    join(dataDir, "ubscore", `${name}-published`),
  );
}

interface SettlementSide {
  readonly settlement: SettlementPort;
  readonly ledger: LedgerPort;
  closeSettlement(): Promise<void>;
}

/** Settlement in this process, into the ledger and the store the config names. */
async function inlineSettlement(
  config: BourseConfig,
  exchange: ExchangeDefinition,
  store: HistoryStore,
  dataDir: string,
): Promise<SettlementSide> {
  const ledger = await openLedger(config, dataDir);
  const settlement = await Settlement.open(join(dataDir, "settlement"), ledger, store, exchange);
  return { settlement, ledger, closeSettlement: () => settlement.close() };
}

/**
 * Settlement as `bourse settlement`: its feed on the event log, its status (and, when the ledger
 * is the embedded one, the ledger) over the transport from the service at settlement.address.
 */
async function settlementService(
  config: BourseConfig,
  address: string,
  exchange: ExchangeDefinition,
  log: EventLog,
  store: HistoryStore,
  dataDir: string,
): Promise<SettlementSide> {
  const publisher = await openPublisher(config, log, "settlement", SETTLEMENT_PARTITIONS, dataDir);
  const { feed, client } = await SettlementFeed.connect(
    exchange,
    publisher,
    linkTransport(config, tcpTransport, "ubscore", "settlement"),
    address,
  );
  const ledger =
    config.ledger.kind === "embedded"
      ? measuredLedger(remoteLedger(client))
      : await openLedger(config, dataDir);
  return {
    settlement: feed,
    ledger,
    async closeSettlement() {
      await feed.close();
      client.close();
      await ledger.close();
      await store.close();
    },
  };
}

/** The ledger the config names: embedded (journal under dataDir) or a TigerBeetle cluster. */
export async function openLedger(config: BourseConfig, dataDir: string): Promise<LedgerPort> {
  const ledger = config.ledger;
  return measuredLedger(
    ledger.kind === "tigerbeetle"
      ? new TigerBeetleLedger(BigInt(ledger.clusterId), [...ledger.addresses])
      : await EmbeddedLedger.open(join(dataDir, "ledger")),
  );
}

/** The history store the config names: embedded (journal under dataDir) or ScyllaDB/Cassandra. */
export function openStore(config: BourseConfig, dataDir: string): Promise<HistoryStore> {
  const store = config.store;
  if (store.kind === "cassandra") {
    return CassandraStore.connect({
      contactPoints: store.contactPoints,
      localDataCenter: store.localDataCenter,
      keyspace: store.keyspace,
      replicationFactor: store.replicationFactor,
    });
  }
  return EmbeddedStore.open(join(dataDir, "store"));
}

async function createDemoUsers(service: UbsCoreService, keys: ApiKeyStore): Promise<void> {
  for (const label of DEMO_USERS) {
    const userId = (await service.submit({ kind: "addUser" })).userId!;
    for (const [asset, whole] of DEMO_FUNDS) {
      const decimals = service.core.exchange.asset(asset)?.decimals;
      if (decimals === undefined) continue;
      await service.submit({ kind: "credit", userId, asset, amount: whole * 10n ** BigInt(decimals) });
    }
    await keys.create(userId, label);
  }
}

/** The operator token: generated on first start and kept (owner-readable only) under dataDir. */
async function persistentToken(path: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const token = randomBytes(24).toString("hex");
  await mkdir(join(path, ".."), { recursive: true, mode: PRIVATE_DIR });
  const handle = await open(path, "wx", PRIVATE_FILE);
  await handle.writeFile(`${token}\n`);
  await handle.sync();
  await handle.close();
  return token;
}

/**
 * Funding wallets live in the ledger; transfers go through the saga. Part of a transfer reaches
 * the ledger through settlement (which mirrors UBSCore's side), so answers wait until settlement
 * has caught up: a client reads its own writes.
 */
function fundingPort(
  exchange: ExchangeDefinition,
  ledger: LedgerPort,
  transfers: TransferSaga,
  settled: () => Promise<void>,
): FundingPort {
  return {
    async transfer(req) {
      const record = await transfers.request(req);
      await settled();
      return record;
    },
    history: async (userId, type) => transfers.history(userId, type),
    async balances(userId) {
      await settled();
      const accounts = await ledger.lookupAccounts(
        exchange.assets.map((a) => accountId(AccountKind.Funding, a.id, userId)),
      );
      const byId = new Map(accounts.map((a) => [a.id, a]));
      return exchange.assets.map((asset) => {
        const a = byId.get(accountId(AccountKind.Funding, asset.id, userId));
        const posted = a ? a.credits_posted - a.debits_posted : 0n;
        const locked = a?.debits_pending ?? 0n;
        return { asset: asset.symbol, free: posted - locked, locked };
      });
    },
  };
}
