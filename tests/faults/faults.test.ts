import { execFileSync } from "node:child_process";
import { appendFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitOrder, TestClient } from "../api/client.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "../e2e/local-exchange.ts";

/**
 * Faults over the multi-process exchange (Aeron IPC between the processes) under steady signed
 * order load from a real Binance client: SIGKILLs of random components (UBSCore, matching,
 * settlement, the gateways) at random points (seeded: BOURSE_FAULT_SEED), a Kafka restart (UBSCore's event
 * stream and settlement's feed), a Cassandra crash, a torn journal
 * tail, a full disk under the journal. After each: every acknowledged order is still there, no
 * trade twice, every asset's total equals its deposits to the unit, reconcile reports no
 * difference, the store holds every trade.
 */
const SEED = Number(process.env.BOURSE_FAULT_SEED ?? 20261124);
const KILLS = Number(process.env.BOURSE_FAULT_KILLS ?? 22);
let infra: LocalInfrastructure;
let exchange: LocalExchange;
const summary = { kills: 0, invariantChecks: 0, killed: new Map<string, number>() };

/** mulberry32: a small seeded generator, so a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function check(via: number): Promise<void> {
  await exchange.checkInvariants(via);
  await exchange.checkReplay(via);
  summary.invariantChecks++;
}

beforeAll(async () => {
  infra = await startLocalInfrastructure();
  exchange = await LocalExchange.start({ gateways: 2, keyspace: "bourse_faults", ...infra });
}, 600_000);

afterAll(async () => {
  exchange?.stop();
  await infra?.stop();
  process.stdout.write(
    `faults: seed ${SEED}, ${summary.kills} kills (${[...summary.killed].map(([c, n]) => `${c} ${n}`).join(", ")}), ${exchange?.session.acknowledged.length ?? 0} acknowledged orders, ${summary.invariantChecks} invariant checks, nothing lost\n`,
  );
});

/** What the fault test kills: a gateway by its index, or a component. */
type Victim = "ubscore" | "matching" | "settlement" | 0 | 1;

/** UBSCore 30%, matching 20%, settlement 15%, else either gateway. */
function pickVictim(next: () => number): Victim {
  const pick = next();
  if (pick < 0.3) return "ubscore";
  if (pick < 0.5) return "matching";
  if (pick < 0.65) return "settlement";
  return next() < 0.5 ? 0 : 1;
}

/** Brings a killed victim back (matching is restarted at once, in the kill itself). */
async function restart(victim: Victim): Promise<void> {
  if (victim === "ubscore") await exchange.restartUbsCore(false);
  else if (victim === "settlement") await exchange.restartSettlement(false);
  else if (typeof victim === "number") await exchange.restartGateway(victim, false);
}

/** Fills the file system at `mountPoint` to the last byte; returns the file that holds it. */
async function fillDisk(mountPoint: string): Promise<string> {
  const filler = join(mountPoint, "filler");
  const chunk = Buffer.alloc(1024 * 1024);
  await writeFile(filler, "");
  for (;;) {
    try {
      await appendFile(filler, chunk);
    } catch {
      break;
    }
  }
  for (let small = 4096; small >= 1; small = Math.floor(small / 2)) {
    await appendFile(filler, Buffer.alloc(small)).catch(() => {});
  }
  return filler;
}

/**
 * Alice's orders until one is refused: appends fit in the journal file's last page until it is
 * full; then the disk refuses them. Acknowledged ones are recorded.
 */
async function orderUntilRefused(full: LocalExchange) {
  const { session } = full;
  const alice = new TestClient(full.url(0), session.users.alice);
  for (let i = 0; i < 2000; i++) {
    const reply = await alice.signed<{ code: number; msg: string; orderId: number }>(
      "POST",
      "/api/v3/order",
      limitOrder("BUY", "0.01", "50000"),
    );
    if (reply.status === 200)
      session.acknowledged.push({ who: "alice", orderId: String(reply.body.orderId) });
    // Journaled, but its outcome from matching could not be (-1007, status unknown): it runs
    // after the restart below. Not acknowledged, not refused.
    else if (reply.body.code !== -1007) return reply;
  }
  return undefined;
}

describe("fault injection", () => {
  it(`survives ${KILLS} SIGKILLs of random components at random points (seed ${SEED})`, async () => {
    const next = random(SEED);
    const { session } = exchange;
    for (let k = 0; k < KILLS; k++) {
      const victim = pickVictim(next);
      const seller = next() < 0.5 ? 0 : 1;
      const killAfter = 1 + Math.floor(next() * 12);
      // Matching comes back at once: orders in flight wait for it rather than time out.
      let restarted: Promise<void> = Promise.resolve();
      await session.loadThenKill(
        session.crossingOrders(exchange.url(seller), exchange.url(1 - seller)),
        killAfter,
        () => {
          (typeof victim === "number" ? exchange.gateways[victim]! : exchange[victim]!).child.kill("SIGKILL");
          if (victim === "matching") restarted = exchange.restartMatching(false);
        },
      );
      summary.kills++;
      const name = typeof victim === "number" ? "gateway" : victim;
      summary.killed.set(name, (summary.killed.get(name) ?? 0) + 1);
      await restarted;
      await restart(victim);
      await check(next() < 0.5 ? 0 : 1);
    }
    await exchange.checkEventStream();
    summary.invariantChecks++;
  }, 900_000);

  it("keeps trading through a Kafka restart; the event stream then holds every trade once", async () => {
    const { session } = exchange;
    let restarted: Promise<void> = Promise.resolve();
    await session.loadThenKill(session.crossingOrders(exchange.url(1), exchange.url(0)), 5, () => {
      restarted = infra.kafka.restart();
    });
    // Orders do not wait for the event log: its records queue in UBSCore until Kafka is back (and
    // settlement, fed through it, catches up then).
    await session.loadThenKill(session.crossingOrders(exchange.url(0), exchange.url(1)), 10, () => {});
    await restarted;
    await check(1);
    await exchange.checkEventStream();
    summary.invariantChecks++;
  }, 300_000);

  it("keeps trading through a Cassandra crash; the store catches up once it is back", async () => {
    const { session } = exchange;
    let restarted: Promise<void> = Promise.resolve();
    await session.loadThenKill(session.crossingOrders(exchange.url(0), exchange.url(1)), 5, () => {
      restarted = infra.cassandra.restart();
    });
    // Orders do not wait for the store: trading goes on while Cassandra is down.
    await session.loadThenKill(session.crossingOrders(exchange.url(1), exchange.url(0)), 10, () => {});
    await restarted;
    await check(0);
  }, 300_000);

  it("recovers from a torn record at the journal's tail after a crash", async () => {
    const { session } = exchange;
    await session.loadThenKill(session.crossingOrders(exchange.url(0), exchange.url(1)), 8, () =>
      exchange.ubscore.child.kill("SIGKILL"),
    );
    await exchange.ubscore.exited;
    const journal = join(exchange.dir, "data", "ubscore", "journal");
    const last = (await readdir(journal))
      .filter((f) => f.endsWith(".wal"))
      .sort()
      .at(-1)!;
    // Half a record: a length header promising more than follows, then noise.
    await appendFile(join(journal, last), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]));
    await exchange.restartUbsCore(false);
    await check(1);
  });
});

describe.runIf(process.getuid?.() === 0)("a full disk under UBSCore's journal", () => {
  let full: LocalExchange;
  let mountPoint: string;

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), "bourse-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mountPoint]);
    full = await LocalExchange.start({
      gateways: 1,
      cassandra: infra.cassandra,
      keyspace: "bourse_full",
      aeron: infra.aeron,
      dataDir: join(mountPoint, "data"),
    });
  }, 300_000);

  afterAll(() => {
    full?.stop();
    if (mountPoint) execFileSync("umount", ["-l", mountPoint]);
  });

  it("refuses orders with a clear error while full, loses nothing acknowledged, and recovers", async () => {
    const { session } = full;
    await session.loadThenKill(session.crossingOrders(full.url(0), full.url(0)), 10, () => {});
    const filler = await fillDisk(mountPoint);
    const refused = await orderUntilRefused(full);
    expect(refused?.status).toBe(503);
    // Binance's answer for "could not process": the client retries; the cause stays server-side.
    expect(refused?.body).toEqual({
      code: -1001,
      msg: "Internal error; unable to process your request. Please try again.",
    });
    await rm(filler);
    // The journal refuses appends after a failed write until UBSCore restarts on the intact file.
    await full.restartUbsCore(true);
    await full.checkInvariants(0);
    await session.loadThenKill(session.crossingOrders(full.url(0), full.url(0)), 5, () => {});
    await full.checkInvariants(0);
  });
});
