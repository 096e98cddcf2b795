import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  CreateAccountStatus as A,
  AccountFlags,
  amount_max,
  CreateTransferStatus as T,
  TransferFlags,
} from "tigerbeetle-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTigerBeetle, type TigerBeetleServer } from "../../../tests/infra/tigerbeetle.ts";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { type Account, account, BATCH_MAX, type LedgerPort, type Transfer, transfer } from "../src/port.ts";
import { TigerBeetleLedger } from "../src/tigerbeetle-ledger.ts";

/**
 * The embedded ledger is TigerBeetle's twin: fast-check generates sequences of batches (accounts,
 * transfers, lookups) over a small pool of ids, so that events collide, chain, overflow, hit
 * limits and resubmit; each batch goes to a real TigerBeetle replica and to the embedded ledger,
 * and every result, every stored account and transfer and every balance must be equal.
 * Timestamps come from two clocks, so they are compared by what they name: the event that
 * first reported them. Each sequence has ids of its own, so sequences never meet.
 */
const RUNS = Number(process.env.FC_RUNS ?? 200);
const SEED = 0x1ed9e5;
const U128_MAX = (1n << 128n) - 1n;
const ACCOUNT_POOL = 6;
const TRANSFER_POOL = 6;

let server: TigerBeetleServer;
let real: Side;
/** The embedded ledger in memory, and durable (journaled, applied in steps, replayable). */
let twins: Side[] = [];
let durableDir: string;
/** Every id a sequence used, for the replay check at the end. */
const seen: { accounts: bigint[]; transfers: bigint[] } = { accounts: [], transfers: [] };
beforeAll(async () => {
  server = await startTigerBeetle();
  real = new Side(new TigerBeetleLedger(server.clusterId, [server.address]));
  durableDir = await mkdtemp(join(tmpdir(), "bourse-differential-"));
  twins = [
    new Side(await EmbeddedLedger.open(undefined, realtimeNs())),
    new Side(await EmbeddedLedger.open(durableDir, realtimeNs())),
  ];
});
afterAll(async () => {
  await real?.ledger.close();
  for (const twin of twins) await twin.ledger.close();
  await server?.stop();
  await rm(durableDir, { recursive: true, force: true });
});

/** All sides play the same batches; every twin must answer as the real server did. */
async function playAll(batches: Batch[], accountIds: bigint[], transferIds: bigint[]): Promise<unknown[]> {
  seen.accounts.push(...accountIds);
  seen.transfers.push(...transferIds);
  const [fromReal, ...fromTwins] = await Promise.all(
    [real, ...twins].map((side) => play(side, batches, accountIds, transferIds)),
  );
  for (const fromTwin of fromTwins) expect(fromTwin).toEqual(fromReal);
  for (const twin of twins) if (twin.ledger instanceof EmbeddedLedger) await twin.ledger.checkInvariants();
  return fromReal!;
}

/**
 * The twin's clock: wall time in nanoseconds, as TigerBeetle's, (Date.now() alone steps by whole
 * milliseconds, which would put imports a few nanoseconds past the newest event after the batch).
 */
function realtimeNs(): () => bigint {
  const offset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => offset + process.hrtime.bigint();
}

/** An id by its index in the pool; -1 and -2 are the two ids TigerBeetle never accepts. */
type IdRef = number;

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const flagsOf = (flags: number[]) => fc.subarray(flags).map((fs) => fs.reduce((a, f) => a | f, 0));
const idRef = (pool: number) =>
  fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 1, max: pool }) },
    { weight: 1, arbitrary: pick(-1, -2) },
  );
const user = fc.integer({ min: 0, max: 2 });
const mostly = <T>(usual: T, other: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 8, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });

const amount = fc.oneof(
  { weight: 12, arbitrary: fc.bigInt({ min: 0n, max: 60n }) },
  { weight: 2, arbitrary: pick(amount_max, amount_max - 1n, 1n << 127n) },
  { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: 40n }).map((k) => (1n << 128n) - k) },
);

/**
 * An event's own timestamp, as each ledger will read it: mostly zero; else (for imports) a few
 * nanoseconds past the newest timestamp the ledger has reported, or past the newest before the
 * previous batch (below that batch's events), or an existing account's, or out of range.
 */
const importedTimestamp = fc.oneof(
  { weight: 12, arbitrary: fc.constant<TimestampSpec>({ kind: "zero" }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: pick("newest" as const, "previous" as const),
      k: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: pick("account" as const, "future" as const, "max" as const) }) },
);
type TimestampSpec =
  | { kind: "zero" | "account" | "future" | "max" }
  | { kind: "newest" | "previous"; k: number };

const accountEvent = fc.record({
  id: idRef(ACCOUNT_POOL),
  ledger: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: pick(0, 2) }),
  code: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: pick(0, 2) }),
  flags: fc.oneof(
    { weight: 6, arbitrary: flagsOf([AccountFlags.debits_must_not_exceed_credits, AccountFlags.history]) },
    {
      weight: 3,
      arbitrary: flagsOf([
        AccountFlags.linked,
        AccountFlags.debits_must_not_exceed_credits,
        AccountFlags.credits_must_not_exceed_debits,
        AccountFlags.closed,
      ]),
    },
    { weight: 4, arbitrary: flagsOf([AccountFlags.imported, AccountFlags.linked, AccountFlags.history]) },
    { weight: 1, arbitrary: pick(1 << 10) },
  ),
  user_data_128: user,
  user_data_64: user,
  user_data_32: user,
  reserved: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
  timestamp: importedTimestamp,
  credits_posted: fc.oneof(
    { weight: 20, arbitrary: fc.constant(0n) },
    { weight: 1, arbitrary: fc.constant(1n) },
  ),
});
/** The accounts a sequence starts with: valid, on one ledger mostly, with the limit flags. */
const setupAccount = fc.record({
  id: fc.constant(1),
  ledger: mostly(1, fc.constant(2)),
  code: fc.constant(1),
  flags: fc.oneof(
    {
      weight: 8,
      arbitrary: pick(
        0,
        0,
        AccountFlags.debits_must_not_exceed_credits,
        AccountFlags.credits_must_not_exceed_debits,
        AccountFlags.history,
      ),
    },
    { weight: 1, arbitrary: pick(AccountFlags.closed, AccountFlags.linked) },
  ),
  user_data_128: user,
  user_data_64: user,
  user_data_32: user,
  reserved: fc.constant(0),
  timestamp: fc.constant<TimestampSpec>({ kind: "zero" }),
  credits_posted: fc.constant(0n),
});
type AccountEvent = typeof accountEvent extends fc.Arbitrary<infer T> ? T : never;

const TRANSFER_FLAGS = [
  TransferFlags.linked,
  TransferFlags.pending,
  TransferFlags.post_pending_transfer,
  TransferFlags.void_pending_transfer,
  TransferFlags.balancing_debit,
  TransferFlags.balancing_credit,
  TransferFlags.closing_debit,
  TransferFlags.closing_credit,
];
const linked = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });
/** Anything, in any field: validation order and odd combinations. */
const wildTransfer = fc.record({
  id: idRef(TRANSFER_POOL),
  dr: fc.oneof({ weight: 10, arbitrary: idRef(ACCOUNT_POOL) }, { weight: 1, arbitrary: fc.constant(0) }),
  cr: fc.oneof({ weight: 10, arbitrary: idRef(ACCOUNT_POOL) }, { weight: 1, arbitrary: fc.constant(0) }),
  amount,
  pending: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: idRef(TRANSFER_POOL) }),
  flags: fc.oneof(
    { weight: 3, arbitrary: flagsOf(TRANSFER_FLAGS) },
    { weight: 2, arbitrary: flagsOf([TransferFlags.imported, TransferFlags.linked, TransferFlags.pending]) },
    { weight: 1, arbitrary: pick(1 << 12) },
  ),
  ledger: mostly(1, pick(0, 2)),
  code: mostly(1, fc.constant(0)),
  user_data_128: user,
  user_data_64: user,
  user_data_32: user,
  timeout: mostly(0, fc.constant(3600)),
  timestamp: importedTimestamp,
});
/** A transfer between two accounts of the sequence: plain, balancing, pending or closing. */
const movingTransfer = fc.record({
  id: fc.integer({ min: 1, max: TRANSFER_POOL }),
  dr: fc.integer({ min: 1, max: ACCOUNT_POOL }),
  cr: fc.integer({ min: 1, max: ACCOUNT_POOL }),
  amount,
  pending: fc.constant(0),
  flags: fc
    .tuple(
      linked,
      fc.oneof(
        { weight: 6, arbitrary: pick(0, TransferFlags.pending) },
        { weight: 2, arbitrary: pick(TransferFlags.balancing_debit, TransferFlags.balancing_credit) },
        {
          weight: 1,
          arbitrary: pick(
            TransferFlags.pending | TransferFlags.closing_debit,
            TransferFlags.pending | TransferFlags.closing_credit,
          ),
        },
        {
          weight: 1,
          arbitrary: pick(TransferFlags.imported, TransferFlags.imported | TransferFlags.pending),
        },
      ),
    )
    .map(([l, f]) => l | f),
  ledger: mostly(1, pick(0, 2)),
  code: mostly(1, fc.constant(0)),
  user_data_128: user,
  user_data_64: user,
  user_data_32: user,
  timeout: mostly(0, fc.constant(3600)),
  timestamp: importedTimestamp,
});
/** A post or void of a transfer of the sequence, naming it alone or with (maybe other) fields. */
const settlingTransfer = fc.record({
  id: fc.integer({ min: 1, max: TRANSFER_POOL }),
  dr: mostly(0, fc.integer({ min: 1, max: ACCOUNT_POOL })),
  cr: mostly(0, fc.integer({ min: 1, max: ACCOUNT_POOL })),
  amount: fc.oneof(fc.constant(0n), fc.constant(amount_max), amount),
  pending: fc.integer({ min: 1, max: TRANSFER_POOL }),
  flags: fc
    .tuple(linked, pick(TransferFlags.post_pending_transfer, TransferFlags.void_pending_transfer))
    .map(([l, f]) => l | f),
  ledger: mostly(0, pick(1, 2)),
  code: mostly(0, pick(1, 2)),
  user_data_128: user,
  user_data_64: user,
  user_data_32: user,
  timeout: mostly(0, fc.constant(1)),
  timestamp: mostly<TimestampSpec>({ kind: "zero" }, importedTimestamp),
});
const transferEvent = fc.oneof(
  { weight: 5, arbitrary: movingTransfer },
  { weight: 4, arbitrary: settlingTransfer },
  { weight: 1, arbitrary: wildTransfer },
);
interface TransferEvent {
  id: IdRef;
  dr: IdRef;
  cr: IdRef;
  amount: bigint;
  pending: IdRef;
  flags: number;
  ledger: number;
  code: number;
  user_data_128: number;
  user_data_64: number;
  user_data_32: number;
  timeout: number;
  timestamp: TimestampSpec;
}

/** How a resent batch differs from the original: not at all, or in one field of every event. */
const RESEND_CHANGES = [
  "none",
  "none",
  "amount",
  "amount_down",
  "user_data",
  "linked",
  "ledger",
  "code",
  "timeout",
  "pending_id",
] as const;
type ResendChange = (typeof RESEND_CHANGES)[number];

/**
 * A step: a batch of accounts or of transfers (imported: every event, as a migration sends
 * them), or a resubmission of an earlier batch.
 */
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      accounts: fc.array(accountEvent, { minLength: 1, maxLength: 6 }),
      imported: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      transfers: fc.array(transferEvent, { minLength: 1, maxLength: 10 }),
      imported: mostly(false, fc.constant(true)),
    }),
  },
  { weight: 3, arbitrary: fc.record({ resend: fc.nat(), change: pick(...RESEND_CHANGES) }) },
);
/** Every sequence starts with a batch that creates its accounts, so transfers have somewhere to go. */
const sequence = fc.record({
  setup: fc.array(setupAccount, { minLength: ACCOUNT_POOL, maxLength: ACCOUNT_POOL }),
  steps: fc.array(step, { minLength: 2, maxLength: 12 }),
});

let sequenceNo = 0n;

/**
 * Statuses 200 sequences reach on the real server with the fixed seed, among them every
 * difference the embedded ledger once had (burned ids, open chains, amounts of post and void,
 * overflow order, closing, imports).
 */
const MUST_REACH = [
  "transfer created",
  "transfer exists",
  "transfer exists_with_different_amount",
  "transfer exists_with_different_flags",
  "transfer id_already_failed",
  "transfer linked_event_failed",
  "transfer linked_event_chain_open",
  "transfer exceeds_credits",
  "transfer exceeds_pending_transfer_amount",
  "transfer pending_transfer_has_different_amount",
  "transfer overflows_debits_posted",
  "transfer debit_account_already_closed",
  "transfer closing_transfer_must_be_pending",
  "transfer imported_event_timestamp_must_not_regress",
  "account created",
  "account exists_with_different_flags",
  "account imported_event_timestamp_must_not_regress",
];

/** Waits (a few seconds at most) until `id`'s pending debits are down to `left`: expiry ran. */
async function expired(ledger: LedgerPort, id: bigint, left: bigint): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100));
  for (let i = 0; i < 100; i++) {
    if ((await ledger.lookupAccounts([id]))[0]!.debits_pending === left) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the pending transfers did not expire");
}

/** Ids of one sequence: its number in the high bits, so no two sequences share an id. */
function idsFor(no: bigint, kind: bigint) {
  return (ref: IdRef) =>
    ref === -1 ? 0n : ref === -2 ? U128_MAX : (no << 64n) | (kind << 32n) | BigInt(ref);
}

function importing<E extends { flags: number }>(e: E, imported: boolean, flag: number): E {
  return imported ? { ...e, flags: e.flags | flag } : e;
}

/** An imported event without a timestamp of its own gets one just past the previous batch's newest. */
function timestampOf(e: { flags: number; timestamp: TimestampSpec }): TimestampSpec {
  const imported = "reserved" in e ? AccountFlags.imported : TransferFlags.imported;
  return e.flags & imported && e.timestamp.kind === "zero" ? { kind: "previous", k: 1 } : e.timestamp;
}

function toAccount(e: AccountEvent, accountId: (r: IdRef) => bigint, slot: number): Account {
  return {
    id: accountId(e.id === -1 || e.id === -2 ? e.id : slot),
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: e.credits_posted,
    user_data_128: BigInt(e.user_data_128),
    user_data_64: BigInt(e.user_data_64),
    user_data_32: e.user_data_32,
    reserved: e.reserved,
    ledger: e.ledger,
    code: e.code,
    flags: e.flags,
    timestamp: 0n,
  };
}

function toTransfer(
  e: TransferEvent,
  transferId: (r: IdRef) => bigint,
  accountId: (r: IdRef) => bigint,
): Transfer {
  return {
    id: transferId(e.id),
    debit_account_id: e.dr === 0 ? 0n : accountId(e.dr),
    credit_account_id: e.cr === 0 ? 0n : accountId(e.cr),
    amount: e.amount,
    pending_id: e.pending === 0 ? 0n : transferId(e.pending),
    user_data_128: BigInt(e.user_data_128),
    user_data_64: BigInt(e.user_data_64),
    user_data_32: e.user_data_32,
    timeout: e.timeout,
    ledger: e.ledger,
    code: e.code,
    flags: e.flags,
    timestamp: 0n,
  };
}

/**
 * Names timestamps by the event that first reported them ("b2.3": batch 2, event 3), one naming
 * per ledger, so that two clocks compare: an `exists` names the event that created the object.
 */
class Timestamps {
  private readonly names = new Map<bigint, string>();
  name(ts: bigint, fresh: string): string {
    const known = this.names.get(ts);
    if (known) return known;
    this.names.set(ts, fresh);
    return fresh;
  }
  known(ts: bigint): string {
    return ts === 0n ? "0" : (this.names.get(ts) ?? `unnamed timestamp ${ts}`);
  }
}

/** One ledger under test, with the newest timestamps it has reported (to place imports). */
class Side {
  private newest = 0n;
  private previous = 0n;
  private firstOfSequence = 0n;
  constructor(readonly ledger: LedgerPort) {}

  timestamp(spec: TimestampSpec): bigint {
    switch (spec.kind) {
      case "zero":
        return 0n;
      case "newest":
        return this.newest + BigInt(spec.k);
      case "previous":
        return this.previous + BigInt(spec.k);
      case "account":
        return this.firstOfSequence;
      case "future":
        return this.newest + 3600n * 1_000_000_000n;
      case "max":
        return 1n << 63n;
    }
  }

  saw(results: { timestamp: bigint }[], first: boolean): void {
    this.previous = this.newest;
    for (const r of results) if (r.timestamp > this.newest) this.newest = r.timestamp;
    if (first) this.firstOfSequence = results[0]?.timestamp ?? 0n;
  }
}

interface Batch {
  accounts?: Account[];
  transfers?: Transfer[];
  timestamps: TimestampSpec[];
  /** Waited for on each ledger before the batch is sent. */
  after?: (ledger: LedgerPort) => Promise<void>;
}

/** Sends one sequence to a ledger; everything it answered, timestamps named. */
async function play(
  side: Side,
  batches: Batch[],
  accountIds: bigint[],
  transferIds: bigint[],
): Promise<unknown[]> {
  const { ledger } = side;
  const names = new Timestamps();
  const answers: unknown[] = [];
  for (const [b, batch] of batches.entries()) {
    await batch.after?.(ledger);
    const at = (i: number) => side.timestamp(batch.timestamps[i]!);
    // A field out of its width never reaches the server: both clients refuse the whole batch.
    const results = await (batch.accounts
      ? ledger.createAccounts(batch.accounts.map((a, i) => ({ ...a, timestamp: at(i) })))
      : ledger.createTransfers(batch.transfers!.map((t, i) => ({ ...t, timestamp: at(i) })))
    ).catch(() => undefined);
    if (!results) {
      answers.push("refused");
      continue;
    }
    side.saw(results, b === 0);
    answers.push(results.map((r, i) => [r.status, names.name(r.timestamp, `b${b}.${i}`)]));
    for (const r of results) {
      reached.add(batch.accounts ? `account ${A[r.status]}` : `transfer ${T[r.status]}`);
    }
    answers.push(await stored(ledger, names, accountIds, transferIds));
  }
  return answers;
}

async function stored(ledger: LedgerPort, names: Timestamps, accountIds: bigint[], transferIds: bigint[]) {
  const accounts = await ledger.lookupAccounts(accountIds);
  const transfers = await ledger.lookupTransfers(transferIds);
  return [...accounts, ...transfers].map((o) => ({ ...o, timestamp: names.known(o.timestamp) }));
}

/** Every status some ledger reported, to show what the generated sequences reach. */
const reached = new Set<string>();

/** What each kind of resend changes in an event; a field the event lacks stays absent. */
const RESEND: Record<ResendChange, (e: Account | Transfer) => Partial<Account & Transfer>> = {
  none: () => ({}),
  amount: (e) => ("amount" in e ? { amount: e.amount + 1n } : {}),
  amount_down: (e) => ("amount" in e && e.amount > 0n ? { amount: e.amount - 1n } : {}),
  user_data: (e) => ({ user_data_64: e.user_data_64 + 1n }),
  linked: (e) => ({ flags: e.flags ^ 1 }),
  ledger: (e) => ({ ledger: e.ledger === 0 ? 1 : 0 }),
  code: (e) => ({ code: e.code + 1 }),
  timeout: (e) => ("timeout" in e ? { timeout: e.timeout + 1 } : {}),
  pending_id: (e) => ("pending_id" in e ? { pending_id: 0n } : {}),
};

function resent(batch: Batch, change: ResendChange): Batch {
  const changed = <E extends Account | Transfer>(e: E): E => ({ ...e, ...RESEND[change](e) });
  return {
    accounts: batch.accounts?.map(changed),
    transfers: batch.transfers?.map(changed),
    timestamps: batch.timestamps,
  };
}

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** The batch a generated step sends: new accounts, new transfers, or an earlier batch again. */
function stepBatch(
  s: Step,
  earlier: Batch[],
  accountId: (n: number) => bigint,
  transferId: (n: number) => bigint,
): Batch {
  if ("accounts" in s) {
    const events = s.accounts.map((e) => importing(e, s.imported, AccountFlags.imported));
    return {
      accounts: events.map((e) => toAccount(e, accountId, e.id)),
      timestamps: events.map(timestampOf),
    };
  }
  if ("transfers" in s) {
    const events = s.transfers.map((e) => importing(e, s.imported, TransferFlags.imported));
    return {
      transfers: events.map((e) => toTransfer(e, transferId, accountId)),
      timestamps: events.map(timestampOf),
    };
  }
  return resent(earlier[s.resend % earlier.length]!, s.change);
}

describe("the embedded ledger against a real TigerBeetle (differential, property)", () => {
  it(`gives the same results, objects and balances for ${RUNS} generated batch sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(sequence, async ({ setup, steps }) => {
        sequenceNo += 1n;
        const accountId = idsFor(sequenceNo, 1n);
        const transferId = idsFor(sequenceNo, 2n);
        const batches: Batch[] = [
          {
            accounts: setup.map((e, i) => toAccount(e, accountId, i + 1)),
            timestamps: setup.map((e) => e.timestamp),
          },
        ];
        for (const s of steps) batches.push(stepBatch(s, batches, accountId, transferId));
        const accountIds = Array.from({ length: ACCOUNT_POOL }, (_, i) => accountId(i + 1));
        const transferIds = Array.from({ length: TRANSFER_POOL }, (_, i) => transferId(i + 1));
        await playAll(batches, accountIds, transferIds);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // What the generated sequences must reach on the real server, or the test proves too little.
    expect(MUST_REACH.filter((s) => !reached.has(s))).toEqual([]);
  }, 900_000);

  it("expires pending transfers alike: balances released, closing undone, posts refused", async () => {
    sequenceNo += 1n;
    const accountId = idsFor(sequenceNo, 1n);
    const transferId = idsFor(sequenceNo, 2n);
    const zero = (n: number) => Array.from({ length: n }, (): TimestampSpec => ({ kind: "zero" }));
    const accounts = [1, 2].map((i) => account({ id: accountId(i), ledger: 1, code: 1 }));
    const move = (i: number, flags: number, timeout = 0, fields: Partial<Transfer> = {}) =>
      transfer({
        id: transferId(i),
        debit_account_id: accountId(1),
        credit_account_id: accountId(2),
        amount: 10n,
        ledger: 1,
        code: 1,
        flags,
        timeout,
        ...fields,
      });
    // The one that stays pending goes first: the closing one closes the debit account.
    const pendings = [
      move(3, TransferFlags.pending, 3600),
      move(1, TransferFlags.pending, 1),
      move(2, TransferFlags.pending | TransferFlags.closing_debit, 1),
    ];
    const settle = (i: number, pending: number, flags: number) =>
      move(i, flags, 0, {
        debit_account_id: 0n,
        credit_account_id: 0n,
        amount: 0n,
        pending_id: transferId(pending),
      });
    const after = [
      settle(4, 1, TransferFlags.post_pending_transfer),
      settle(5, 2, TransferFlags.void_pending_transfer),
      settle(6, 3, TransferFlags.post_pending_transfer),
      move(7, 0),
    ];
    const batches: Batch[] = [
      { accounts, timestamps: zero(2) },
      { transfers: pendings, timestamps: zero(3) },
      { transfers: after, timestamps: zero(4), after: (ledger) => expired(ledger, accountId(1), 10n) },
      // Expiry burns nothing: the same post is refused the same way.
      { transfers: [after[0]!], timestamps: zero(1) },
    ];
    const ids = [accountId(1), accountId(2)];
    const transferIds = Array.from({ length: 7 }, (_, i) => transferId(i + 1));
    const fromReal = await playAll(batches, ids, transferIds);
    expect(fromReal[4]).toEqual([
      [T.pending_transfer_expired, "b2.0"],
      [T.pending_transfer_expired, "b2.1"],
      [T.created, "b2.2"],
      [T.created, "b2.3"],
    ]);
  }, 60_000);

  it("the durable twin, reopened, replays its journal to the same accounts and transfers", async () => {
    const everything = async (ledger: LedgerPort) => {
      const found: unknown[] = [];
      for (let i = 0; i < seen.accounts.length; i += BATCH_MAX)
        found.push(...(await ledger.lookupAccounts(seen.accounts.slice(i, i + BATCH_MAX))));
      for (let i = 0; i < seen.transfers.length; i += BATCH_MAX)
        found.push(...(await ledger.lookupTransfers(seen.transfers.slice(i, i + BATCH_MAX))));
      return found;
    };
    const before = await everything(twins[1]!.ledger);
    expect(before.length).toBeGreaterThan(seen.accounts.length / 2);
    await twins[1]!.ledger.close();
    twins[1] = new Side(await EmbeddedLedger.open(durableDir, realtimeNs()));
    expect(await everything(twins[1].ledger)).toEqual(before);
  });
});
