import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUnits } from "../../components/domain/src/decimal.ts";
import { CassandraStore } from "../../components/store/src/cassandra-store.ts";
import { type Credentials, TestClient } from "../api/client.ts";
import { type CassandraServer, startCassandra } from "../infra/cassandra.ts";
import { freePort } from "../infra/ports.ts";

/**
 * The exchange as separate processes — `bourse ubscore` and two `bourse gateway`s on the loopback
 * transport, history in a real Cassandra — driven through the public API by ccxt, with components
 * killed (SIGKILL) and restarted mid-run. After each: every acknowledged order is still there, no
 * fill is applied twice, each asset's total (users plus fees) equals the deposits to the unit,
 * reconcile (UBSCore against the ledger) reports no difference, and the store holds every trade.
 */
const ADMIN_TOKEN = "e2e-admin-token-0123456789";
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");
let dir: string;
let cassandra: CassandraServer;
const KEYSPACE = "bourse_e2e";
let env: NodeJS.ProcessEnv;
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

async function admin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${env.BOURSE_ADMIN_PORT}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function ccxtClient(creds: Credentials, base: string) {
  const client = new ccxt.binance({
    apiKey: creds.apiKey,
    secret: creds.secretKey,
    options: {
      fetchMarkets: { types: ["spot"] },
      fetchCurrencies: false,
      fetchMargins: false,
      defaultType: "spot",
    },
  });
  const api = client.urls.api as Record<string, string>;
  for (const k of Object.keys(api)) api[k] = `${base}${k.startsWith("sapi") ? "/sapi/v1" : "/api/v3"}`;
  return client;
}

const DECIMALS: Record<string, number> = { BTC: 8, ETH: 8, USDT: 8 };
const DEPOSITS = { alice: { USDT: "100000" }, bob: { BTC: "10" } };
let alice: Credentials & { userId: number };
let bob: Credentials & { userId: number };
let ubscore: Started;
const gateways: Started[] = [];
/** Every order a gateway acknowledged, by who placed it. */
const acknowledged: { who: "alice" | "bob"; orderId: string }[] = [];

/**
 * Steady order load from `workers` concurrent clients until `kill` has run (after `killAfter`
 * acknowledgements in this phase) and every worker has seen a failure: orders are in flight when
 * the process dies. Acknowledged orders are recorded; failed ones were never acknowledged.
 */
async function loadThenKill(
  place: (n: number) => Promise<{ who: "alice" | "bob"; orderId: string }>,
  killAfter: number,
  kill: () => void,
): Promise<number> {
  let acks = 0;
  let n = 0;
  let killed = false;
  const worker = async () => {
    for (;;) {
      try {
        acknowledged.push(await place(n++));
      } catch {
        if (killed) return;
        continue;
      }
      if (++acks === killAfter) {
        killed = true;
        kill();
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return acks;
}

async function balancesOf(userId: number): Promise<Record<string, bigint>> {
  const rows = await admin<{ asset: string; free: string; locked: string }[]>(
    "GET",
    `/admin/v1/users/${userId}/balances`,
  );
  return Object.fromEntries(
    rows.map((r) => [
      r.asset,
      parseUnits(r.free, DECIMALS[r.asset]!) + parseUnits(r.locked, DECIMALS[r.asset]!),
    ]),
  );
}

/** Checks the invariants after a fault; `via` is a gateway that is up. */
async function checkInvariants(via: number): Promise<void> {
  const clients = { alice: new TestClient(url(via), alice), bob: new TestClient(url(via), bob) };
  for (const { who, orderId } of acknowledged) {
    const order = await clients[who].signed<{ orderId: number }>("GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      orderId,
    });
    expect(order.status, `acknowledged order ${orderId} of ${who}`).toBe(200);
  }
  // Fees: every trade's commission, from both sides, exactly.
  const fees: Record<string, bigint> = { BTC: 0n, USDT: 0n, ETH: 0n };
  const tradeIds = new Set<string>();
  for (const who of ["alice", "bob"] as const) {
    const trades = await clients[who].signed<{ id: number; commission: string; commissionAsset: string }[]>(
      "GET",
      "/api/v3/myTrades",
      { symbol: "BTCUSDT", limit: 1000 },
    );
    for (const t of trades.body) {
      const key = `${who}:${t.id}`;
      expect(tradeIds.has(key), `trade ${key} listed twice`).toBe(false);
      tradeIds.add(key);
      fees[t.commissionAsset] =
        (fees[t.commissionAsset] ?? 0n) + parseUnits(t.commission, DECIMALS[t.commissionAsset]!);
    }
  }
  const [a, b] = [await balancesOf(alice.userId), await balancesOf(bob.userId)];
  expect((a.USDT ?? 0n) + (b.USDT ?? 0n) + fees.USDT!).toBe(parseUnits(DEPOSITS.alice.USDT, 8));
  expect((a.BTC ?? 0n) + (b.BTC ?? 0n) + fees.BTC!).toBe(parseUnits(DEPOSITS.bob.BTC, 8));
  // Reconcile waits for settlement to reach UBSCore's position: the store is complete after it.
  const reconciled = await admin<{ differences: unknown[] }>("POST", "/admin/v1/reconcile", {});
  expect(reconciled.differences).toEqual([]);
  const store = await CassandraStore.connect({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace: KEYSPACE,
  });
  try {
    const stored = new Set((await store.tradesByUser(alice.userId, 1)).map((t) => String(t.tradeId)));
    const listed = [...tradeIds].filter((k) => k.startsWith("alice:")).map((k) => k.slice("alice:".length));
    expect(stored).toEqual(new Set(listed));
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bourse-e2e-"));
  cassandra = await startCassandra();
  const config = join(dir, "bourse.json");
  await writeFile(
    config,
    JSON.stringify({
      store: {
        kind: "cassandra",
        contactPoints: cassandra.contactPoints,
        localDataCenter: cassandra.localDataCenter,
        keyspace: KEYSPACE,
      },
    }),
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
  for (const [name, deposits] of Object.entries(DEPOSITS)) {
    const user = await admin<Credentials & { userId: number }>("POST", "/admin/v1/users", {});
    for (const [asset, amount] of Object.entries(deposits)) {
      await admin("POST", "/admin/v1/deposits", { userId: user.userId, asset, amount });
    }
    if (name === "alice") alice = user;
    else bob = user;
  }
}, 600_000);

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await cassandra?.stop();
});

describe("the multi-process exchange", () => {
  it("trades across two gateways on one UBSCore; both gateways see the same state", async () => {
    const sellerOnB = ccxtClient(bob, url(1));
    const buyerOnA = ccxtClient(alice, url(0));
    await sellerOnB.loadMarkets();
    await buyerOnA.loadMarkets();
    for (let i = 0; i < 5; i++) {
      const o = await sellerOnB.createLimitSellOrder("BTC/USDT", 0.1, 60000 + i * 10);
      acknowledged.push({ who: "bob", orderId: o.id! });
    }
    const bought = await buyerOnA.createMarketBuyOrder("BTC/USDT", 0.25);
    acknowledged.push({ who: "alice", orderId: bought.id! });
    expect(bought.filled).toBe(0.25);
    // Bob's view through gateway A equals his view through gateway B (one state, replicated).
    const [viaA, viaB] = [new TestClient(url(0), bob), new TestClient(url(1), bob)];
    const accountA = await viaA.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    const accountB = await viaB.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    expect(accountA.body.balances).toEqual(accountB.body.balances);
    expect((await buyerOnA.fetchOrderBook("BTC/USDT")).asks[0]).toEqual([60020, 0.05]);
    await checkInvariants(0);
  });

  it("survives a gateway killed mid-run: a restarted gateway serves everything acknowledged", async () => {
    const buyer = ccxtClient(alice, url(0));
    await buyer.loadMarkets();
    const acks = await loadThenKill(
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
    const seller = ccxtClient(bob, url(1));
    const buyer = ccxtClient(alice, url(0));
    await seller.loadMarkets();
    await buyer.loadMarkets();
    // Crossing orders from both gateways: fills are being applied when UBSCore dies.
    const acks = await loadThenKill(
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
