import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BATCH_MAX } from "../../ledger/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import type { HistoryBatch, HistoryStore } from "../../store/src/index.ts";
import type { UbsCommand } from "../../ubscore/src/index.ts";
import { exchange, funding, limitSell, openAll, submit } from "./world.ts";

/** The store, with `before` run ahead of each write (throwing refuses the write). */
function beforeWrites(store: HistoryStore, before: (batch: HistoryBatch) => void): HistoryStore {
  return {
    write: async (batch) => {
      before(batch);
      return store.write(batch);
    },
    order: (id) => store.order(id),
    orderByClientId: (u, m, c) => store.orderByClientId(u, m, c),
    ordersByUser: (u, m, page) => store.ordersByUser(u, m, page),
    tradesByMarket: (m, l) => store.tradesByMarket(m, l),
    tradesFrom: (m, f, l) => store.tradesFrom(m, f, l),
    tradesByUser: (u, m, page) => store.tradesByUser(u, m, page),
    close: () => store.close(),
  };
}

const commandArb: fc.Arbitrary<UbsCommand> = fc.oneof(
  fc
    .record({
      userId: fc.integer({ min: 1, max: 3 }),
      side: fc.constantFrom(Side.Buy, Side.Sell),
      market: fc.boolean(),
      price: fc.integer({ min: 5_990_000, max: 6_010_000 }),
      qty: fc.integer({ min: 100, max: 5_000 }),
      id: fc.nat(1000),
    })
    .map(
      (o): UbsCommand => ({
        kind: "place",
        userId: o.userId,
        symbol: "BTCUSDT",
        clientOrderId: `c${o.id}`,
        side: o.side,
        type: o.market ? OrderType.Market : OrderType.Limit,
        tif: o.market ? TimeInForce.IOC : TimeInForce.GTC,
        priceTicks: o.market ? 0 : o.price,
        qtyLots: o.qty,
        quoteUnits: 0n,
        stp: 0,
        time: 1,
      }),
    ),
  fc.record({
    kind: fc.constantFrom("credit" as const, "debit" as const),
    userId: fc.integer({ min: 1, max: 3 }),
    asset: fc.constantFrom("BTC", "USDT"),
    amount: fc.bigInt({ min: 1n, max: 10n ** 10n }),
  }),
  fc.record({
    kind: fc.constant("holdWithdrawal" as const),
    withdrawalId: fc.constantFrom("a", "b", "c"),
    userId: fc.integer({ min: 1, max: 3 }),
    asset: fc.constantFrom("BTC", "USDT"),
    amount: fc.bigInt({ min: 1n, max: 10n ** 9n }),
  }),
  fc.record({
    kind: fc.constantFrom("completeWithdrawal" as const, "cancelWithdrawal" as const),
    withdrawalId: fc.constantFrom("a", "b", "c"),
  }),
);

describe("Settlement", () => {
  it("keeps the ledger equal to UBSCore for random flows of orders, deposits and withdrawals (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 5, maxLength: 60, size: "max" }), async (cmds) => {
        const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
        const all = await openAll(dir);
        await submit(all.service, [...funding, ...cmds]);
        const result = await all.check();
        expect(result.differences).toEqual([]);
        await all.expectHistoryMatches();
        await all.close();
        await rm(dir, { recursive: true });
      }),
      { numRuns: 25 },
    );
  }, 240_000);

  it("settles exactly once across restarts, even when its position is lost", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    const first = await openAll(dir);
    const orders = fc.sample(commandArb, { numRuns: 80, seed: 42 });
    await submit(first.service, [...funding, ...orders]);
    expect(first.service.core.tradesOf(1).length).toBeGreaterThan(0);
    expect((await first.check()).differences).toEqual([]);
    await first.close();
    // Forget where settlement was: everything is re-sent and the ledger answers `exists`.
    await rm(join(dir, "settlement", "position"));
    const second = await openAll(dir);
    expect((await second.check()).differences).toEqual([]);
    await second.expectHistoryMatches();
    expect(second.settlement.failure).toBeUndefined();
    await submit(second.service, fc.sample(commandArb, { numRuns: 20, seed: 7 }));
    expect((await second.check()).differences).toEqual([]);
    await second.expectHistoryMatches();
    await second.close();
  });
});

describe("Settlement's queue and position on disk", () => {
  it("keeps only the unsettled tail of its queue, and settles once after its position reads as garbage", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    const small = { queueSegmentBytes: 4096 };
    const first = await openAll(dir, undefined, 25, small);
    await submit(first.service, [...funding, ...fc.sample(commandArb, { numRuns: 120, seed: 11 })]);
    expect((await first.check()).differences).toEqual([]);
    const queueDir = join(dir, "settlement", "queue");
    const segments = (await readdir(queueDir)).sort();
    // Far more was queued than one segment holds; only the segment being written is left.
    expect(first.settlement.recordedLsn).toBeGreaterThan(100);
    expect(segments.length).toBeLessThanOrEqual(2);
    expect(Number(segments[0]!.slice(0, 20))).toBeGreaterThan(1);
    await first.close();
    // A crash that left the position's block zeroed: it reads as 0, everything left is re-sent.
    await writeFile(join(dir, "settlement", "position"), Buffer.alloc(21));
    const second = await openAll(dir, undefined, 25, small);
    expect((await second.check()).differences).toEqual([]);
    expect(second.settlement.settledLsn).toBe(second.settlement.recordedLsn);
    await second.expectHistoryMatches();
    expect(second.settlement.failure).toBeUndefined();
    await second.close();
  });
});

describe("Settlement of one order larger than a ledger batch", () => {
  it("settles a market order that fills against more makers than a batch of transfers holds", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    const all = await openAll(dir, undefined, 1_000_000);
    const makers = Math.ceil(BATCH_MAX / 3); // at least three legs a trade
    const sells = Array.from({ length: makers }, (_, i): UbsCommand => limitSell(i));
    const sweep: UbsCommand = {
      kind: "place",
      userId: 2,
      symbol: "BTCUSDT",
      clientOrderId: "sweep",
      side: Side.Buy,
      type: OrderType.Market,
      tif: TimeInForce.IOC,
      priceTicks: 0,
      qtyLots: makers * 100,
      quoteUnits: 0n,
      stp: 0,
      time: 1,
    };
    await submit(all.service, funding);
    await Promise.all(sells.map((c) => all.service.submit(c))); // in few group commits
    await submit(all.service, [sweep]);
    expect(all.service.core.tradesOf(1).length).toBe(makers);
    expect((await all.check()).differences).toEqual([]);
    expect(all.settlement.failure).toBeUndefined();
    await all.expectHistoryMatches();
    await all.close();
    await rm(dir, { recursive: true });
  });
});

describe("Settlement with an unreachable store", () => {
  it("keeps its queue, retries, and settles everything exactly once when the store is back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    let down = false;
    let refused = 0;
    const all = await openAll(dir, (store) =>
      beforeWrites(store, () => {
        if (down) {
          refused++;
          throw new Error("connect ECONNREFUSED (store restarting)");
        }
      }),
    );
    await submit(all.service, funding);
    down = true;
    await submit(all.service, fc.sample(commandArb, { numRuns: 60, seed: 3 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(refused).toBeGreaterThan(1);
    expect(all.settlement.lastError?.message).toContain("ECONNREFUSED");
    expect(all.settlement.failure).toBeUndefined();
    down = false;
    expect((await all.check()).differences).toEqual([]);
    await all.expectHistoryMatches();
    expect(all.settlement.lastError).toBeUndefined();
    await all.close();
  });
});

describe("Settlement of a backlog", () => {
  it("settles a backlog of resting orders in bounded batches, each record once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    let down = false;
    const sizes: number[] = [];
    const all = await openAll(
      dir,
      (store) =>
        beforeWrites(store, (batch) => {
          if (down) throw new Error("connect ECONNREFUSED (store restarting)");
          sizes.push(batch.orders.length);
        }),
      1_000_000,
    );
    await submit(all.service, funding);
    down = true;
    // Orders that rest move no money: only the number of records bounds their batches.
    const resting = Array.from(
      { length: 3_000 },
      (_, i): UbsCommand => ({
        kind: "place",
        userId: 1 + (i % 3),
        symbol: "BTCUSDT",
        clientOrderId: `r${i}`,
        side: Side.Buy,
        type: OrderType.Limit,
        tif: TimeInForce.GTC,
        priceTicks: 5_000_000 + i,
        qtyLots: 100,
        quoteUnits: 0n,
        stp: 0,
        time: 1,
      }),
    );
    await Promise.all(resting.map((c) => all.service.submit(c)));
    down = false;
    expect((await all.check()).differences).toEqual([]);
    await all.expectHistoryMatches();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3_000);
    await all.close();
  });
});

describe("Settlement conflicts", () => {
  it("stops and reports, never skips, when the ledger holds a different transfer under a derived id", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-settle-"));
    const all = await openAll(dir);
    await submit(all.service, funding.slice(0, 1));
    await all.settlement.waitSettled(all.service.lastLsn);
    // Occupy the id the next deposit will derive (journal position 2) with a different amount.
    const { AccountKind, accountId, TransferKind, transferId, transfer } = await import(
      "../../ledger/src/index.ts"
    );
    const usdt = exchange.asset("USDT")!.id;
    await all.ledger.createTransfers([
      transfer({
        id: transferId(TransferKind.Deposit, 0, 2, 0),
        debit_account_id: accountId(AccountKind.Deposits, usdt),
        credit_account_id: accountId(AccountKind.Trading, usdt, 1),
        amount: 1n,
        ledger: usdt,
        code: 1,
      }),
    ]);
    await submit(all.service, funding.slice(1, 2));
    await expect(all.settlement.waitSettled(all.service.lastLsn)).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("exists_with_different_amount"),
    });
    expect(all.settlement.settledLsn).toBe(1);
    await all.close();
  });
});
