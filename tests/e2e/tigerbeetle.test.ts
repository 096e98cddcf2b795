import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../infra/ports.ts";
import { startTigerBeetle, type TigerBeetleServer } from "../infra/tigerbeetle.ts";
import { crossTrade, Session } from "./harness.ts";

/**
 * `bourse start` (the whole exchange in one process) with `ledger.kind: tigerbeetle` on a real
 * replica: trade, crash TigerBeetle under order load and start it again, crash the exchange and
 * start it again; then every acknowledged order is there, money adds up, and reconcile finds no
 * difference between UBSCore and TigerBeetle.
 */
const ADMIN_TOKEN = "tigerbeetle-e2e-admin-token-0123";
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");

let tigerBeetle: TigerBeetleServer;
let exchange: { child: ChildProcess; exited: Promise<number | null> } | undefined;
let dir: string;
let env: NodeJS.ProcessEnv;
let tradingUrl: string;

beforeAll(async () => {
  tigerBeetle = await startTigerBeetle();
  dir = await mkdtemp(join(tmpdir(), "bourse-e2e-tb-"));
  const config = join(dir, "bourse.json");
  const ledger = {
    kind: "tigerbeetle",
    clusterId: String(tigerBeetle.clusterId),
    addresses: [tigerBeetle.address],
  };
  await writeFile(config, JSON.stringify({ ledger }));
  const [gateway, admin] = [await freePort(), await freePort()];
  tradingUrl = `http://127.0.0.1:${gateway}`;
  env = {
    ...process.env,
    BOURSE_CONFIG: config,
    BOURSE_DATA_DIR: join(dir, "data"),
    BOURSE_DEMO: "false",
    BOURSE_GATEWAY_PORT: String(gateway),
    BOURSE_ADMIN_PORT: String(admin),
    BOURSE_ADMIN_TOKEN: ADMIN_TOKEN,
  };
});

afterAll(async () => {
  exchange?.child.kill("SIGKILL");
  await exchange?.exited;
  await tigerBeetle?.stop();
});

/** Starts `bourse start`; resolves once its trading API answers. */
async function startExchange(): Promise<void> {
  const log = openSync(join(dir, "bourse.log"), "a");
  const child = spawn(process.execPath, [bin, "start"], { env, stdio: ["ignore", log, log] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  exchange = { child, exited };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`bourse start exited with ${child.exitCode}; see ${dir}/bourse.log`);
    const ok = await fetch(`${tradingUrl}/api/v3/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`bourse start not ready; see ${dir}/bourse.log`);
}

describe("the exchange on a real TigerBeetle", () => {
  it("trades through a TigerBeetle crash and an exchange crash; reconcile finds no difference", async () => {
    await startExchange();
    const session = new Session(`http://127.0.0.1:${env.BOURSE_ADMIN_PORT}`, ADMIN_TOKEN);
    await session.createUsers();
    await crossTrade(session, tradingUrl, tradingUrl);
    let crash: Promise<void> | undefined;
    await session.loadThenKill(session.crossingOrders(tradingUrl, tradingUrl), 60, () => {
      crash = tigerBeetle.restart(); // SIGKILL under load, then the same data file again
    });
    // Orders go on while TigerBeetle is away: UBSCore answers, settlement waits for the ledger.
    const place = session.crossingOrders(tradingUrl, tradingUrl);
    for (let n = 0; n < 20; n++) session.acknowledged.push(await place(n));
    await crash;
    exchange!.child.kill("SIGKILL");
    await exchange!.exited;
    await startExchange();
    await session.checkInvariants(tradingUrl);
    expect(session.acknowledged.length).toBeGreaterThan(80);
  }, 300_000);
});
