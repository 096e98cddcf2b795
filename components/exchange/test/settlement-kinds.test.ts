import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/src/index.ts";
import { startUbsCoreNode } from "../src/embedded.ts";

const fixture = join(import.meta.dirname, "fixtures", "trade-until-killed.ts");

/** Runs the fixture on `dataDir` until it has acknowledged `acks` orders, then SIGKILLs it. */
async function tradeThenKill(dataDir: string, kind: string, acks: number): Promise<number[]> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir, kind], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const acked: number[] = [];
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for await (const line of createInterface({ input: child.stdout! })) {
    acked.push(Number(line.split(" ")[1]));
    if (acked.length >= acks) break;
  }
  child.kill("SIGKILL");
  await exited;
  expect(acked.length).toBeGreaterThanOrEqual(acks);
  return acked;
}

/**
 * Settlement inline (on UBSCore's thread) and on a worker thread of its own: the same guarantees,
 * checked the same way. The whole process is SIGKILLed at three points of a run of crossing
 * orders (snapshots every 150 commands, so after some that dropped journal); after each restart
 * settlement catches up from where it stopped: the ledger matches UBSCore to the unit, every
 * acknowledged order is in UBSCore or the history store, and every trade is stored once.
 */
describe.each(["inline", "worker"] as const)("settlement %s", (kind) => {
  it("loses nothing acknowledged to a SIGKILL at any point, and settles each trade once", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), `bourse-settlement-${kind}-`));
    const config = await loadConfig({
      overrides: { dataDir, demo: true, gateway: { adminPort: 0 }, settlement: { kind } },
    });
    const acked: number[] = [];
    for (const acks of [40, 260, 500]) {
      acked.push(...(await tradeThenKill(dataDir, kind, acks)));
      const node = await startUbsCoreNode(config, false);
      try {
        await node.settlement.waitSettled(node.service.lastLsn);
        expect(node.settlement.settledLsn).toBe(node.settlement.recordedLsn);
        expect((await node.reconcile()).differences).toEqual([]);
        const core = node.service.core;
        for (const orderId of acked) {
          const stored = await node.store.order(orderId);
          expect(stored ?? core.order(orderId), `order ${orderId}`).toBeDefined();
          // Each acknowledged order crossed or rests: the store has its state as UBSCore has it.
          if (core.order(orderId)) expect(stored?.status).toBe(core.order(orderId)!.status);
        }
        const trades = await node.store.tradesByMarket(1, 100_000);
        expect(trades.map((t) => t.tradeId)).toEqual(core.tradesOf(1).map((t) => t.tradeId));
      } finally {
        await node.close();
      }
    }
  }, 180_000);
});
