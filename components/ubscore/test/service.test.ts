import { mkdtemp, readdir, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/errors.ts";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/exchange.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/protocol.ts";
import type { UbsCore } from "../src/core.ts";
import { UbsCoreService } from "../src/service.ts";
import type { UbsCommand } from "../src/types.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);

/** A canonical, comparable picture of everything UBSCore holds. */
function dump(core: UbsCore): string {
  const users = [1, 2, 3];
  return JSON.stringify(
    {
      balances: users.map((u) => core.balancesOf(u)),
      fees: core.fees,
      open: users.map((u) => core.openOrders(u)),
      all: users.map((u) => core.allOrders(u, 1)),
      trades: core.tradesOf(1),
      books: [1, 2].map((m) => core.engine(m).restingOrders()),
      depth: core.engine(1).depth(),
    },
    (_, v) => (typeof v === "bigint" ? `${v}n` : v),
  );
}

function script(): UbsCommand[] {
  const cmds: UbsCommand[] = [1, 2, 3].map((userId) => ({ kind: "createUser", userId }));
  for (const userId of [1, 2, 3]) {
    cmds.push({ kind: "credit", userId, asset: "USDT", amount: 1_000_000_00000000n });
    cmds.push({ kind: "credit", userId, asset: "BTC", amount: 10_00000000n });
  }
  for (let i = 0; i < 200; i++) {
    const userId = (i % 3) + 1;
    const side = i % 2 === 0 ? Side.Buy : Side.Sell;
    cmds.push({
      kind: "place",
      userId,
      symbol: "BTCUSDT",
      clientOrderId: `c${i}`,
      side,
      type: i % 7 === 0 ? OrderType.Market : OrderType.Limit,
      tif: i % 7 === 0 ? TimeInForce.IOC : TimeInForce.GTC,
      priceTicks: i % 7 === 0 ? 0 : 6_000_000 + ((i * 37) % 11) - 5,
      qtyLots: 1_000 + ((i * 53) % 5_000),
      quoteUnits: 0n,
      stp: 0,
      time: 1_700_000_000_000 + i,
    });
    if (i % 5 === 4)
      cmds.push({ kind: "cancel", userId, symbol: "BTCUSDT", clientOrderId: `c${i - 3}`, time: 1 });
  }
  return cmds;
}

async function submitAll(service: UbsCoreService, cmds: UbsCommand[]): Promise<void> {
  // Submitted concurrently, as a busy gateway would: group commit must keep them in order.
  await Promise.all(
    cmds.map((c) =>
      service.submit(c).catch((e) => {
        if (!isBourseError(e)) throw e;
      }),
    ),
  );
}

describe("UbsCoreService", () => {
  it("restores the identical state from its journal after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const service = await UbsCoreService.open(dir, exchange);
    await submitAll(service, script());
    const before = dump(service.core);
    expect(service.core.tradesOf(1).length).toBeGreaterThan(10);
    await service.close();
    const reopened = await UbsCoreService.open(dir, exchange);
    expect(dump(reopened.core)).toBe(before);
    await reopened.close();
  });

  it("restarts from a snapshot plus the journal after it, and drops the segments the snapshot covers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const options = { snapshotEvery: 50, journalSegmentBytes: 2048 };
    const service = await UbsCoreService.open(dir, exchange, options);
    const cmds = script();
    // In chunks, so that group commits stay small and the journal rolls over many segments.
    for (let i = 0; i < cmds.length; i += 20) await submitAll(service, cmds.slice(i, i + 20));
    const before = dump(service.core);
    await service.close();
    expect(service.lastSnapshotError).toBeUndefined();
    const snapshots = await readdir(join(dir, "ubscore", "snapshots"));
    expect(snapshots.length).toBeGreaterThan(0);
    const segments = await readdir(join(dir, "ubscore", "journal"));
    expect(segments[0]).not.toBe("00000000000000000001.wal");
    const reopened = await UbsCoreService.open(dir, exchange, options);
    expect(reopened.replayedCommands).toBeLessThan(50);
    expect(dump(reopened.core)).toBe(before);
    await reopened.close();
  });

  it("drops a torn last record and recovers exactly the acknowledged prefix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const cmds = script();
    const service = await UbsCoreService.open(dir, exchange);
    await submitAll(service, cmds.slice(0, -1));
    const acknowledged = dump(service.core);
    await submitAll(service, cmds.slice(-1));
    await service.close();
    const journalDir = join(dir, "ubscore", "journal");
    const [segment] = await readdir(journalDir);
    const path = join(journalDir, segment!);
    await truncate(path, (await stat(path)).size - 3);
    const reopened = await UbsCoreService.open(dir, exchange);
    expect(dump(reopened.core)).toBe(acknowledged);
    await reopened.close();
  });
});
