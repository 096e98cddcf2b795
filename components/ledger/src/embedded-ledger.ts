import { join } from "node:path";
import type { Account, CreateAccountResult, CreateTransferResult, Transfer } from "tigerbeetle-node";
import { BourseError } from "../../domain/src/index.ts";
import { Journal } from "../../journal/src/index.ts";
import { decodeAccount, decodeTransfer, EVENT_SIZE, encodeAccount, encodeTransfer } from "./codec.ts";
import { LedgerState, runToEnd } from "./ledger-state.ts";
import { BATCH_MAX, type LedgerPort } from "./port.ts";

/**
 * The embedded ledger: TigerBeetle's semantics (LedgerState) behind the ledger port. With a
 * directory it is durable: each batch is journaled with the timestamp it was given and answered
 * only once the journal has it on disk, and opening replays the journal. Without one it lives in
 * memory (tests).
 */
const OP_ACCOUNTS = 1;
const OP_TRANSFERS = 2;
const HEADER = 16;
/**
 * Transfers applied between turns of the event loop while a batch is journaled: a turn lets the
 * journal follow its write with the fsync while the rest of the batch is applied (about 1 ms of
 * work a step).
 */
const APPLY_STEP = 1024;
/** The scratch file of older transfers, beside the journal; replaying the journal refills it. */
const TRANSFERS_FILE = "transfers.slots";

/** Applies a batch, given its timestamp and its journaled records, in steps that end in its results. */
type Apply<R> = (timestamp: bigint, records?: Uint8Array) => Iterator<void, R[]>;

export class EmbeddedLedger implements LedgerPort {
  /** Settles once the newest batch journaled is on disk (or failed); never rejects. */
  private lastWrite: Promise<unknown> = Promise.resolve();
  /**
   * Settles once every batch and lookup sent so far is done: batches apply one after another,
   * and lookups take their turn among them.
   */
  private applied: Promise<unknown> = Promise.resolve();
  /** Why the ledger stopped: a batch it applied could not be journaled. */
  private failure: Error | undefined;

  private constructor(
    private readonly state: LedgerState,
    private readonly journal: Journal | undefined,
    private readonly clock: () => bigint,
  ) {}

  /** A clock in nanoseconds; tests pass their own to make timeouts expire. */
  static async open(
    dir?: string,
    clock: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ): Promise<EmbeddedLedger> {
    const journal = dir ? await Journal.open(dir) : undefined;
    const state = new LedgerState(dir ? join(dir, TRANSFERS_FILE) : undefined);
    const ledger = new EmbeddedLedger(state, journal, clock);
    await journal?.replay(1, (record) => ledger.replay(record));
    return ledger;
  }

  /** The state's double-entry rules (see LedgerState.checkInvariants), once what was sent is applied. */
  async checkInvariants(): Promise<void> {
    await this.applied;
    this.state.checkInvariants();
  }

  async createAccounts(batch: Account[]): Promise<CreateAccountResult[]> {
    checkWidths(batch, accountFits, ACCOUNT_WIDTHS);
    return this.commit(OP_ACCOUNTS, batch, encodeAccount, (timestamp) =>
      oneStep(() => this.state.createAccounts(batch, timestamp)),
    );
  }

  async createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    checkWidths(batch, transferFits, TRANSFER_WIDTHS);
    return this.commit(OP_TRANSFERS, batch, encodeTransfer, (timestamp, records) =>
      this.state.createTransfersInSteps(batch, timestamp, records, APPLY_STEP),
    );
  }

  async lookupAccounts(ids: bigint[]): Promise<Account[]> {
    // Expiry changes balances, so it happens only inside a journaled batch: an empty one (a pulse).
    if (this.state.hasExpiredBy(this.clock())) await this.createTransfers([]);
    return this.read(() =>
      ids.flatMap((id) => {
        const a = this.state.accounts.get(id);
        return a ? [a] : [];
      }),
    );
  }

  async lookupTransfers(ids: bigint[]): Promise<Transfer[]> {
    return this.read(() =>
      ids.flatMap((id) => {
        const t = this.state.transfers.get(id);
        return t ? [t] : [];
      }),
    );
  }

  /** Closes once the batches and lookups already sent are done (a batch applies over several turns). */
  async close(): Promise<void> {
    await this.applied;
    await this.journal?.close();
    await this.state.transfers.close();
  }

  /**
   * Journals a batch and applies it, in the order of the calls. The journal starts writing on the
   * next turn of the event loop; the batch is applied from that turn on, a step a turn, while the
   * write and then the fsync go on in the thread pool, instead of after them. No result is
   * returned before the batch is on disk, and a crash loses only what memory holds: reopening
   * replays what the journal has.
   */
  private async commit<E, R>(
    op: number,
    batch: E[],
    encode: (event: E, view: DataView, o: number) => void,
    apply: Apply<R>,
  ): Promise<R[]> {
    if (this.failure) throw this.failure;
    // As TigerBeetle's client does: a batch is one message to the cluster, of at most BATCH_MAX.
    if (batch.length > BATCH_MAX) {
      throw new BourseError(
        "INVALID_ARGUMENT",
        `a ledger batch holds at most ${BATCH_MAX} events, got ${batch.length}`,
      );
    }
    const timestamp = this.state.reserveTimestamps(this.clock(), batch.length);
    if (!this.journal) return runToEnd(apply(timestamp));
    const record = encodeBatch(op, timestamp, batch, encode);
    const written = this.journal.append(record).then(
      () => {},
      (e: Error) => this.stop(e),
    );
    this.lastWrite = written;
    const applying = this.applied.then(() => inTurns(apply(timestamp, record.subarray(HEADER))));
    this.applied = applying.catch(() => {});
    const results = await applying;
    await written;
    if (this.failure) throw this.failure;
    return results;
  }

  /**
   * A lookup takes its turn among the batches: it sees every batch sent before it, once on disk,
   * and none sent after it (they apply after it has read), as a TigerBeetle cluster orders them.
   */
  private read<T>(lookup: () => T): Promise<T> {
    if (!this.journal) return Promise.resolve(lookup());
    const before = this.lastWrite;
    const reading = this.applied.then(async () => {
      await before;
      if (this.failure) throw this.failure;
      return lookup();
    });
    this.applied = reading.catch(() => {});
    return reading;
  }

  /** Memory may be ahead of the journal: refuses everything until a reopen replays the journal. */
  private stop(error: Error): void {
    this.failure ??= new BourseError("UNAVAILABLE", `ledger journal failed: ${error.message}`);
  }

  private replay(record: Uint8Array): void {
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const op = view.getUint8(0);
    const timestamp = view.getBigUint64(8, true);
    const count = (record.byteLength - HEADER) / EVENT_SIZE;
    if (op === OP_ACCOUNTS) {
      const batch = Array.from({ length: count }, (_, i) => decodeAccount(view, HEADER + i * EVENT_SIZE));
      this.state.createAccounts(batch, timestamp);
    } else {
      const batch = Array.from({ length: count }, (_, i) => decodeTransfer(view, HEADER + i * EVENT_SIZE));
      // Not given the records: a journal payload need not be 8-byte aligned.
      this.state.createTransfers(batch, timestamp);
    }
  }
}

/**
 * Each field's largest value, as TigerBeetle's client checks it before sending a batch: the one
 * definition; `accountFits`/`transferFits` repeat it straight-line for speed, and
 * `test/widths.test.ts` proves they check every field of it.
 */
type Widths<E> = [keyof E & string, bigint | number][];
const U128 = (1n << 128n) - 1n;
const U64 = (1n << 64n) - 1n;
const U32 = 2 ** 32 - 1;
const U16 = 2 ** 16 - 1;
export const ACCOUNT_WIDTHS: Widths<Account> = [
  ["id", U128],
  ["debits_pending", U128],
  ["debits_posted", U128],
  ["credits_pending", U128],
  ["credits_posted", U128],
  ["user_data_128", U128],
  ["user_data_64", U64],
  ["user_data_32", U32],
  ["reserved", U32],
  ["ledger", U32],
  ["code", U16],
  ["flags", U16],
  ["timestamp", U64],
];
export const TRANSFER_WIDTHS: Widths<Transfer> = [
  ["id", U128],
  ["debit_account_id", U128],
  ["credit_account_id", U128],
  ["amount", U128],
  ["pending_id", U128],
  ["user_data_128", U128],
  ["user_data_64", U64],
  ["user_data_32", U32],
  ["timeout", U32],
  ["ledger", U32],
  ["code", U16],
  ["flags", U16],
  ["timestamp", U64],
];

/**
 * Refuses a batch with a field that is not an unsigned integer of its width (the journal's
 * records would truncate it), as TigerBeetle's client refuses to send one; nothing is applied.
 * `fits` checks each field by name, straight-line (a loop over the field names cost ~3 ms a
 * batch of 8,189 on the hot path); only a batch that fails is looked at again to name the field.
 */
function checkWidths<E>(batch: readonly E[], fits: (event: E) => boolean, widths: Widths<E>): void {
  for (const event of batch) {
    if (fits(event)) continue;
    for (const [field, max] of widths) {
      const value = event[field as keyof E] as unknown;
      const ok = typeof max === "bigint" ? u(value, max) : uint(value, max);
      if (!ok) throw new BourseError("INVALID_ARGUMENT", `${field} must be an unsigned integer up to ${max}`);
    }
  }
}

function u(value: unknown, max: bigint): boolean {
  return typeof value === "bigint" && value >= 0n && value <= max;
}

function uint(value: unknown, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function accountFits(a: Account): boolean {
  return (
    u(a.id, U128) &&
    u(a.debits_pending, U128) &&
    u(a.debits_posted, U128) &&
    u(a.credits_pending, U128) &&
    u(a.credits_posted, U128) &&
    u(a.user_data_128, U128) &&
    u(a.user_data_64, U64) &&
    uint(a.user_data_32, U32) &&
    uint(a.reserved, U32) &&
    uint(a.ledger, U32) &&
    uint(a.code, U16) &&
    uint(a.flags, U16) &&
    u(a.timestamp, U64)
  );
}

function transferFits(t: Transfer): boolean {
  return (
    u(t.id, U128) &&
    u(t.debit_account_id, U128) &&
    u(t.credit_account_id, U128) &&
    u(t.amount, U128) &&
    u(t.pending_id, U128) &&
    u(t.user_data_128, U128) &&
    u(t.user_data_64, U64) &&
    uint(t.user_data_32, U32) &&
    uint(t.timeout, U32) &&
    uint(t.ledger, U32) &&
    uint(t.code, U16) &&
    uint(t.flags, U16) &&
    u(t.timestamp, U64)
  );
}

/**
 * Runs the steps of a batch, each in a turn of its own. The first turn comes after the journal
 * has started the batch's write (its flush was asked for first), so applying overlaps the write.
 */
async function inTurns<R>(steps: Iterator<void, R>): Promise<R> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const step = steps.next();
    if (step.done) return step.value;
  }
}

function oneStep<R>(apply: () => R): Iterator<void, R> {
  return { next: () => ({ done: true, value: apply() }) };
}

function encodeBatch<E>(
  op: number,
  timestamp: bigint,
  batch: E[],
  encode: (e: E, view: DataView, o: number) => void,
): Uint8Array {
  const bytes = new Uint8Array(HEADER + batch.length * EVENT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, op);
  view.setBigUint64(8, timestamp, true);
  batch.forEach((e, i) => {
    encode(e, view, HEADER + i * EVENT_SIZE);
  });
  return bytes;
}
