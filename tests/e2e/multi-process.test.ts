import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CassandraStore } from "../../components/store/src/cassandra-store.ts";
import { TestClient } from "../api/client.ts";
import { type CassandraServer, startCassandra } from "../infra/cassandra.ts";
import { freePort } from "../infra/ports.ts";
import { crossTrade, Session } from "./harness.ts";

/**
 * The exchange as separate processes — `bourse ubscore` and two `bourse gateway`s on the loopback
 * transport, history in a real Cassandra — driven through the public API by ccxt, with components
 * killed (SIGKILL) and restarted mid-run. After each: every acknowledged order is still there, no
 * fill is applied twice, each asset's total (users plus fees) equals the deposits to the unit,
 * reconcile (UBSCore against the ledger) reports no difference, and the store holds every trade.
 */
const ADMIN_TOKEN = "e2e-admin-token-0123456789";
const KEYSPACE = "bourse_e2e";
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");
let dir: string;
let cassandra: CassandraServer;
let env: NodeJS.ProcessEnv;
let session: Session;
const gatewayPorts: number[] = [];
const running = new Set<ChildProcess>();

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Starts `bourse <command>` and waits for its first line (printed once it serves). */
async function start(command: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Started> {
  const log = openSync(join(dir, `${command}.log`), "a");
  const child = spawn(process.execPath, [bin, command], {
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "pipe", log],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", () => resolve());
    void exited.then((code) => reject(new Error(`bourse ${command} exited with ${code}; see ${dir}`)));
  });
  return { child, exited };
}

const gateway = (i: number) => start("gateway", { BOURSE_GATEWAY_PORT: String(gatewayPorts[i]) });
const url = (i: number) => `http://127.0.0.1:${gatewayPorts[i]}`;
let ubscore: Started;
const gateways: Started[] = [];

/** The session's invariants, plus: the Cassandra store holds exactly alice's trades. */
async function checkInvariants(via: number): Promise<void> {
  const aliceTrades = await session.checkInvariants(url(via));
  const store = await CassandraStore.connect({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace: KEYSPACE,
  });
  try {
    const stored = (await store.tradesByUser(session.users.alice.userId, 1)).map((t) => String(t.tradeId));
    expect(new Set(stored)).toEqual(aliceTrades);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bourse-e2e-"));
  cassandra = await startCassandra();
  const config = join(dir, "bourse.json");
  const { contactPoints, localDataCenter } = cassandra;
  await writeFile(
    config,
    JSON.stringify({ store: { kind: "cassandra", contactPoints, localDataCenter, keyspace: KEYSPACE } }),
  );
  const [transport, adminPort, g0, g1] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  gatewayPorts.push(g0, g1);
  env = {
    ...process.env,
    BOURSE_CONFIG: config,
    BOURSE_DATA_DIR: join(dir, "data"),
    BOURSE_DEMO: "false",
    BOURSE_ADMIN_PORT: String(adminPort),
    BOURSE_ADMIN_TOKEN: ADMIN_TOKEN,
    BOURSE_UBSCORE_LISTEN: `127.0.0.1:${transport}`,
    BOURSE_UBSCORE_ADDRESS: `127.0.0.1:${transport}`,
  };
  ubscore = await start("ubscore");
  gateways.push(await gateway(0), await gateway(1));
  session = new Session(`http://127.0.0.1:${adminPort}`, ADMIN_TOKEN);
  await session.createUsers();
}, 600_000);

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await cassandra?.stop();
});

describe("the multi-process exchange", () => {
  it("trades across two gateways on one UBSCore; both gateways see the same state", async () => {
    await crossTrade(session, url(1), url(0));
    // Bob's view through gateway A equals his view through gateway B (one state, replicated).
    const [viaA, viaB] = [
      new TestClient(url(0), session.users.bob),
      new TestClient(url(1), session.users.bob),
    ];
    const accountA = await viaA.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    const accountB = await viaB.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    expect(accountA.body.balances).toEqual(accountB.body.balances);
    await checkInvariants(0);
  });
  it("survives a gateway killed mid-run: a restarted gateway serves everything acknowledged", async () => {
    const buyer = session.ccxt("alice", url(0));
    await buyer.loadMarkets();
    const acks = await session.loadThenKill(
      async (i) => ({
        who: "alice",
        orderId: (await buyer.createLimitBuyOrder("BTC/USDT", 0.01, 50000 + (i % 500))).id!,
      }),
      10,
      () => gateways[0]!.child.kill("SIGKILL"),
    );
    expect(acks).toBeGreaterThanOrEqual(10);
    await gateways[0]!.exited;
    gateways[0] = await gateway(0);
    await checkInvariants(0);
    await checkInvariants(1);
  });

  it("survives UBSCore killed mid-run: gateways stop, everything restarts, nothing acknowledged is lost", async () => {
    const seller = session.ccxt("bob", url(1));
    const buyer = session.ccxt("alice", url(0));
    await seller.loadMarkets();
    await buyer.loadMarkets();
    // Crossing orders from both gateways: fills are being applied when UBSCore dies.
    const acks = await session.loadThenKill(
      async (i) =>
        i % 2 === 0
          ? {
              who: "bob",
              orderId: (await seller.createLimitSellOrder("BTC/USDT", 0.01, 59000 + (i % 100))).id!,
            }
          : {
              who: "alice",
              orderId: (await buyer.createLimitBuyOrder("BTC/USDT", 0.01, 61000 - (i % 100))).id!,
            },
      20,
      () => ubscore.child.kill("SIGKILL"),
    );
    expect(acks).toBeGreaterThanOrEqual(20);
    // Crash-only gateways: without UBSCore their replicas may be stale, so they exit.
    expect(await gateways[0]!.exited).toBe(3);
    expect(await gateways[1]!.exited).toBe(3);
    ubscore = await start("ubscore");
    gateways[0] = await gateway(0);
    gateways[1] = await gateway(1);
    await checkInvariants(0);
    await checkInvariants(1);
  });
});
