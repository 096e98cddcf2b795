import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startCassandra } from "../../../tests/infra/cassandra.ts";
import { startKafka } from "../../../tests/infra/kafka.ts";
import { freePort } from "../../../tests/infra/ports.ts";
import { validateConfig } from "../../config/src/index.ts";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import type { LogRecord } from "../../eventlog/src/index.ts";
import { KafkaEventLog } from "../../eventlog/src/index.ts";
import { EventType, OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { linkTransport, RpcClient, tcpTransport } from "../../transport/src/index.ts";
import type { UbsCommand } from "../../ubscore/src/index.ts";
import { UbsCore } from "../../ubscore/src/index.ts";
import { SETTLEMENT_KEY, SETTLEMENT_PARTITIONS, type SettlementStatus } from "../src/feed.ts";
import { encodeEntries, settlementEntries } from "../src/settlement.ts";

/**
 * npm run bench:settlement — `bourse settlement` as its own process, fed from a real Kafka, into
 * the embedded ledger (its journal fsynced) and a real Cassandra store:
 *  1. throughput: a backlog of BENCH_TRADES trades waits in the feed; trades/s settled;
 *  2. lag: trades offered at BENCH_RATE/s (default 50,000) for BENCH_SECONDS, open loop; how far
 *     settlement falls behind (trades and seconds) and how long it takes to catch up.
 * The feed is what UBSCore publishes: an in-memory UBSCore applies crossing orders (one maker,
 * one taker per trade) and each command's settlement entries are encoded as UBSCore encodes them.
 */
const TRADES = Number(process.env.BENCH_TRADES ?? 50_000);
const RATE = Number(process.env.BENCH_RATE ?? 50_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const USERS = 100;
const bin = join(import.meta.dirname, "..", "..", "..", "bin", "bourse.mjs");
const exchange = new ExchangeDefinition(DEMO_EXCHANGE);

interface Feed {
  readonly records: LogRecord[];
  /** Per record: its journal position, and the trades up to and including it. */
  readonly lsns: number[];
  readonly tradesUpTo: number[];
}

/** UBSCore's settlement feed for `trades` trades (plus the users and deposits they need). */
function feed(trades: number): Feed {
  const core = new UbsCore(exchange);
  const out: Feed = { records: [], lsns: [], tradesUpTo: [] };
  let lsn = 0;
  let made = 0;
  const apply = (cmd: UbsCommand) => {
    const result = core.apply(cmd);
    lsn++;
    made += result.events.filter((e) => e.type === EventType.Trade).length;
    const entries = settlementEntries(exchange, cmd, result, lsn, core);
    if (!entries) return;
    out.records.push({ key: SETTLEMENT_KEY, value: encodeEntries(entries) });
    out.lsns.push(lsn);
    out.tradesUpTo.push(made);
  };
  for (let userId = 1; userId <= USERS; userId++) {
    apply({ kind: "createUser", userId });
    apply({ kind: "credit", userId, asset: "USDT", amount: 10n ** 20n });
    apply({ kind: "credit", userId, asset: "BTC", amount: 10n ** 16n });
  }
  for (let i = 0; made < trades; i++) {
    for (const side of [Side.Sell, Side.Buy]) {
      apply({
        kind: "place",
        userId: 1 + ((i * 2 + side) % USERS),
        symbol: "BTCUSDT",
        clientOrderId: `b${i}-${side}`,
        side,
        type: OrderType.Limit,
        tif: TimeInForce.GTC,
        priceTicks: 6_000_000,
        qtyLots: 1_000,
        quoteUnits: 0n,
        stp: 0,
        time: 1_700_000_000_000 + i,
      });
    }
  }
  return out;
}

/** Trades settled once position `settled` is: the trades of the last record at or below it. */
function tradesSettled(f: Feed, settled: number): number {
  let lo = 0;
  let hi = f.lsns.length - 1;
  if (hi < 0 || settled < f.lsns[0]!) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f.lsns[mid]! <= settled) lo = mid;
    else hi = mid - 1;
  }
  return f.tradesUpTo[lo]!;
}

interface Settler {
  readonly child: ChildProcess;
  readonly dir: string;
  status: SettlementStatus;
  client: RpcClient;
}

/** Starts `bourse settlement` on the feed topic `<prefix>.settlement`. */
async function startSettler(brokers: string[], prefix: string, store: unknown): Promise<Settler> {
  const dir = await mkdtemp(join(tmpdir(), "bourse-bench-settlement-"));
  const address = `127.0.0.1:${await freePort()}`;
  const config = join(dir, "bourse.json");
  await writeFile(
    config,
    JSON.stringify({
      dataDir: join(dir, "data"),
      eventLog: { kind: "kafka", brokers, topicPrefix: prefix },
      settlement: { kind: "service", listen: address, address },
      store,
    }),
  );
  const child = spawn(process.execPath, [bin, "settlement"], {
    env: { ...process.env, BOURSE_CONFIG: config },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`bourse settlement exited with ${code}`)));
  });
  const settler = { child, dir, status: { settled: 0 } } as Settler;
  // The bench plays UBSCore on the settlement link, with the key in the settler's data dir.
  const link = linkTransport(
    validateConfig({ dataDir: join(dir, "data") }),
    tcpTransport,
    "ubscore",
    "settlement",
  );
  settler.client = await RpcClient.connect(link, address, (s) => {
    settler.status = s as SettlementStatus;
  });
  return settler;
}

async function stopSettler(settler: Settler): Promise<void> {
  settler.client.close();
  const exited = new Promise((r) => settler.child.once("exit", r));
  settler.child.kill("SIGTERM");
  await exited;
  await rm(settler.dir, { recursive: true, force: true });
}

async function append(log: KafkaEventLog, topic: string, records: LogRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 2_000) await log.append(topic, records.slice(i, i + 2_000));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until position `lsn` is settled; fails if settlement stopped, or made no progress for a minute. */
async function settledTo(settler: Settler, lsn: number): Promise<void> {
  let last = settler.status.settled;
  let since = performance.now();
  while (settler.status.settled < lsn) {
    const { failure, retrying, settled } = settler.status;
    if (failure) throw new Error(`settlement stopped: ${failure.message}`);
    if (settled > last) [last, since] = [settled, performance.now()];
    if (performance.now() - since > 60_000) throw new Error(`settlement stuck at ${settled}: ${retrying}`);
    await sleep(5);
  }
}

async function throughput(log: KafkaEventLog, brokers: string[], store: unknown): Promise<void> {
  const prefix = `bench${randomBytes(4).toString("hex")}`;
  const f = feed(TRADES);
  await log.createTopic(`${prefix}.settlement`, SETTLEMENT_PARTITIONS);
  await append(log, `${prefix}.settlement`, f.records);
  const settler = await startSettler(brokers, prefix, store);
  const last = f.lsns.at(-1)!;
  // From the first settled batch (the consumer group has joined) to the last.
  while (settler.status.settled === 0) await sleep(5);
  const t0 = performance.now();
  const from = tradesSettled(f, settler.status.settled);
  await settledTo(settler, last);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `  backlog of ${TRADES.toLocaleString("en")} trades (${f.records.length.toLocaleString("en")} feed records): ${((TRADES - from) / seconds).toFixed(0)} trades/s settled (${(TRADES - from).toLocaleString("en")} in ${seconds.toFixed(2)} s)`,
  );
  await stopSettler(settler);
}

async function lag(log: KafkaEventLog, brokers: string[], store: unknown): Promise<void> {
  const prefix = `bench${randomBytes(4).toString("hex")}`;
  const total = RATE * SECONDS;
  const f = feed(total);
  const topic = `${prefix}.settlement`;
  await log.createTopic(topic, SETTLEMENT_PARTITIONS);
  const settler = await startSettler(brokers, prefix, store);
  // Open loop: every 20 ms, the records whose trades are due by then, whatever settlement does.
  const t0 = performance.now();
  let sent = 0;
  let maxLagTrades = 0;
  let maxLagMs = 0;
  const sentAt: { trades: number; at: number }[] = [];
  while (sent < f.records.length) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
    let upTo = sent;
    while (upTo < f.records.length && f.tradesUpTo[upTo]! <= due) upTo++;
    if (upTo > sent) {
      await log.append(topic, f.records.slice(sent, upTo));
      sent = upTo;
      sentAt.push({ trades: f.tradesUpTo[sent - 1]!, at: performance.now() });
    }
    const settled = tradesSettled(f, settler.status.settled);
    maxLagTrades = Math.max(maxLagTrades, f.tradesUpTo[sent - 1]! - settled);
    // How long ago the oldest unsettled trade was offered.
    const oldest = sentAt.find((s) => s.trades > settled);
    if (oldest) maxLagMs = Math.max(maxLagMs, performance.now() - oldest.at);
    await sleep(20);
  }
  const offeredSeconds = (performance.now() - t0) / 1000;
  const sentDone = performance.now();
  const last = f.lsns.at(-1)!;
  await settledTo(settler, last);
  const catchUp = (performance.now() - sentDone) / 1000;
  const elapsed = (performance.now() - t0) / 1000;
  console.log(
    `  offered ${RATE.toLocaleString("en")} trades/s for ${SECONDS} s: produced ${(total / offeredSeconds).toFixed(0)}/s, settled ${(total / elapsed).toFixed(0)}/s overall; max lag ${maxLagTrades.toLocaleString("en")} trades / ${(maxLagMs / 1000).toFixed(2)} s; caught up ${catchUp.toFixed(2)} s after the last was produced`,
  );
  await stopSettler(settler);
}

const [kafka, cassandra] = await Promise.all([startKafka(), startCassandra()]);
const store = {
  kind: "cassandra",
  contactPoints: cassandra.contactPoints,
  localDataCenter: cassandra.localDataCenter,
  keyspace: `bench_${randomBytes(4).toString("hex")}`,
};
const log = await KafkaEventLog.connect(kafka.brokers, "bourse-bench");
try {
  console.log(
    `bench:settlement  bourse settlement fed from Kafka, into the embedded ledger and Cassandra, node ${process.version}`,
  );
  await throughput(log, kafka.brokers, store);
  await lag(log, kafka.brokers, store);
} finally {
  await log.close();
  await cassandra.stop();
  await kafka.stop();
}
