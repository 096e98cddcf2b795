import { randomBytes } from "node:crypto";
import { mkdir, open, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BourseConfig } from "../../config/src/index.ts";
import { BourseError, ExchangeDefinition } from "../../domain/src/index.ts";
import type { EventLog } from "../../eventlog/src/index.ts";
import { FileEventLog, KafkaEventLog, LogPublisher } from "../../eventlog/src/index.ts";
import type { FundingPort } from "../../gateway/src/index.ts";
import {
  ApiKeyStore,
  buildAdminApi,
  buildTradingApi,
  type HmacKey,
  type TradingApiOptions,
} from "../../gateway/src/index.ts";
import { lockDataDir } from "../../journal/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import { AccountKind, accountId, measuredLedger } from "../../ledger/src/index.ts";
import { Health, LagClock } from "../../observability/src/index.ts";
import type { SettlementPort } from "../../settlement/src/index.ts";
import {
  type Reconciliation,
  reconcile,
  remoteLedger,
  SETTLEMENT_PARTITIONS,
  Settlement,
  SettlementFeed,
} from "../../settlement/src/index.ts";
import { PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";
import type { HistoryStore } from "../../store/src/index.ts";
import { TransferSaga, ubsCoreTradingPort } from "../../transfers/src/index.ts";
import { linkTransport, tcpTransport } from "../../transport/src/index.ts";
import { type CommandListener, MatchingLink, UbsCoreService } from "../../ubscore/src/index.ts";
import { openLedger, openStore } from "./backends.ts";
import { ClosingStack } from "./closing-stack.ts";
import { EVENT_PARTITIONS, marketEvents } from "./event-publisher.ts";
import { GatewayThreads } from "./gateway-threads.ts";
import { type HotPath, openHotPath } from "./hot-path.ts";
import { measuredReconcile, observe, observeUbsCore } from "./observability.ts";
import { replicationServer } from "./replication.ts";
import { SettlementThread } from "./settlement-thread.ts";

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
  /** The threads serving the trading API, with gateway.threads; otherwise it is served here. */
  readonly gatewayThreads?: GatewayThreads;
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
  const opened = new ClosingStack();
  const observed = await opened.open(
    () => observe(config, "ubscore"),
    (o) => o.close(),
  );
  const node = await opened.open(
    () => startUbsCoreNode(config, log, undefined, observed.health),
    (n) => n.close(),
  );
  const served = await serveEmbeddedTradingApi(config, log, node, opened);
  // Replayed, and serving both APIs.
  observed.health.ready("ubscore", () => undefined);
  return { ...node, ...served, metricsUrl: observed.url, close: () => opened.close() };
}

/** The trading API on UBSCore's thread, or on gateway threads beside it (gateway.threads). */
async function serveEmbeddedTradingApi(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream,
  node: UbsCoreNode,
  opened: ClosingStack,
): Promise<Pick<EmbeddedExchange, "tradingUrl" | "gatewayThreads">> {
  if (!config.gateway.threads) {
    const { service, funding, store, keys } = node;
    return {
      tradingUrl: await serveTradingApi(config, log, { service, funding, history: store, keys }, opened),
    };
  }
  const gatewayThreads = await opened.open(
    () => GatewayThreads.start(config, replicationServer(node), log),
    (t) => t.close(),
  );
  return { tradingUrl: gatewayThreads.tradingUrl, gatewayThreads };
}

/** Where the trading API listens; `reusePort` when several threads share its port. */
export interface TradingListen {
  readonly host: string;
  readonly port: number;
  readonly reusePort?: boolean;
}

/**
 * The trading API on `backend` (UBSCore itself, or a gateway's replica), where the config says
 * unless `listen` says otherwise.
 */
export function serveTradingApi(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream,
  backend: Pick<TradingApiOptions, "service" | "funding" | "history" | "keys" | "caps">,
  opened: ClosingStack,
  listen: TradingListen = { host: config.gateway.host, port: config.gateway.port },
): Promise<string> {
  const trading = buildTradingApi({
    ...backend,
    rateLimits: config.gateway.rateLimit,
    trustedProxies: config.gateway.trustedProxies,
    connections: config.gateway.connections,
    websocket: config.gateway.websocket,
    maxBodyBytes: config.gateway.maxBodyBytes,
    backendTimeoutMs: config.gateway.backendTimeoutMs,
    logger: log,
  });
  return opened.open(
    () => trading.listen({ ...listen }),
    () => trading.close(),
  );
}

/**
 * `hotPath`: the transport to reach `bourse matching` on (matching.kind service); opened here if
 * not given. `health`: where the node reports its liveness and readiness. Each step registers
 * what it opens on one closing stack: a step that fails closes everything opened before it.
 */
export async function startUbsCoreNode(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
  hotPath?: HotPath,
  health = new Health(),
): Promise<UbsCoreNode> {
  const dataDir = resolve(config.dataDir);
  const opened = new ClosingStack();
  // Before anything under dataDir is opened: a second writer would corrupt all of it.
  await opened.open(
    () => lockDataDir(dataDir, "ubscore"),
    (lock) => lock.release(),
  );
  return opened.closedOnFailure(async () => {
    const exchange = new ExchangeDefinition(config.exchange);
    const backend = await openBackend(config, exchange, dataDir, opened);
    const service = await openService(config, exchange, dataDir, backend, health, opened);
    await linkMatching(config, service, hotPath, opened);
    const reconcileNow = reconciler(config, service, backend);
    const transfers = await openTransfers(exchange, dataDir, backend.ledger, service, opened);
    const funding = fundingPort(exchange, backend.ledger, transfers, () =>
      backend.settlement.waitSettled(service.lastLsn),
    );
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
    const adminUrl = await opened.open(
      () => admin.listen({ host: config.gateway.adminHost, port: config.gateway.adminPort }),
      () => admin.close(),
    );
    return {
      adminUrl,
      adminToken,
      demoKeys: config.demo
        ? keys.all().filter((k): k is HmacKey => k.type !== "ED25519" && DEMO_USERS.includes(k.label))
        : [],
      service,
      settlement: backend.settlement,
      ledger: backend.ledger,
      store: backend.store,
      events: backend.events,
      transfers,
      funding,
      keys,
      reconcile: reconcileNow,
      close: () => opened.close(),
    };
  });
}

/** What UBSCore records into: the event log and its publisher, the store, settlement and ledger. */
interface Backend extends SettlementSide {
  readonly events: LogPublisher | undefined;
  readonly store: HistoryStore;
}

async function openBackend(
  config: BourseConfig,
  exchange: ExchangeDefinition,
  dataDir: string,
  opened: ClosingStack,
): Promise<Backend> {
  const eventLog = await opened.open(
    () => openEventLog(config, dataDir),
    (l) => l?.close(),
  );
  const events =
    eventLog &&
    (await opened.open(
      () => openPublisher(config, eventLog, "events", EVENT_PARTITIONS, dataDir),
      (p) => p.close(),
    ));
  if (config.settlement.kind === "worker") {
    const thread = await opened.open(
      () => SettlementThread.open(config, exchange, dataDir),
      (t) => t.close(),
    );
    return { events, store: thread.store, settlement: thread, ledger: thread.ledger };
  }
  const store = await opened.open(
    () => openStore(config, dataDir),
    (s) => s.close(),
  );
  // The schema allows a settlement service only with Kafka as the event log.
  const side =
    config.settlement.kind === "service"
      ? await settlementService(config, config.settlement.address, exchange, eventLog!, dataDir, opened)
      : await inlineSettlement(config, exchange, store, dataDir, opened);
  return { events, store, ...side };
}

/** UBSCore on its journal, settling and publishing every command it applies (and replays). */
async function openService(
  config: BourseConfig,
  exchange: ExchangeDefinition,
  dataDir: string,
  { settlement, events }: Backend,
  health: Health,
  opened: ClosingStack,
): Promise<UbsCoreService> {
  const publishEvents = events && marketEvents(events);
  const lag = new LagClock();
  const record: CommandListener = (cmd, result, lsn, core) => {
    settlement.record(cmd, result, lsn, core);
    lag.note(settlement.recordedLsn);
    publishEvents?.(cmd, result, lsn, core);
  };
  const service = await opened.open(
    () =>
      UbsCoreService.open(dataDir, exchange, {
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
        orderLimits: config.gateway.rateLimit,
      }),
    (s) => s.close(),
  );
  service.onCommand(record);
  opened.defer(observeUbsCore(health, service, settlement, lag));
  return service;
}

/** With matching.kind service: UBSCore's link to `bourse matching` (over `hotPath`, or its own). */
async function linkMatching(
  config: BourseConfig,
  service: UbsCoreService,
  hotPath: HotPath | undefined,
  opened: ClosingStack,
): Promise<void> {
  if (config.matching.kind !== "service") return;
  const path =
    hotPath ??
    (await opened.open(
      () => openHotPath(config),
      (h) => h.close(),
    ));
  const at = path.matching;
  if (!at) return;
  await opened.open(
    () => MatchingLink.start(service, at.transport, at.address),
    (link) => link.close(),
  );
}

/**
 * UBSCore against the ledger at one settled position. UBSCore waits while it runs: one that cannot
 * finish (the ledger away) gives way after gateway.reconcileTimeoutMs rather than hold every
 * order back until the ledger returns.
 */
function reconciler(
  config: BourseConfig,
  service: UbsCoreService,
  { settlement, ledger }: SettlementSide,
): () => Promise<Reconciliation> {
  return () =>
    measuredReconcile(() =>
      service.exclusive(() =>
        within(config.gateway.reconcileTimeoutMs, "settlement or the ledger", async () => {
          const lsn = service.lastLsn;
          await settlement.waitSettled(lsn);
          return reconcile(service.core, ledger, lsn);
        }),
      ),
    );
}

/** The transfer saga, its interrupted transfers finished, and an eye kept out for stragglers. */
async function openTransfers(
  exchange: ExchangeDefinition,
  dataDir: string,
  ledger: LedgerPort,
  service: UbsCoreService,
  opened: ClosingStack,
): Promise<TransferSaga> {
  const transfers = await opened.open(
    () => TransferSaga.open(join(dataDir, "transfers"), exchange, ledger, ubsCoreTradingPort(service)),
    (t) => t.close(),
  );
  await transfers.recover();
  const recovery = setInterval(() => void transfers.recover(), 5_000);
  recovery.unref();
  opened.defer(() => clearInterval(recovery));
  return transfers;
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
}

/** Settlement in this process, into the ledger and the store the config names (it closes both). */
async function inlineSettlement(
  config: BourseConfig,
  exchange: ExchangeDefinition,
  store: HistoryStore,
  dataDir: string,
  opened: ClosingStack,
): Promise<SettlementSide> {
  const ledger = await opened.open(
    () => openLedger(config, dataDir),
    (l) => l.close(),
  );
  const settlement = await opened.open(
    () => Settlement.open(join(dataDir, "settlement"), ledger, store, exchange),
    (s) => s.close(),
  );
  opened.handedOver(ledger, store);
  return { settlement, ledger };
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
  dataDir: string,
  opened: ClosingStack,
): Promise<SettlementSide> {
  const publisher = await opened.open(
    () => openPublisher(config, log, "settlement", SETTLEMENT_PARTITIONS, dataDir),
    (p) => p.close(),
  );
  const { feed, client } = await opened.open(
    () =>
      SettlementFeed.connect(
        exchange,
        publisher,
        linkTransport(config, tcpTransport, "ubscore", "settlement"),
        address,
      ),
    ({ feed, client }) => Promise.resolve(feed.close()).finally(() => client.close()),
  );
  opened.handedOver(publisher);
  const ledger = await opened.open(
    () =>
      config.ledger.kind === "embedded" ? measuredLedger(remoteLedger(client)) : openLedger(config, dataDir),
    (l) => l.close(),
  );
  return { settlement: feed, ledger };
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
