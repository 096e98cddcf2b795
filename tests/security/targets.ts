import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import {
  DEMO_EXCHANGE,
  ExchangeDefinition,
  formatUnits,
  isBourseError,
} from "../../components/domain/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { UbsCoreService } from "../../components/ubscore/src/index.ts";
import { TestClient } from "../api/client.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "../e2e/local-exchange.ts";
import { freePort } from "../infra/ports.ts";
import { admin, exchangeConfig, freshDataDir, newUser, type Overrides, TOKEN, type User } from "./harness.ts";
import { bourse } from "./processes.ts";

/**
 * The exchange an attack is played against, in either layout, seen only from outside (HTTP, the
 * data directory, its processes): the embedded exchange (`bourse start`'s one process) and the
 * multi-process layout (`bourse ubscore`, `bourse matching`, `bourse settlement` and two `bourse
 * gateway`s over Aeron IPC through the real media driver, the event stream on a real Kafka, the
 * history in a real Cassandra). One attack table drives both.
 */
export interface Target {
  readonly name: string;
  readonly adminUrl: string;
  /** Every gateway's trading URL (the embedded exchange has one). */
  readonly gatewayUrls: readonly string[];
  /** Where its state is kept (UBSCore's, and on one host every process's). */
  readonly dataDir: string;
  /** The users the suite created: what `observe` reads. */
  readonly users: User[];
  /** Stops gateway `i` (the embedded exchange: all of it) cleanly; resolves with its exit code. */
  stopGateway(i: number): Promise<number | null>;
  /** Starts gateway `i` again on its port, on the same data; resolves once it serves. */
  startGateway(i: number): Promise<void>;
  /** Kills UBSCore (SIGKILL; the embedded exchange: closes it) and starts it (and its gateways) again. */
  restartUbsCore(): Promise<void>;
  /** Starts a second UBSCore on the same data directory (other ports): the refusal it ends with. */
  secondWriter(): Promise<string>;
  /** The pid that holds the data directory. */
  writerPid(): number;
  /** A fresh UbsCoreService on a copy of the journal and snapshots (the caller closes it). */
  replayJournal(): Promise<{ service: UbsCoreService; close(): Promise<void> }>;
  stop(): Promise<void>;
}

export const exchangeDef = new ExchangeDefinition(DEMO_EXCHANGE);

/** Opens a copy of `<dataDir>/ubscore` the way UBSCore would, in the mode it was written in. */
async function replayCopy(dataDir: string, matching: "local" | "remote") {
  const copy = await mkdtemp(join(tmpdir(), "bourse-replay-"));
  await cp(join(dataDir, "ubscore"), join(copy, "ubscore"), { recursive: true });
  const service = await UbsCoreService.open(copy, exchangeDef, { matching });
  return {
    service,
    async close() {
      await service.close();
      await rm(copy, { recursive: true, force: true });
    },
  };
}

/** `bourse start`'s exchange in this process, on fixed loopback ports so that restarts keep its URLs. */
export async function embeddedTarget(overrides: Overrides): Promise<Target> {
  const dataDir = await freshDataDir();
  const [port, adminPort] = [await freePort(), await freePort()];
  const gateway = { ...(overrides.gateway as Overrides), port, adminPort };
  const start = async () =>
    startEmbeddedExchange(await exchangeConfig(dataDir, { ...overrides, gateway }), false);
  let exchange: EmbeddedExchange | undefined = await start();
  const restart = async () => {
    await exchange?.close();
    exchange = await start();
  };
  const threads = (overrides.gateway as { threads?: number } | undefined)?.threads;
  return {
    name: threads ? `the embedded exchange on ${threads} gateway thread(s)` : "the embedded exchange",
    dataDir,
    adminUrl: exchange.adminUrl,
    gatewayUrls: [exchange.tradingUrl],
    users: [],
    async stopGateway() {
      await exchange?.close();
      exchange = undefined;
      return 0;
    },
    async startGateway() {
      exchange = await start();
    },
    restartUbsCore: restart,
    async secondWriter() {
      const config = await exchangeConfig(dataDir, {
        ...overrides,
        gateway: { ...gateway, port: await freePort(), adminPort: await freePort() },
      });
      const refused = await startEmbeddedExchange(config, false).then(
        async (second) => {
          await second.close();
          return new Error("a second embedded exchange started on the same data directory");
        },
        (e: unknown) => e,
      );
      if (!isBourseError(refused)) throw refused;
      return `${refused.code}: ${refused.message}`;
    },
    writerPid: () => process.pid,
    replayJournal: () => replayCopy(dataDir, "local"),
    async stop() {
      await exchange?.close();
    },
  };
}

/** The multi-process layout on real Kafka, Cassandra and the Aeron media driver, two gateways. */
export async function processesTarget(overrides: Overrides): Promise<Target> {
  const infra: LocalInfrastructure = await startLocalInfrastructure();
  const exchange = await LocalExchange.start({
    gateways: 2,
    keyspace: "attacks",
    ...infra,
    config: overrides,
    adminToken: TOKEN,
  });
  const dataDir = exchange.env.BOURSE_DATA_DIR!;
  return {
    name: "the multi-process layout",
    dataDir,
    adminUrl: exchange.session.adminUrl,
    gatewayUrls: [exchange.url(0), exchange.url(1)],
    users: [],
    async stopGateway(i) {
      exchange.gateways[i]!.child.kill("SIGTERM");
      return exchange.gateways[i]!.exited;
    },
    async startGateway(i) {
      exchange.gateways[i] = await exchange.startGateway(i);
    },
    restartUbsCore: () => exchange.restartUbsCore(true),
    async secondWriter() {
      const second = bourse("ubscore", {
        ...exchange.env,
        // Every port its own, as a second `npm start` beside the first would have them.
        BOURSE_ADMIN_PORT: String(await freePort()),
        BOURSE_UBSCORE_LISTEN: `127.0.0.1:${await freePort()}`,
        BOURSE_UBSCORE_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
      });
      const { code, stderr } = await second.exited;
      expect(code, stderr).toBe(2);
      return stderr;
    },
    writerPid: () => exchange.ubscore.child.pid!,
    replayJournal: () => replayCopy(dataDir, "remote"),
    async stop() {
      exchange.stop();
      await infra.stop();
    },
  };
}

/** A user created through `target`'s operator API, trading through its first gateway, tracked by `observe`. */
export async function userOf(target: Target, deposits?: Record<string, string>): Promise<User> {
  const user = await newUser({ adminUrl: target.adminUrl, tradingUrl: target.gatewayUrls[0]! }, deposits);
  target.users.push(user);
  return user;
}

/** `user` trading through gateway `i`. */
export const via = (target: Target, i: number, user: User) =>
  new TestClient(target.gatewayUrls[i]!, user.credentials);

export interface Observed {
  readonly balances: unknown[];
  /** Funding wallets (the ledger's, through the transfer saga's port). */
  readonly funding: unknown[];
  readonly open: number[][];
  readonly markets: string[];
}

/**
 * Everything an attack must not change, as the exchange reports it: every tracked user's
 * balances (operator API), Funding wallet (trading API) and open orders in every market (trading API, through each gateway:
 * they must agree), and the markets' status. Reconcile (UBSCore against the ledger, once
 * settlement has caught up) must find no difference.
 */
export async function observe(target: Target): Promise<Observed> {
  const balances: unknown[] = [];
  const funding: unknown[] = [];
  const open: number[][] = [];
  for (const user of target.users) {
    balances.push((await admin(target.adminUrl, "GET", `/admin/v1/users/${user.userId}/balances`)).body);
    const wallet = await via(target, 0, user).signed("POST", "/sapi/v1/asset/get-funding-asset");
    expect(wallet.status).toBe(200);
    funding.push(wallet.body);
    for (const market of exchangeDef.markets) {
      const seen = await Promise.all(
        target.gatewayUrls.map(async (url) => {
          const res = await new TestClient(url, user.credentials).signed<{ orderId: number }[]>(
            "GET",
            "/api/v3/openOrders",
            { symbol: market.symbol },
          );
          expect(res.status).toBe(200);
          return res.body.map((o) => o.orderId).sort((a, b) => a - b);
        }),
      );
      for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
      open.push(seen[0]!);
    }
  }
  const info = await new TestClient(target.gatewayUrls[0]!).public<{
    symbols: { symbol: string; status: string }[];
  }>("/api/v3/exchangeInfo");
  const reconciled = await admin<{ differences: unknown[] }>(
    target.adminUrl,
    "POST",
    "/admin/v1/reconcile",
    {},
  );
  expect(reconciled).toMatchObject({ status: 200, body: { differences: [] } });
  return { balances, funding, open, markets: info.body.symbols.map((s) => `${s.symbol}:${s.status}`) };
}

/** A replay of the journal holds exactly what the running exchange reports (`observe`'s view). */
export async function expectJournalReplays(target: Target, observed: Observed): Promise<void> {
  const replay = await target.replayJournal();
  try {
    const core = replay.service.core;
    const balances = target.users.map((user) => {
      const held = core.balancesOf(user.userId);
      return exchangeDef.assets.map((a) => ({
        asset: a.symbol,
        free: formatUnits(held[a.id - 1]!.available, a.decimals),
        locked: formatUnits(held[a.id - 1]!.frozen, a.decimals),
      }));
    });
    const open = target.users.flatMap((user) =>
      exchangeDef.markets.map((m) =>
        core
          .openOrders(user.userId, m.id)
          .map((o) => o.orderId)
          .sort((a, b) => a - b),
      ),
    );
    expect({ balances, open }).toEqual({ balances: observed.balances, open: observed.open });
  } finally {
    await replay.close();
  }
}

/** Runs `attack`; afterwards nothing `observe` sees changed, and the journal replays to it. */
export async function unchangedBy(target: Target, attack: () => Promise<void>): Promise<void> {
  const before = await observe(target);
  await attack();
  const after = await observe(target);
  expect(after).toEqual(before);
  await expectJournalReplays(target, after);
}
