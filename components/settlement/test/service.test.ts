import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHALLENGE_FRAME, fuzzPort, hello, rawExchange } from "../../../tests/security/random-peer.ts";
import { validateConfig } from "../../config/src/index.ts";
import { stringifyExact } from "../../domain/src/index.ts";
import { FileEventLog, LogPublisher } from "../../eventlog/src/index.ts";
import { AccountKind, accountId, EmbeddedLedger } from "../../ledger/src/index.ts";
import { EmbeddedStore } from "../../store/src/index.ts";
import type { Transport } from "../../transport/src/index.ts";
import { linkTransport, secureTransport, tcpTransport } from "../../transport/src/index.ts";
import { UbsCoreService } from "../../ubscore/src/index.ts";
import { exchange, script, submitAll } from "../../ubscore/test/fixtures.ts";
import { SETTLEMENT_PARTITIONS, SettlementFeed } from "../src/feed.ts";
import { reconcile } from "../src/reconcile.ts";
import { remoteLedger } from "../src/remote-ledger.ts";
import { SettlementService } from "../src/service.ts";

/**
 * Settlement as its own service, in one test process: UBSCore's feed through the event log (the
 * file adapter here; Kafka in the e2e suite), status and the embedded ledger over TCP.
 */
const TOPIC = "bourse.settlement";

async function startService(
  dir: string,
  log: FileEventLog,
  listen = "127.0.0.1:0",
  transport: Transport = tcpTransport,
) {
  const store = await EmbeddedStore.open(join(dir, "store"));
  const ledger = await EmbeddedLedger.open(join(dir, "ledger"));
  const service = await SettlementService.start({
    dir: join(dir, "settlement"),
    exchange,
    ledger,
    store,
    log,
    topic: TOPIC,
    transport,
    listen,
    serveLedger: true,
  });
  return { service, store, ledger };
}

async function startUbsCore(
  dir: string,
  log: FileEventLog,
  address: string,
  transport: Transport = tcpTransport,
) {
  const publisher = await LogPublisher.open(log, TOPIC, SETTLEMENT_PARTITIONS, join(dir, "published"));
  const { feed, client } = await SettlementFeed.connect(exchange, publisher, transport, address);
  const record = feed.record.bind(feed);
  const ubscore = await UbsCoreService.open(join(dir, "ubscore"), exchange, { onReplay: record });
  ubscore.onCommand(record);
  const ledger = remoteLedger(client);
  const reconcileNow = () =>
    ubscore.exclusive(async () => {
      await feed.waitSettled(ubscore.lastLsn);
      return reconcile(ubscore.core, ledger, ubscore.lastLsn);
    });
  return {
    ubscore,
    feed,
    reconcileNow,
    async close() {
      await ubscore.close();
      await feed.close();
      client.close();
    },
  };
}

describe("settlement as a service", () => {
  it("settles UBSCore's feed into the ledger and the store; reconcile over the served ledger finds nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settlement-service-"));
    const log = await FileEventLog.open(join(dir, "log"));
    const { service, store } = await startService(dir, log);
    const node = await startUbsCore(dir, log, service.address);
    await submitAll(node.ubscore, script());
    const result = await node.reconcileNow();
    expect(result.differences).toEqual([]);
    expect(node.feed.settledLsn).toBeGreaterThan(0);
    expect(await store.tradesByMarket(1, 1_000_000)).toEqual(node.ubscore.core.tradesOf(1));
    await node.close();
    await service.close();
    await log.close();
  });

  it("catches up after being away: UBSCore goes on meanwhile, its waits resolve once settled, nothing twice", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settlement-service-"));
    const log = await FileEventLog.open(join(dir, "log"));
    const first = await startService(dir, log);
    const address = first.service.address;
    const node = await startUbsCore(dir, log, address);
    const cmds = script();
    await submitAll(node.ubscore, cmds.slice(0, 100));
    await node.feed.waitSettled(node.ubscore.lastLsn);
    await first.service.close();
    // UBSCore accepts commands while settlement is away; a wait for them holds until it is back.
    await submitAll(node.ubscore, cmds.slice(100));
    let settled = false;
    const waiting = node.feed.waitSettled(node.ubscore.lastLsn).then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    const second = await startService(dir, log, address);
    await waiting;
    expect((await node.reconcileNow()).differences).toEqual([]);
    expect(await second.store.tradesByMarket(1, 1_000_000)).toEqual(node.ubscore.core.tradesOf(1));
    await node.close();
    await second.service.close();
    await log.close();
  });

  it("answers waits after both restart and the service lost its position (a pod without a volume)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settlement-service-"));
    const log = await FileEventLog.open(join(dir, "log"));
    const first = await startService(dir, log);
    const address = first.service.address;
    const node = await startUbsCore(dir, log, address);
    await submitAll(node.ubscore, script());
    await node.feed.waitSettled(node.ubscore.lastLsn);
    await node.close();
    await first.service.close();
    await rm(join(dir, "settlement"), { recursive: true });
    const second = await startService(dir, log, address);
    const again = await startUbsCore(dir, log, address);
    // Nothing new to settle, so no status says how far it is: the feed asks it to catch up.
    expect(second.service.settlement.settledLsn).toBe(0);
    expect((await again.reconcileNow()).differences).toEqual([]);
    await again.close();
    await second.service.close();
    await log.close();
  });
});

describe("settlement's port on its authenticated link", () => {
  it("serves UBSCore only: strangers, other links' keys and random peers get nothing and change nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settlement-link-"));
    const log = await FileEventLog.open(join(dir, "log"));
    // Keys made on first use under the data dir, as `bourse settlement` and `bourse ubscore` do.
    const config = validateConfig({ dataDir: dir });
    const link = linkTransport(config, tcpTransport, "ubscore", "settlement");
    const { service, ledger } = await startService(dir, log, "127.0.0.1:0", link);
    const node = await startUbsCore(dir, log, service.address, link);
    await submitAll(node.ubscore, script());
    expect((await node.reconcileNow()).differences).toEqual([]);
    const accounts = exchange.assets.flatMap((a) =>
      [1, 2, 3].map((user) => accountId(AccountKind.Trading, a.id, user)),
    );
    const before = await ledger.lookupAccounts(accounts);
    const mint = stringifyExact({
      c: 1,
      m: "createTransfers",
      a: [[{ id: 1n, debit_account_id: accounts[0], credit_account_id: accounts[1], amount: 10n ** 14n }]],
    });
    // Unauthenticated: the old protocol's call is not even answered.
    expect((await rawExchange(service.address, [Buffer.from(mint)])).length).toBe(0);
    expect(
      (await rawExchange(service.address, [hello("ubscore-settlement"), Buffer.from(mint)])).length,
    ).toBe(CHALLENGE_FRAME);
    // A gateway's key (made here by a gateway link's listener) does not open settlement's link.
    await (
      await linkTransport(config, tcpTransport, "gateway", "ubscore").listen("127.0.0.1:0", () => {})
    ).close();
    const gatewayKey = Buffer.from(
      (await readFile(join(dir, "links", "gateway-ubscore"), "latin1")).trim(),
      "hex",
    );
    const impostor = secureTransport(tcpTransport, {
      client: "ubscore",
      server: "settlement",
      key: async () => gatewayKey,
    });
    await expect(impostor.connect(service.address)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    const fuzzed = await fuzzPort(
      service.address,
      "ubscore-settlement",
      [Buffer.from(mint), Buffer.from(stringifyExact({ c: 2, m: "caughtUp", a: [] }))],
      Date.now() + 5_000,
    );
    expect(fuzzed.conversations).toBeGreaterThan(10);
    expect(fuzzed.largestAnswer).toBeLessThanOrEqual(CHALLENGE_FRAME);
    expect(await ledger.lookupAccounts(accounts)).toEqual(before);
    expect((await node.reconcileNow()).differences).toEqual([]);
    await node.close();
    await service.close();
    await log.close();
  });
});
