import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTigerBeetle, type TigerBeetleServer } from "../../../tests/infra/tigerbeetle.ts";
import {
  AccountKind,
  accountId,
  BATCH_MAX,
  TigerBeetleLedger,
  TransferKind,
  transfer,
  transferId,
} from "../../ledger/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { exchange, funding, limitSell, openAll, submit } from "./world.ts";

/**
 * Settlement against a real TigerBeetle replica (a fresh one per test: settlement derives its
 * account ids from user ids, so two tests on one cluster would share accounts).
 */
let server: TigerBeetleServer;
beforeEach(async () => {
  server = await startTigerBeetle();
});
afterEach(async () => {
  await server?.stop();
});

const onTigerBeetle = () => async () => new TigerBeetleLedger(server.clusterId, [server.address]);

describe("Settlement on a real TigerBeetle", () => {
  it("settles an order larger than a request through a TigerBeetle crash, and reconciles past a request of accounts", async () => {
    const lines: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-tb-"));
    const all = await openAll(dir, undefined, 1_000_000, { log: (l) => lines.push(l) }, onTigerBeetle());
    await submit(all.service, funding);
    // Enough users that reconcile looks up more trading accounts than one request holds.
    const users = Math.ceil(BATCH_MAX / exchange.assets.length) + 10;
    await Promise.all(
      Array.from({ length: users }, (_, i) => all.service.submit({ kind: "createUser", userId: 1000 + i })),
    );
    const makers = Math.ceil(BATCH_MAX / 3); // at least three legs a trade: more than one request
    await Promise.all(Array.from({ length: makers }, (_, i) => all.service.submit(limitSell(i))));
    const crash = server.restart(); // SIGKILL, then the same data file again
    await submit(all.service, [
      {
        ...limitSell(0),
        userId: 2,
        clientOrderId: "sweep",
        side: Side.Buy,
        type: OrderType.Market,
        tif: TimeInForce.IOC,
        priceTicks: 0,
        qtyLots: makers * 100,
      },
    ]);
    await crash;
    expect(all.service.core.tradesOf(1).length).toBe(makers);
    const result = await all.check();
    expect(result.differences).toEqual([]);
    expect(result.accountsChecked).toBeGreaterThan(BATCH_MAX);
    expect(all.settlement.failure).toBeUndefined();
    expect(lines.filter((l) => l.includes("stopped"))).toEqual([]);
    await all.close();
  }, 300_000);

  it("stops loudly on a conflict, reports it, and stays stopped after a restart", async () => {
    const lines: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-tb-"));
    const open = () => openAll(dir, undefined, 25, { log: (l) => lines.push(l) }, onTigerBeetle());
    const first = await open();
    await submit(first.service, funding.slice(0, 1));
    await first.settlement.waitSettled(first.service.lastLsn);
    // Occupy the id the next deposit will derive (journal position 2) with a different amount.
    const usdt = exchange.asset("USDT")!.id;
    const occupied = transfer({
      id: transferId(TransferKind.Deposit, 0, 2, 0),
      debit_account_id: accountId(AccountKind.Deposits, usdt),
      credit_account_id: accountId(AccountKind.Trading, usdt, 1),
      amount: 1n,
      ledger: usdt,
      code: 1,
    });
    await first.ledger.createTransfers([occupied]);
    await submit(first.service, funding.slice(1, 2));
    const conflict = { code: "CONFLICT", message: expect.stringContaining("exists_with_different_amount") };
    await expect(first.settlement.waitSettled(first.service.lastLsn)).rejects.toMatchObject(conflict);
    expect(first.settlement.failure).toMatchObject(conflict);
    expect(first.settlement.settledLsn).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(/^settlement stopped at position 1: CONFLICT: .*exists_with_different_amount/),
    ]);
    await first.close();
    // Restarted, it sends the same batch, gets the same answer and stops again: no retry loop.
    const second = await open();
    await expect(second.settlement.waitSettled(second.service.lastLsn)).rejects.toMatchObject(conflict);
    expect(second.settlement.settledLsn).toBe(1);
    expect(lines).toHaveLength(2);
    await second.close();
  }, 120_000);
});
