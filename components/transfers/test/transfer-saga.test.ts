import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransferFlags } from "tigerbeetle-node";
import { beforeEach, describe, expect, it } from "vitest";
import { BourseError, DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import {
  AccountKind,
  accountId,
  EmbeddedLedger,
  type LedgerPort,
  postInternalTransfer,
  TransferKind,
  transfer,
  transferId,
} from "../../ledger/src/index.ts";
import { reconcile, Settlement } from "../../settlement/src/index.ts";
import { EmbeddedStore } from "../../store/src/index.ts";
import { UbsCoreService } from "../../ubscore/src/index.ts";
import { ubsCoreTradingPort } from "../src/trading-port.ts";
import { type TradingBalancePort, TransferSaga, type TransferType } from "../src/transfer-saga.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const USDT = exchange.asset("USDT")!.id;
const USER = 1;
const UNIT = 10n ** 8n;

/** A crash injected at one point: the call before it happened, nothing after it did. */
class Crash extends Error {}

type Point = "ledger:before" | "ledger:after" | "ubscore:before" | "ubscore:after" | "none";

function faulty(ledger: LedgerPort, trading: TradingBalancePort, at: Point, nth = 1) {
  let seen = 0;
  const maybe = (point: Point) => {
    if (point === at && ++seen === nth) throw new Crash(point);
  };
  const wrappedLedger: LedgerPort = {
    ...ledger,
    createAccounts: (b) => ledger.createAccounts(b),
    lookupAccounts: (ids) => ledger.lookupAccounts(ids),
    lookupTransfers: (ids) => ledger.lookupTransfers(ids),
    close: () => ledger.close(),
    async createTransfers(batch) {
      maybe("ledger:before");
      const r = await ledger.createTransfers(batch);
      maybe("ledger:after");
      return r;
    },
  };
  const wrap =
    (f: TradingBalancePort["transferIn"]): TradingBalancePort["transferIn"] =>
    async (...args) => {
      maybe("ubscore:before");
      await f(...args);
      maybe("ubscore:after");
    };
  return {
    ledger: wrappedLedger,
    trading: { transferIn: wrap(trading.transferIn), transferOut: wrap(trading.transferOut) },
  };
}

interface World {
  dir: string;
  ledger: EmbeddedLedger;
  service: UbsCoreService;
  settlement: Settlement;
  trading: TradingBalancePort;
}

async function world(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), "bourse-saga-"));
  const ledger = await EmbeddedLedger.open(join(dir, "ledger"));
  const settlement = await Settlement.open(
    join(dir, "settlement"),
    ledger,
    await EmbeddedStore.open(join(dir, "store")),
    exchange,
  );
  const service = await UbsCoreService.open(dir, exchange, { verify: true });
  service.onCommand(settlement.record.bind(settlement));
  await service.submit({ kind: "createUser", userId: USER });
  await service.submit({ kind: "credit", userId: USER, asset: "USDT", amount: 1_000n * UNIT });
  // 500 USDT into the user's Funding account (the ledger is the Funding balance's authority).
  await settlement.waitSettled(service.lastLsn);
  await ledger.createTransfers([
    transfer({
      id: transferId(TransferKind.Deposit, 1, 1, 0),
      debit_account_id: accountId(AccountKind.Deposits, USDT),
      credit_account_id: accountId(AccountKind.Funding, USDT, USER),
      amount: 500n * UNIT,
      ledger: USDT,
      code: 1,
    }),
  ]);
  return { dir, ledger, service, settlement, trading: ubsCoreTradingPort(service) };
}

async function balances(w: World): Promise<{ funding: bigint; trading: bigint }> {
  await w.settlement.waitSettled(w.service.lastLsn);
  const [funding] = await w.ledger.lookupAccounts([accountId(AccountKind.Funding, USDT, USER)]);
  const b = w.service.core.balancesOf(USER)[USDT - 1]!;
  return { funding: funding!.credits_posted - funding!.debits_posted, trading: b.available + b.frozen };
}

async function reconciled(w: World): Promise<unknown[]> {
  await w.settlement.waitSettled(w.service.lastLsn);
  w.service.core.checkInvariants();
  await w.ledger.checkInvariants();
  return (await reconcile(w.service.core, w.ledger, w.service.lastLsn)).differences;
}

const POINTS: Point[] = ["ledger:before", "ledger:after", "ubscore:before", "ubscore:after"];

describe("TransferSaga moving funds", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it.each<[TransferType, bigint, bigint]>([
    ["FUNDING_MAIN", 400n, 1_100n],
    ["MAIN_FUNDING", 600n, 900n],
  ])(
    "%s moves the amount once, and retries with the same clientTranId return the same transfer",
    async (type, funding, trading) => {
      const saga = await TransferSaga.open(join(w.dir, "saga"), exchange, w.ledger, w.trading);
      const req = { userId: USER, type, asset: "USDT", amount: 100n * UNIT, clientTranId: "t-1", time: 1 };
      const first = await saga.request(req);
      expect(first.state).toBe("COMMITTED");
      const again = await saga.request(req);
      expect(again.seq).toBe(first.seq);
      expect(await balances(w)).toEqual({ funding: funding * UNIT, trading: trading * UNIT });
      await expect(saga.request({ ...req, amount: 1n })).rejects.toMatchObject({ code: "CONFLICT" });
      expect(await reconciled(w)).toEqual([]);
    },
  );

  it.each<[TransferType, bigint]>([
    ["FUNDING_MAIN", 501n],
    ["MAIN_FUNDING", 1_001n],
  ])("%s beyond the balance rolls back and moves nothing", async (type, amount) => {
    const saga = await TransferSaga.open(join(w.dir, "saga"), exchange, w.ledger, w.trading);
    const r = await saga.request({
      userId: USER,
      type,
      asset: "USDT",
      amount: amount * UNIT,
      clientTranId: "big",
      time: 1,
    });
    expect(r.state).toBe("ROLLED_BACK");
    expect(await balances(w)).toEqual({ funding: 500n * UNIT, trading: 1_000n * UNIT });
    expect(await reconciled(w)).toEqual([]);
  });
});

describe("TransferSaga through crashes and refusals", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it.each(["before", "after"])("a crash %s the compensating void recovers to ROLLED_BACK", async (when) => {
    const refusing: TradingBalancePort = {
      ...w.trading,
      transferIn: async () => {
        throw new BourseError("MARKET_HALTED", "transfers are suspended");
      },
    };
    const before = await balances(w);
    // The second ledger call of FUNDING_MAIN is the void.
    const broken = faulty(w.ledger, refusing, when === "before" ? "ledger:before" : "ledger:after", 2);
    const sagaDir = join(w.dir, "saga");
    const crashed = await TransferSaga.open(sagaDir, exchange, broken.ledger, broken.trading);
    const req = {
      userId: USER,
      type: "FUNDING_MAIN" as const,
      asset: "USDT",
      amount: 70n * UNIT,
      clientTranId: "v",
      time: 1,
    };
    await expect(crashed.request(req)).rejects.toBeInstanceOf(Crash);
    await crashed.close();
    const recovered = await TransferSaga.open(sagaDir, exchange, w.ledger, refusing);
    await recovered.recover();
    expect(recovered.history(USER)[0]!.state).toBe("ROLLED_BACK");
    expect(await balances(w)).toEqual(before);
    const [funding] = await w.ledger.lookupAccounts([accountId(AccountKind.Funding, USDT, USER)]);
    expect(funding!.debits_pending).toBe(0n);
    expect(await reconciled(w)).toEqual([]);
    await recovered.close();
  });
});

describe("TransferSaga compensating a refusal", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it("FUNDING_MAIN refused by UBSCore voids the reservation (compensation)", async () => {
    const refusing: TradingBalancePort = {
      ...w.trading,
      transferIn: async () => {
        throw new BourseError("MARKET_HALTED", "transfers are suspended");
      },
    };
    const saga = await TransferSaga.open(join(w.dir, "saga"), exchange, w.ledger, refusing);
    const r = await saga.request({
      userId: USER,
      type: "FUNDING_MAIN",
      asset: "USDT",
      amount: 50n * UNIT,
      clientTranId: "x",
      time: 1,
    });
    expect(r).toMatchObject({ state: "ROLLED_BACK", reason: "transfers are suspended" });
    const [funding] = await w.ledger.lookupAccounts([accountId(AccountKind.Funding, USDT, USER)]);
    expect(funding).toMatchObject({ debits_pending: 0n, debits_posted: 0n });
    expect(await reconciled(w)).toEqual([]);
  });

  // MAIN_FUNDING makes no ledger call of its own (settlement mirrors UBSCore's debit).
  for (const [type, points] of [
    ["FUNDING_MAIN", POINTS],
    ["MAIN_FUNDING", ["ubscore:before", "ubscore:after"]],
  ] as const) {
    for (const point of points) {
      it(`${type}: a crash at ${point} recovers to one terminal state, money conserved`, async () => {
        const sagaDir = join(w.dir, "saga");
        const before = await balances(w);
        const broken = faulty(w.ledger, w.trading, point);
        const crashed = await TransferSaga.open(sagaDir, exchange, broken.ledger, broken.trading);
        const req = {
          userId: USER,
          type,
          asset: "USDT",
          amount: 100n * UNIT,
          clientTranId: `c-${point}`,
          time: 1,
        };
        const outcome = await crashed.request(req).then(
          (r) => r.state,
          (e) => (e instanceof Crash ? "crashed" : Promise.reject(e)),
        );
        crashed.checkInvariants();
        await crashed.close();
        // A new process: the saga reopens from its journal, recovery finishes what was started.
        const recovered = await TransferSaga.open(sagaDir, exchange, w.ledger, w.trading);
        await recovered.recover();
        expect(recovered.unfinished()).toEqual([]);
        recovered.checkInvariants();
        const [record] = recovered.history(USER);
        expect(["COMMITTED", "ROLLED_BACK"]).toContain(record!.state);
        if (outcome !== "crashed") expect(record!.state).toBe(outcome);
        const after = await balances(w);
        // Conservation: funding + trading is unchanged; the amount moved exactly once or not at all.
        expect(after.funding + after.trading).toBe(before.funding + before.trading);
        const moved =
          type === "FUNDING_MAIN" ? after.trading - before.trading : after.funding - before.funding;
        expect(moved).toBe(record!.state === "COMMITTED" ? 100n * UNIT : 0n);
        // A retry of the same request after recovery returns the same transfer and moves nothing.
        expect((await recovered.request(req)).seq).toBe(record!.seq);
        expect(await balances(w)).toEqual(after);
        expect(await reconciled(w)).toEqual([]);
        await recovered.close();
      });
    }
  }
});

describe("TransferSaga when the ledger refuses a void", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it("a void the ledger refuses halts the transfer, loudly, and recovery never sends it again", async () => {
    const refusing: TradingBalancePort = {
      ...w.trading,
      transferIn: async () => {
        throw new BourseError("MARKET_HALTED", "transfers are suspended");
      },
    };
    // Someone posted the reservation before the saga voids it: the void is refused for good.
    let voids = 0;
    const ledger: LedgerPort = {
      ...w.ledger,
      lookupAccounts: (ids) => w.ledger.lookupAccounts(ids),
      lookupTransfers: (ids) => w.ledger.lookupTransfers(ids),
      createAccounts: (batch) => w.ledger.createAccounts(batch),
      close: () => w.ledger.close(),
      async createTransfers(batch) {
        if (batch[0]!.flags & TransferFlags.void_pending_transfer) {
          voids++;
          await w.ledger.createTransfers([postInternalTransfer(1, 10n * UNIT)]);
        }
        return w.ledger.createTransfers(batch);
      },
    };
    const lines: string[] = [];
    const saga = await TransferSaga.open(join(w.dir, "saga"), exchange, ledger, refusing, (l) =>
      lines.push(l),
    );
    const req = {
      userId: USER,
      type: "FUNDING_MAIN" as const,
      asset: "USDT",
      amount: 10n * UNIT,
      clientTranId: "h",
      time: 1,
    };
    const refused = { code: "CONFLICT", message: expect.stringContaining("pending_transfer_already_posted") };
    await expect(saga.request(req)).rejects.toMatchObject(refused);
    expect(saga.halts()).toEqual([
      { seq: 1, reason: expect.stringContaining("pending_transfer_already_posted") },
    ]);
    expect(lines).toEqual([expect.stringMatching(/^transfer 1 halted in state RESERVED: .*already_posted/)]);
    await saga.recover();
    await expect(saga.request(req)).rejects.toMatchObject(refused);
    expect(voids).toBe(1);
    expect(saga.unfinished().map((r) => r.state)).toEqual(["RESERVED"]);
    await saga.close();
  });
});

describe("TransferSaga given bad input", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it("refuses an amount that does not fit the ledger, and records nothing", async () => {
    const saga = await TransferSaga.open(join(w.dir, "saga"), exchange, w.ledger, w.trading);
    const req = {
      userId: USER,
      type: "FUNDING_MAIN" as const,
      asset: "USDT",
      amount: 1n << 128n,
      clientTranId: "w",
      time: 1,
    };
    await expect(saga.request(req)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(saga.history(USER)).toEqual([]);
    await saga.close();
  });
});
