import { randomBytes } from "node:crypto";
import fc from "fast-check";
import {
  CreateAccountStatus as A,
  AccountFlags,
  amount_max,
  CreateTransferStatus as T,
  TransferFlags,
} from "tigerbeetle-node";
import { describe, expect, it } from "vitest";
import { openedForSuite } from "../../../tests/support/port-under-test.ts";
import { type Account, account, BATCH_MAX, type LedgerPort, type Transfer, transfer } from "../src/port.ts";

/**
 * The ledger conformance suite: the same cases against any LedgerPort. Every case uses fresh
 * random ids and its own ledger number, so it can run against a shared, long-lived TigerBeetle.
 */
const id = () => BigInt(`0x${randomBytes(15).toString("hex")}`) + 1n;
const ledgerNo = () => 1 + (randomBytes(2).readUInt16LE(0) % 60_000);

/** Posts or voids a pending transfer, naming only it (accounts, ledger and code come from it). */
function settle(pendingId: bigint, amount: bigint, how: "post" | "void") {
  return transfer({
    id: id(),
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount,
    pending_id: pendingId,
    ledger: 0,
    code: 0,
    flags: how === "post" ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer,
  });
}

interface RandomOp {
  dr: number;
  cr: number;
  amount: bigint;
  kind: "posted" | "pending" | "post" | "void" | "linked";
}

/** One transfer of the money-conservation property: a post or void of a pending one made
 * earlier (remembered in `pendings`), else a transfer between two of `all`. */
function randomTransfer(op: RandomOp, all: bigint[], l: number, pendings: bigint[]) {
  if ((op.kind === "post" || op.kind === "void") && pendings.length > 0) {
    const pendingId = pendings[Number(op.amount) % pendings.length]!;
    return settle(pendingId, op.kind === "post" ? op.amount : 0n, op.kind);
  }
  const flags =
    op.kind === "pending" ? TransferFlags.pending : op.kind === "linked" ? TransferFlags.linked : 0;
  const t = transfer({
    id: id(),
    debit_account_id: all[op.dr]!,
    credit_account_id: all[op.cr]!,
    amount: op.amount,
    ledger: l,
    code: 1,
    flags,
  });
  if (op.kind === "pending") pendings.push(t.id);
  return t;
}

/** Debits equal credits, posted and pending; the last two accounts never overdrawn. */
function expectConserved(after: Account[]): void {
  const sum = (f: (a: Account) => bigint) => after.reduce((s, a) => s + f(a), 0n);
  expect(sum((a) => a.debits_posted)).toBe(sum((a) => a.credits_posted));
  expect(sum((a) => a.debits_pending)).toBe(sum((a) => a.credits_pending));
  for (const a of after.slice(2))
    expect(a.debits_posted + a.debits_pending).toBeLessThanOrEqual(a.credits_posted);
}

/** The status of each result of a request, in order. */
const statuses = async (results: Promise<{ status: number }[]>) => (await results).map((r) => r.status);

/** A transfer of `amount` from `dr` to `cr` on ledger `l`, with code 1 unless `fields` say otherwise. */
const move = (l: number, dr: bigint, cr: bigint, amount: bigint, fields: Partial<Transfer> = {}) =>
  transfer({
    id: id(),
    debit_account_id: dr,
    credit_account_id: cr,
    amount,
    ledger: l,
    code: 1,
    ...fields,
  });

/** The port under test (open from beforeAll to afterAll, so read it inside a case) and helpers over it. */
interface LedgerUnderTest {
  readonly ledger: LedgerPort;
  /** Creates `n` accounts, checking each was created, on ledger `l` (a fresh one by default). */
  accounts(n: number, flags?: number, l?: number): Promise<{ ids: bigint[]; ledger: number }>;
  /** The account as the ledger holds it now. */
  balance(accountId: bigint): Promise<Account>;
}

export function ledgerConformance(name: string, open: () => Promise<LedgerPort>): void {
  describe(`ledger conformance: ${name}`, () => {
    const ledger = openedForSuite(open);
    const underTest: LedgerUnderTest = {
      get ledger() {
        return ledger();
      },
      async accounts(n, flags = 0, l = ledgerNo()) {
        const list = Array.from({ length: n }, () => account({ id: id(), ledger: l, code: 10, flags }));
        expect(await statuses(ledger().createAccounts(list))).toEqual(list.map(() => A.created));
        return { ids: list.map((a) => a.id), ledger: l };
      },
      balance: async (accountId) => (await ledger().lookupAccounts([accountId]))[0]!,
    };

    accountCases(underTest);
    transferCases(underTest);
    balanceLimitCases(underTest);
    linkedChainCases(underTest);
    resendCases(underTest);
    twoPhaseCases(underTest);
    pendingEndCases(underTest);
    requestCases(underTest);
  });
}

/** Accounts: created once, with precise statuses; imported events with past timestamps. */
function accountCases(subject: LedgerUnderTest): void {
  it("creates accounts once and reports retries and conflicts precisely", async () => {
    const { ledger } = subject;
    const a = account({ id: id(), ledger: 7, code: 3, user_data_64: 9n });
    expect(await statuses(ledger.createAccounts([a]))).toEqual([A.created]);
    expect(await statuses(ledger.createAccounts([a]))).toEqual([A.exists]);
    expect(await statuses(ledger.createAccounts([{ ...a, code: 4 }]))).toEqual([
      A.exists_with_different_code,
    ]);
    expect(await statuses(ledger.createAccounts([{ ...a, user_data_64: 1n }]))).toEqual([
      A.exists_with_different_user_data_64,
    ]);
    expect(
      await statuses(
        ledger.createAccounts([
          account({ id: 0n, ledger: 1, code: 1 }),
          account({ id: id(), ledger: 0, code: 1 }),
          account({ id: id(), ledger: 1, code: 0 }),
          account({ id: id(), ledger: 1, code: 1, reserved: 1 }),
          account({
            id: id(),
            ledger: 1,
            code: 1,
            flags: AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits,
          }),
          account({ id: id(), ledger: 1, code: 1, credits_posted: 5n }),
        ]),
      ),
    ).toEqual([
      A.id_must_not_be_zero,
      A.ledger_must_not_be_zero,
      A.code_must_not_be_zero,
      A.reserved_field,
      A.flags_are_mutually_exclusive,
      A.credits_posted_must_be_zero,
    ]);
    const [found] = await ledger.lookupAccounts([a.id, id()]);
    expect(found).toMatchObject({ id: a.id, ledger: 7, code: 3, user_data_64: 9n, debits_posted: 0n });
    expect(found!.timestamp).toBeGreaterThan(0n);
  });

  it("imported: a batch of past timestamps that never go back, each event imported", async () => {
    const { ledger } = subject;
    const [probe] = await ledger.createAccounts([account({ id: id(), ledger: 1, code: 1 })]);
    const past = probe!.timestamp;
    const l = ledgerNo();
    const imported = (n: bigint, fields: Partial<Account> = {}) =>
      account({
        id: id(),
        ledger: l,
        code: 1,
        flags: AccountFlags.imported,
        timestamp: past + n,
        ...fields,
      });
    const [a, b] = [imported(1n), imported(2n)];
    const results = await ledger.createAccounts([
      a,
      b,
      imported(2n),
      account({ id: id(), ledger: l, code: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      A.created,
      A.created,
      A.imported_event_timestamp_must_not_regress,
      A.imported_event_expected,
    ]);
    expect(results[0]!.timestamp).toBe(past + 1n);
    expect(await statuses(ledger.createAccounts([{ ...imported(3n), timestamp: 0n }]))).toEqual([
      A.imported_event_timestamp_out_of_range,
    ]);
    const t = move(l, a.id, b.id, 5n, { flags: TransferFlags.imported, timestamp: past + 3n });
    expect(
      await statuses(
        ledger.createTransfers([
          t,
          move(l, a.id, b.id, 5n, { flags: TransferFlags.imported, timestamp: past + 4n, timeout: 1 }),
          move(l, a.id, b.id, 5n),
        ]),
      ),
    ).toEqual([T.created, T.timeout_reserved_for_pending_transfer, T.imported_event_expected]);
    expect((await ledger.lookupTransfers([t.id]))[0]!.timestamp).toBe(past + 3n);
    expect(
      await statuses(
        ledger.createTransfers([
          move(l, a.id, b.id, 5n, { flags: TransferFlags.imported, timestamp: past + 2n }),
        ]),
      ),
    ).toEqual([T.imported_event_timestamp_must_not_regress]);
  });
}

/** Transfers: posted to both accounts once, validated, and never overflowing a balance. */
function transferCases(subject: LedgerUnderTest): void {
  it("posts a transfer to both accounts, once, and validates it", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const t = transfer({
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: 100n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([t]))).toEqual([T.created]);
    expect(await statuses(ledger.createTransfers([t]))).toEqual([T.exists]);
    expect(await statuses(ledger.createTransfers([{ ...t, amount: 101n }]))).toEqual([
      T.exists_with_different_amount,
    ]);
    expect((await balance(dr!)).debits_posted).toBe(100n);
    expect((await balance(cr!)).credits_posted).toBe(100n);
    const other = await accounts(1);
    const base = {
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: 1n,
      ledger: l,
      code: 1,
    };
    expect(
      await statuses(
        ledger.createTransfers([
          transfer({ ...base, id: id(), credit_account_id: dr! }),
          transfer({ ...base, id: id(), debit_account_id: id() }),
          transfer({ ...base, id: id(), credit_account_id: other.ids[0]! }),
          transfer({ ...base, id: id(), ledger: l + 1 }),
          transfer({ ...base, id: id(), code: 0 }),
          transfer({ ...base, id: id(), timeout: 5 }),
        ]),
      ),
    ).toEqual([
      T.accounts_must_be_different,
      T.debit_account_not_found,
      T.accounts_must_have_the_same_ledger,
      T.transfer_must_have_the_same_ledger_as_accounts,
      T.code_must_not_be_zero,
      T.timeout_reserved_for_pending_transfer,
    ]);
    const [looked] = await ledger.lookupTransfers([t.id, id()]);
    expect(looked).toMatchObject({ id: t.id, amount: 100n, debit_account_id: dr!, credit_account_id: cr! });
  });

  it("refuses a transfer that would overflow a 128-bit balance", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const huge = transfer({
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: (1n << 128n) - 10n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([huge]))).toEqual([T.created]);
    const more = transfer({
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: 20n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([more]))).toEqual([T.overflows_debits_posted]);
    const pending = { ...more, id: id(), flags: TransferFlags.pending };
    // TigerBeetle checks the pending balance, then the posted one, then their sum.
    expect(await statuses(ledger.createTransfers([pending]))).toEqual([T.overflows_debits_posted]);
    // An overflow does not burn the id: the same transfer fails the same way again.
    expect(await statuses(ledger.createTransfers([pending]))).toEqual([T.overflows_debits_posted]);
    expect((await balance(dr!)).debits_posted).toBe((1n << 128n) - 10n);
  });
}

/** Balance limits: refused beyond them, and balancing transfers that move only what they allow. */
function balanceLimitCases(subject: LedgerUnderTest): void {
  it("enforces balance limits, and a failed id stays failed", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [funder],
      ledger: l,
    } = await accounts(1);
    const {
      ids: [limited],
    } = await accounts(1, AccountFlags.debits_must_not_exceed_credits, l);
    const fund = transfer({
      id: id(),
      debit_account_id: funder!,
      credit_account_id: limited!,
      amount: 50n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([fund]))).toEqual([T.created]);
    const spend = transfer({
      id: id(),
      debit_account_id: limited!,
      credit_account_id: funder!,
      amount: 60n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([spend]))).toEqual([T.exceeds_credits]);
    // More funds arrive, but the id that failed can never succeed: retries must use a new id.
    await ledger.createTransfers([{ ...fund, id: id() }]);
    expect(await statuses(ledger.createTransfers([spend]))).toEqual([T.id_already_failed]);
    expect(await statuses(ledger.createTransfers([{ ...spend, id: id() }]))).toEqual([T.created]);
    const {
      ids: [capped],
    } = await accounts(1, AccountFlags.credits_must_not_exceed_debits, l);
    const over = transfer({
      id: id(),
      debit_account_id: funder!,
      credit_account_id: capped!,
      amount: 1n,
      ledger: l,
      code: 1,
    });
    expect(await statuses(ledger.createTransfers([over]))).toEqual([T.exceeds_debits]);
  });

  it("balancing_debit moves at most what the limit allows", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [funder],
      ledger: l,
    } = await accounts(1);
    const {
      ids: [limited],
    } = await accounts(1, AccountFlags.debits_must_not_exceed_credits, l);
    await ledger.createTransfers([
      transfer({
        id: id(),
        debit_account_id: funder!,
        credit_account_id: limited!,
        amount: 30n,
        ledger: l,
        code: 1,
      }),
    ]);
    const sweep = transfer({
      id: id(),
      debit_account_id: limited!,
      credit_account_id: funder!,
      amount: 1000n,
      ledger: l,
      code: 1,
      flags: TransferFlags.balancing_debit,
    });
    expect(await statuses(ledger.createTransfers([sweep]))).toEqual([T.created]);
    expect((await ledger.lookupTransfers([sweep.id]))[0]!.amount).toBe(30n);
    expect(await balance(limited!)).toMatchObject({ debits_posted: 30n, credits_posted: 30n });
  });
}

/** Linked chains: all or nothing, and what a broken or failed chain reports. */
function linkedChainCases(subject: LedgerUnderTest): void {
  it("commits a linked chain entirely or not at all", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    const {
      ids: [limited],
    } = await accounts(1, AccountFlags.debits_must_not_exceed_credits, l);
    const leg = (dr: bigint, cr: bigint, amount: bigint, flags = TransferFlags.linked) =>
      transfer({
        id: id(),
        debit_account_id: dr,
        credit_account_id: cr,
        amount,
        ledger: l,
        code: 1,
        flags,
      });
    const failing = [leg(a!, b!, 5n), leg(limited!, a!, 1n), leg(b!, a!, 2n, 0)];
    expect(await statuses(ledger.createTransfers(failing))).toEqual([
      T.linked_event_failed,
      T.exceeds_credits,
      T.linked_event_failed,
    ]);
    expect((await balance(a!)).debits_posted).toBe(0n);
    expect(await ledger.lookupTransfers([failing[0]!.id])).toEqual([]);
    const ok = [leg(a!, b!, 5n), leg(b!, a!, 2n), leg(a!, limited!, 1n, 0)];
    const standalone = leg(b!, a!, 1n, 0);
    expect(await statuses(ledger.createTransfers([...ok, standalone]))).toEqual([
      T.created,
      T.created,
      T.created,
      T.created,
    ]);
    expect((await balance(a!)).debits_posted).toBe(6n);
    const open = [leg(a!, b!, 1n), leg(a!, b!, 1n)];
    expect(await statuses(ledger.createTransfers(open))).toEqual([
      T.linked_event_failed,
      T.linked_event_chain_open,
    ]);
  });

  it("a broken chain ending in an open linked event reports linked_event_chain_open last", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    const linked = { flags: TransferFlags.linked };
    const batch = [move(l, a!, a!, 1n, linked), move(l, a!, b!, 1n, linked), move(l, a!, b!, 1n, linked)];
    expect(await statuses(ledger.createTransfers(batch))).toEqual([
      T.accounts_must_be_different,
      T.linked_event_failed,
      T.linked_event_chain_open,
    ]);
  });

  it("a chain that failed burns its failing id: resent after funds arrive, it fails again", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [funder, other],
      ledger: l,
    } = await accounts(2);
    const {
      ids: [limited],
    } = await accounts(1, AccountFlags.debits_must_not_exceed_credits, l);
    const chain = [
      move(l, funder!, other!, 5n, { flags: TransferFlags.linked }),
      move(l, limited!, funder!, 10n),
    ];
    expect(await statuses(ledger.createTransfers(chain))).toEqual([T.linked_event_failed, T.exceeds_credits]);
    await ledger.createTransfers([move(l, funder!, limited!, 100n)]);
    expect(await statuses(ledger.createTransfers(chain))).toEqual([
      T.linked_event_failed,
      T.id_already_failed,
    ]);
    // The first leg only failed with its chain: its id is free.
    expect(await statuses(ledger.createTransfers([{ ...chain[0]!, flags: 0 }]))).toEqual([T.created]);
  });
}

/** Resending what exists: a different field is reported, the same transfer keeps its timestamp. */
function resendCases(subject: LedgerUnderTest): void {
  it("stores the linked flag: resent without it, a transfer or an account exists with different flags", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    const chain = [move(l, a!, b!, 1n, { flags: TransferFlags.linked }), move(l, a!, b!, 2n)];
    expect(await statuses(ledger.createTransfers(chain))).toEqual([T.created, T.created]);
    expect((await ledger.lookupTransfers([chain[0]!.id]))[0]!.flags).toBe(TransferFlags.linked);
    expect(await statuses(ledger.createTransfers([{ ...chain[0]!, flags: 0 }]))).toEqual([
      T.exists_with_different_flags,
    ]);
    const linkedAccounts = [
      account({ id: id(), ledger: l, code: 1, flags: AccountFlags.linked }),
      account({ id: id(), ledger: l, code: 1 }),
    ];
    expect(await statuses(ledger.createAccounts(linkedAccounts))).toEqual([A.created, A.created]);
    expect((await ledger.lookupAccounts([linkedAccounts[0]!.id]))[0]!.flags).toBe(AccountFlags.linked);
    expect(await statuses(ledger.createAccounts([{ ...linkedAccounts[0]!, flags: 0 }]))).toEqual([
      A.exists_with_different_flags,
    ]);
  });

  it("post, void and balancing resent with another amount exist with a different amount; exists keeps the timestamp", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [funder],
      ledger: l,
    } = await accounts(1);
    const {
      ids: [limited],
    } = await accounts(1, AccountFlags.debits_must_not_exceed_credits, l);
    await ledger.createTransfers([move(l, funder!, limited!, 30n)]);
    const pending = move(l, funder!, limited!, 20n, { flags: TransferFlags.pending });
    const other = move(l, funder!, limited!, 20n, { flags: TransferFlags.pending });
    await ledger.createTransfers([pending, other]);
    const post = settle(pending.id, 15n, "post");
    const voided = settle(other.id, 0n, "void");
    const sweep = move(l, limited!, funder!, 1000n, { flags: TransferFlags.balancing_debit });
    const created = await ledger.createTransfers([post, voided, sweep]);
    expect(created.map((r) => r.status)).toEqual([T.created, T.created, T.created]);
    // 30 funded and 15 posted: the sweep moved 45.
    expect((await ledger.lookupTransfers([sweep.id]))[0]!.amount).toBe(45n);
    expect(
      await statuses(
        ledger.createTransfers([
          { ...post, amount: 16n },
          { ...voided, amount: 19n },
          { ...sweep, amount: 44n },
        ]),
      ),
    ).toEqual([
      T.exists_with_different_amount,
      T.exists_with_different_amount,
      T.exists_with_different_amount,
    ]);
    // A void of 0 names the pending amount, as does that amount itself; a balancing limit above
    // what moved is the same transfer. Each `exists` reports the original timestamp.
    const again = await ledger.createTransfers([
      voided,
      { ...voided, amount: 20n },
      { ...sweep, amount: 46n },
    ]);
    expect(again.map((r) => r.status)).toEqual([T.exists, T.exists, T.exists]);
    expect(again.map((r) => r.timestamp)).toEqual([
      created[1]!.timestamp,
      created[1]!.timestamp,
      created[2]!.timestamp,
    ]);
  });
}

/** Two-phase transfers: reserve, then post or void once, inheriting the pending one's data. */
function twoPhaseCases(subject: LedgerUnderTest): void {
  it("two-phase: reserves, posts part (releasing the rest) or voids, and only once", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const pending = transfer({
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: 100n,
      ledger: l,
      code: 1,
      flags: TransferFlags.pending,
    });
    expect(await statuses(ledger.createTransfers([pending]))).toEqual([T.created]);
    expect(await balance(dr!)).toMatchObject({ debits_pending: 100n, debits_posted: 0n });
    const post = (amount: bigint) => settle(pending.id, amount, "post");
    expect(await statuses(ledger.createTransfers([post(101n)]))).toEqual([T.exceeds_pending_transfer_amount]);
    expect(await statuses(ledger.createTransfers([post(60n)]))).toEqual([T.created]);
    expect(await balance(dr!)).toMatchObject({ debits_pending: 0n, debits_posted: 60n });
    expect(await balance(cr!)).toMatchObject({ credits_pending: 0n, credits_posted: 60n });
    expect(await statuses(ledger.createTransfers([post(10n)]))).toEqual([T.pending_transfer_already_posted]);

    const second = { ...pending, id: id() };
    await ledger.createTransfers([second]);
    const voidIt = settle(second.id, 0n, "void");
    expect(await statuses(ledger.createTransfers([voidIt]))).toEqual([T.created]);
    expect(await balance(dr!)).toMatchObject({ debits_pending: 0n, debits_posted: 60n });
    expect(await statuses(ledger.createTransfers([{ ...voidIt, id: id() }]))).toEqual([
      T.pending_transfer_already_voided,
    ]);

    const third = { ...pending, id: id() };
    await ledger.createTransfers([third]);
    expect(await statuses(ledger.createTransfers([{ ...post(amount_max), pending_id: third.id }]))).toEqual([
      T.created,
    ]);
    expect((await balance(dr!)).debits_posted).toBe(160n);
    expect(await statuses(ledger.createTransfers([{ ...post(1n), pending_id: id() }]))).toEqual([
      T.pending_transfer_not_found,
    ]);
  });

  it("void: amount_max or more than pending exceeds it; a stored void has the pending amount", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const pending = move(l, dr!, cr!, 40n, { flags: TransferFlags.pending });
    await ledger.createTransfers([pending]);
    expect(
      await statuses(
        ledger.createTransfers([
          settle(pending.id, amount_max, "void"),
          settle(pending.id, 41n, "void"),
          settle(pending.id, 39n, "void"),
        ]),
      ),
    ).toEqual([
      T.exceeds_pending_transfer_amount,
      T.exceeds_pending_transfer_amount,
      T.pending_transfer_has_different_amount,
    ]);
    const voided = settle(pending.id, 0n, "void");
    expect(await statuses(ledger.createTransfers([voided]))).toEqual([T.created]);
    expect((await ledger.lookupTransfers([voided.id]))[0]!.amount).toBe(40n);
    expect(await balance(dr!)).toMatchObject({ debits_pending: 0n, debits_posted: 0n });
  });

  it("post and void inherit the pending transfer's user data where theirs is zero", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const data = { user_data_128: 7n, user_data_64: 8n, user_data_32: 9 };
    const first = move(l, dr!, cr!, 10n, { flags: TransferFlags.pending, ...data });
    const second = move(l, dr!, cr!, 10n, { flags: TransferFlags.pending, ...data });
    await ledger.createTransfers([first, second]);
    const post = settle(first.id, 10n, "post");
    const voided = { ...settle(second.id, 0n, "void"), user_data_64: 5n };
    expect(await statuses(ledger.createTransfers([post, voided]))).toEqual([T.created, T.created]);
    const [p, v] = await ledger.lookupTransfers([post.id, voided.id]);
    expect(p).toMatchObject({ ...data, debit_account_id: dr!, ledger: l, code: 1 });
    expect(v).toMatchObject({ user_data_128: 7n, user_data_64: 5n, user_data_32: 9 });
  });
}

/** What else ends a pending transfer or an account's use: a timeout, a closing transfer. */
function pendingEndCases(subject: LedgerUnderTest): void {
  it("expires a pending transfer after its timeout", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [dr, cr],
      ledger: l,
    } = await accounts(2);
    const pending = transfer({
      id: id(),
      debit_account_id: dr!,
      credit_account_id: cr!,
      amount: 7n,
      ledger: l,
      code: 1,
      flags: TransferFlags.pending,
      timeout: 1,
    });
    await ledger.createTransfers([pending]);
    await new Promise((r) => setTimeout(r, 2100));
    const post = settle(pending.id, amount_max, "post");
    expect(await statuses(ledger.createTransfers([post]))).toEqual([T.pending_transfer_expired]);
    // Expiry is no transient failure: the id is not burned, and a retry says expired again.
    expect(await statuses(ledger.createTransfers([post]))).toEqual([T.pending_transfer_expired]);
    expect(await balance(dr!)).toMatchObject({ debits_pending: 0n, debits_posted: 0n });
  });

  it("closing: closing_debit/closing_credit (pending only) close the accounts, a void reopens them", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    expect(
      await statuses(ledger.createTransfers([move(l, a!, b!, 0n, { flags: TransferFlags.closing_debit })])),
    ).toEqual([T.closing_transfer_must_be_pending]);
    const close = move(l, a!, b!, 0n, {
      flags: TransferFlags.pending | TransferFlags.closing_debit | TransferFlags.closing_credit,
    });
    expect(await statuses(ledger.createTransfers([close]))).toEqual([T.created]);
    expect((await balance(a!)).flags & AccountFlags.closed).toBe(AccountFlags.closed);
    expect(await statuses(ledger.createTransfers([move(l, a!, b!, 1n), move(l, b!, a!, 1n)]))).toEqual([
      T.debit_account_already_closed,
      T.debit_account_already_closed,
    ]);
    expect(await statuses(ledger.createTransfers([settle(close.id, 0n, "void")]))).toEqual([T.created]);
    expect((await balance(a!)).flags & AccountFlags.closed).toBe(0);
    expect(await statuses(ledger.createTransfers([move(l, a!, b!, 1n)]))).toEqual([T.created]);
    const closed = account({ id: id(), ledger: l, code: 1, flags: AccountFlags.closed });
    expect(await statuses(ledger.createAccounts([closed]))).toEqual([A.created]);
    expect(await statuses(ledger.createTransfers([move(l, a!, closed.id, 1n)]))).toEqual([
      T.credit_account_already_closed,
    ]);
  });
}

/** What one request may hold, and money conserved by any batch (property). */
function requestCases(subject: LedgerUnderTest): void {
  it("a request holds at most BATCH_MAX (8,189) events: one more is refused whole", async () => {
    const { ledger, accounts, balance } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    const batch = Array.from({ length: BATCH_MAX + 1 }, () => move(l, a!, b!, 1n));
    await expect(ledger.createTransfers(batch)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await ledger.lookupTransfers([batch[0]!.id])).toEqual([]);
    const results = await ledger.createTransfers(batch.slice(0, BATCH_MAX));
    expect(results.every((r) => r.status === T.created)).toBe(true);
    expect((await balance(a!)).debits_posted).toBe(BigInt(BATCH_MAX));
  });

  it("a field out of its width is refused before anything is applied", async () => {
    const { ledger, accounts } = subject;
    const {
      ids: [a, b],
      ledger: l,
    } = await accounts(2);
    const fine = move(l, a!, b!, 1n);
    await expect(ledger.createTransfers([fine, move(l, a!, b!, 1n << 128n)])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(await ledger.lookupTransfers([fine.id])).toEqual([]);
  });

  it("conserves money: every ledger's debits equal its credits, and limits always hold (property)", async () => {
    const { ledger, accounts } = subject;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            dr: fc.nat(3),
            cr: fc.nat(3),
            amount: fc.bigInt({ min: 0n, max: 40n }),
            kind: fc.constantFrom("posted", "pending", "post", "void", "linked"),
          }),
          { minLength: 1, maxLength: 30, size: "max" },
        ),
        async (ops) => {
          const { ids: free, ledger: l } = await accounts(2);
          const { ids: limited } = await accounts(2, AccountFlags.debits_must_not_exceed_credits, l);
          const all = [...free, ...limited];
          const pendings: bigint[] = [];
          const batch = ops.map((op) => randomTransfer(op, all, l, pendings));
          await ledger.createTransfers(batch);
          expectConserved(await ledger.lookupAccounts(all));
        },
      ),
      { numRuns: 40 },
    );
  });
}
