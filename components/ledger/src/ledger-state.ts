import {
  type Account,
  AccountFlags,
  amount_max,
  type CreateAccountResult,
  CreateAccountStatus,
  type CreateTransferResult,
  CreateTransferStatus,
  type Transfer,
  TransferFlags,
} from "tigerbeetle-node";
import { invariant } from "../../domain/src/errors.ts";
import {
  type AccountFields,
  AccountTable,
  CREDITS_PENDING,
  CREDITS_POSTED,
  DEBITS_PENDING,
  DEBITS_POSTED,
  startingWith,
} from "./account-table.ts";
import { TransferStore } from "./transfer-store.ts";
import {
  addU128Slots,
  compareU128Slots,
  copyU128Slots,
  subtractU128Slots,
  writeU128Slots,
} from "./u128-slots.ts";

/**
 * TigerBeetle's state machine for accounts and transfers, in memory and deterministic: given the
 * same batches with the same timestamps it ends in the same state (which is how the durable
 * embedded ledger recovers). It follows TigerBeetle 0.17's checks in their order, proved against
 * a real replica by the differential test (test/differential.test.ts):
 * - each event gets its own timestamp (batch timestamp + index), strictly increasing; `created`
 *   and `exists` report the object's timestamp (an `exists` keeps the original one);
 * - a `linked` event chains to the next; a chain succeeds or fails whole (the failing event
 *   reports its own status, the others `linked_event_failed`); a `linked` last event reports
 *   `linked_event_chain_open`, even in a chain that already failed;
 * - an event whose id exists reports `exists` if identical, else `exists_with_different_<field>`
 *   (flags compared whole, `linked` included: it is stored);
 * - a transfer that fails for a transient reason (missing account or pending transfer, limits,
 *   closed account) burns its id, even inside a chain that is rolled back: retrying it reports
 *   `id_already_failed`. Other failures (overflow, expiry, validation) leave the id free;
 * - two-phase: `pending` reserves (debits_pending/credits_pending) with an optional timeout in
 *   seconds; a post moves up to the pending amount (`amount_max`: all of it) and releases the
 *   rest; a void releases the whole pending amount (0 or `amount_max` there: the pending amount),
 *   and stores it; post and void inherit the pending transfer's user data where theirs is zero;
 *   expired pending transfers are voided;
 * - `balancing_debit` / `balancing_credit` clamp the amount to what the account's limit allows;
 * - `closing_debit` / `closing_credit` (pending only) close an account, voiding or expiry reopen
 *   it; a closed account refuses transfers except voids;
 * - `imported` batches carry their own past timestamps, which must never go back.
 */
const U128_MAX = (1n << 128n) - 1n;
/** TigerBeetle's timestamps are u63: the top bit of its u64 is a tombstone. */
const TIMESTAMP_MAX = (1n << 63n) - 1n;
const ACCOUNT_FLAGS_KNOWN =
  AccountFlags.linked |
  AccountFlags.debits_must_not_exceed_credits |
  AccountFlags.credits_must_not_exceed_debits |
  AccountFlags.history |
  AccountFlags.imported |
  AccountFlags.closed;
const TRANSFER_FLAGS_KNOWN =
  TransferFlags.linked |
  TransferFlags.pending |
  TransferFlags.post_pending_transfer |
  TransferFlags.void_pending_transfer |
  TransferFlags.balancing_debit |
  TransferFlags.balancing_credit |
  TransferFlags.closing_debit |
  TransferFlags.closing_credit |
  TransferFlags.imported;
const NS_PER_SECOND = 1_000_000_000n;

/**
 * Transient failures (TigerBeetle's own list): the id is burned, so it can never succeed later,
 * even once the account or the funds are there.
 */
const TRANSIENT = new Set<CreateTransferStatus>([
  CreateTransferStatus.debit_account_not_found,
  CreateTransferStatus.credit_account_not_found,
  CreateTransferStatus.pending_transfer_not_found,
  CreateTransferStatus.exceeds_credits,
  CreateTransferStatus.exceeds_debits,
  CreateTransferStatus.debit_account_already_closed,
  CreateTransferStatus.credit_account_already_closed,
]);

/** The statuses runChains reports itself, shared by both kinds of event. */
type ChainStatuses<S> = Record<
  | "linked_event_failed"
  | "linked_event_chain_open"
  | "imported_event_expected"
  | "imported_event_not_expected"
  | "timestamp_must_be_zero"
  | "imported_event_timestamp_out_of_range"
  | "imported_event_timestamp_must_not_advance"
  | "created",
  S
>;

type PendingState = "pending" | "posted" | "voided" | "expired";

/**
 * Scratch u128 registers for the balance checks, so they allocate nothing: the transfer's amount,
 * then what the debit and credit accounts' totals would become with it.
 */
const work = new BigUint64Array(6);
const AMOUNT = 0;
const DEBITS = 2;
const CREDITS = 4;

/**
 * Undo log of one linked chain: restores every account and transfer it touched if the chain fails.
 * The frequent entries (balances before they changed, created transfers) are kept in arrays, not
 * closures: settlement writes every trade as a chain, so this is the hot path. Entries are undone
 * newest first, so each balance ends as it was before the chain.
 * Events outside a chain pass null (nothing to undo: a failed event changes nothing).
 */
class UndoLog {
  /**
   * Where each saved balance is in the account limbs, its old value in `saved`: typed arrays with
   * a count, as emptying a plain array between chains dropped its storage, to be allocated anew.
   */
  private balanceAt = new Int32Array(32);
  private saved = new BigUint64Array(64);
  private balances = 0;
  private transfersAdded = 0;
  private readonly others: (() => void)[] = [];

  /** Saves the balance at `limbs[at]` before it changes. */
  balance(limbs: BigUint64Array, at: number): void {
    const n = this.balances;
    if (n === this.balanceAt.length) {
      this.balanceAt = startingWith(new Int32Array(n * 2), this.balanceAt);
      this.saved = startingWith(new BigUint64Array(n * 4), this.saved);
    }
    copyU128Slots(this.saved, n * 2, limbs, at);
    this.balanceAt[n] = at;
    this.balances = n + 1;
  }

  transfer(): void {
    this.transfersAdded++;
  }

  push(undo: () => void): void {
    this.others.push(undo);
  }

  /** Reused across chains: emptied in place instead of allocated per chain. */
  clear(): void {
    this.balances = 0;
    this.transfersAdded = 0;
    this.others.length = 0;
  }

  rollback(accounts: AccountTable, transfers: TransferStore): void {
    for (let i = this.balances - 1; i >= 0; i--) {
      copyU128Slots(accounts.limbs, this.balanceAt[i]!, this.saved, i * 2);
    }
    transfers.truncate(this.transfersAdded);
    for (let i = this.others.length - 1; i >= 0; i--) this.others[i]!();
  }
}
type Undo = UndoLog | null;

export class LedgerState {
  readonly accounts = new AccountTable();
  readonly transfers: TransferStore;
  private readonly failedTransferIds = new Set<bigint>();
  private readonly pendingState = new Map<bigint, PendingState>();
  /** Pending transfers with a timeout, by id, with the timestamp (ns) they expire at. */
  private readonly expiries = new Map<bigint, bigint>();
  private reserved = 0n;
  /** The timestamp the event being applied reports (its own, an import's, or an existing one's). */
  private actual = 0n;
  private readonly undo = new UndoLog();
  /** The account slots of the transfers in the batch being applied, by index (-1: not found). */
  private debitSlots = new Int32Array(0);
  private creditSlots = new Int32Array(0);

  /** `transfersFile`: where older transfers go instead of memory (see TransferStore). */
  constructor(transfersFile?: string) {
    this.transfers = new TransferStore(transfersFile);
  }

  /**
   * Reserves `count` timestamps for the next batch (at `now`, or just after the last one) so that
   * batches journaled concurrently never overlap; they are applied in the same order.
   */
  reserveTimestamps(now: bigint, count: number): bigint {
    const base = now > this.reserved ? now : this.reserved + 1n;
    this.reserved = base + BigInt(Math.max(count, 1));
    return base;
  }

  /**
   * Double entry, checked whole; throws an InvariantViolation at the first break: on every ledger
   * the accounts' debits equal their credits (posted, and pending), and no account with a balance
   * limit is past it. O(accounts): for the suites and `verify` mode.
   */
  checkInvariants(): void {
    const sums = new Map<number, bigint[]>();
    const fields = [DEBITS_PENDING, DEBITS_POSTED, CREDITS_PENDING, CREDITS_POSTED];
    for (let slot = 0; slot < this.accounts.size; slot++) {
      const [dp, dP, cp, cP] = fields.map((f) => this.accounts.balance(slot, f)) as [
        bigint,
        bigint,
        bigint,
        bigint,
      ];
      const ledger = this.accounts.ledger(slot);
      const sum = sums.get(ledger) ?? [0n, 0n, 0n, 0n];
      sums.set(ledger, [sum[0]! + dp, sum[1]! + dP, sum[2]! + cp, sum[3]! + cP]);
      const flags = this.accounts.flags(slot);
      const id = () => this.accounts.fields(slot).id;
      if (flags & AccountFlags.debits_must_not_exceed_credits)
        invariant(dp + dP <= cP, () => `account ${id()}: debits ${dp + dP} over credits ${cP}`);
      if (flags & AccountFlags.credits_must_not_exceed_debits)
        invariant(cp + cP <= dP, () => `account ${id()}: credits ${cp + cP} over debits ${dP}`);
    }
    for (const [ledger, [dp, dP, cp, cP]] of sums) {
      invariant(dP === cP, () => `ledger ${ledger}: ${dP} posted debits, ${cP} posted credits`);
      invariant(dp === cp, () => `ledger ${ledger}: ${dp} pending debits, ${cp} pending credits`);
    }
  }

  /** Is some pending transfer past its timeout at `now`? (then a pulse batch should expire it) */
  hasExpiredBy(now: bigint): boolean {
    for (const at of this.expiries.values()) if (at <= now) return true;
    return false;
  }

  createAccounts(batch: readonly Account[], timestamp: bigint): CreateAccountResult[] {
    const results: CreateAccountResult[] = new Array(batch.length);
    const create = (a: Account, ts: bigint, undo: Undo) => this.createAccount(a, ts, undo);
    const imported = AccountFlags.imported;
    this.runChains(batch, timestamp, create, CreateAccountStatus, imported, results, 0, batch.length);
    return results;
  }

  createTransfers(
    batch: readonly Transfer[],
    timestamp: bigint,
    encoded?: Uint8Array,
  ): CreateTransferResult[] {
    return runToEnd(this.createTransfersInSteps(batch, timestamp, encoded, batch.length));
  }

  /**
   * Applies a batch of transfers as createTransfers does, in steps of at least `step` events
   * (and on to the end of a chain), so that the durable ledger can let the event loop turn
   * between them. One batch at a time: the next starts once this one has returned its results.
   *
   * `encoded`, when the caller has it (the journaled batch), holds the same transfers as
   * 128-byte records, 8-byte aligned: created transfers are stored by copying their record
   * instead of encoding each field again.
   */
  *createTransfersInSteps(
    batch: readonly Transfer[],
    timestamp: bigint,
    encoded: Uint8Array | undefined,
    step: number,
  ): Generator<void, CreateTransferResult[]> {
    this.expire(timestamp);
    this.prefetchAccounts(batch);
    const records = encoded && new BigUint64Array(encoded.buffer, encoded.byteOffset, encoded.byteLength / 8);
    const create = (t: Transfer, ts: bigint, undo: Undo, i: number) =>
      this.createTransfer(t, ts, undo, records, i);
    const results: CreateTransferResult[] = new Array(batch.length);
    const imported = TransferFlags.imported;
    let from = 0;
    for (;;) {
      from = this.runChains(
        batch,
        timestamp,
        create,
        CreateTransferStatus,
        imported,
        results,
        from,
        from + step,
      );
      if (from === batch.length) return results;
      yield;
    }
  }

  /**
   * Looks up every transfer's accounts before any is applied, as TigerBeetle prefetches a batch:
   * in a loop of independent lookups the CPU overlaps their cache misses, where the transfer by
   * transfer path waits for each in turn. Accounts are created only by account batches, so the
   * slots hold for the whole batch.
   */
  private prefetchAccounts(batch: readonly Transfer[]): void {
    if (this.debitSlots.length < batch.length) {
      this.debitSlots = new Int32Array(batch.length);
      this.creditSlots = new Int32Array(batch.length);
    }
    const { accounts, debitSlots, creditSlots } = this;
    for (let i = 0; i < batch.length; i++) {
      debitSlots[i] = accounts.slotOf(batch[i]!.debit_account_id);
      creditSlots[i] = accounts.slotOf(batch[i]!.credit_account_id);
    }
  }

  // ---- chains ----

  /**
   * Applies events from `from` on into `results` and returns where it stopped: at the first
   * event at or after `until` that is not inside a chain, or at the end of the batch.
   * `create` leaves in `this.actual` the timestamp a `created` or `exists` event reports.
   */
  private runChains<E extends { flags: number; timestamp: bigint }, S extends number>(
    batch: readonly E[],
    timestamp: bigint,
    create: (event: E, ts: bigint, undo: Undo, index: number) => S,
    statuses: ChainStatuses<S>,
    importedFlag: number,
    results: { timestamp: bigint; status: S }[],
    from: number,
    until: number,
  ): number {
    let chainStart = -1;
    let chainFailed = false;
    const undo = this.undo;
    // The first event decides whether the batch is imported (with timestamps of its own).
    const imported = batch.length > 0 && (batch[0]!.flags & importedFlag) !== 0;
    const last = batch.length - 1;
    const batchTimestamp = timestamp + BigInt(last);
    let ts = timestamp + BigInt(from) - 1n;
    let i = from;
    for (; i < batch.length && (i < until || chainStart >= 0); i++) {
      const event = batch[i]!;
      ts += 1n;
      const linked = (event.flags & 1) !== 0;
      if (chainStart < 0 && linked) {
        chainStart = i;
        chainFailed = false;
        undo.clear();
      }
      const inChain = chainStart >= 0;
      this.actual = ts;
      let status: S;
      if (linked && i === last) status = statuses.linked_event_chain_open;
      else if (chainFailed) status = statuses.linked_event_failed;
      else {
        status =
          timestampStatus(event, imported, (event.flags & importedFlag) !== 0, batchTimestamp, statuses) ??
          create(event, ts, inChain ? undo : null, i);
      }
      results[i] = { timestamp: this.actual, status };
      if (inChain && status !== statuses.created && !chainFailed) {
        chainFailed = true;
        undo.rollback(this.accounts, this.transfers);
        for (let j = chainStart; j < i; j++)
          results[j] = { timestamp: results[j]!.timestamp, status: statuses.linked_event_failed };
      }
      if (inChain && (!linked || i === last)) {
        chainStart = -1;
        chainFailed = false;
      }
    }
    if (i === batch.length && timestamp + BigInt(batch.length) > this.reserved) {
      this.reserved = timestamp + BigInt(batch.length);
    }
    return i;
  }

  // ---- accounts ----

  private createAccount(a: Account, ts: bigint, undo: Undo): CreateAccountStatus {
    const S = CreateAccountStatus;
    if (a.reserved !== 0) return S.reserved_field;
    if ((a.flags & ~ACCOUNT_FLAGS_KNOWN) !== 0) return S.reserved_flag;
    if (a.id === 0n) return S.id_must_not_be_zero;
    if (a.id === U128_MAX) return S.id_must_not_be_int_max;
    const existing = this.accounts.slotOf(a.id);
    if (existing >= 0) return this.accountExists(a, this.accounts.fields(existing));
    if (
      (a.flags & AccountFlags.debits_must_not_exceed_credits) !== 0 &&
      (a.flags & AccountFlags.credits_must_not_exceed_debits) !== 0
    ) {
      return S.flags_are_mutually_exclusive;
    }
    if (a.debits_pending !== 0n) return S.debits_pending_must_be_zero;
    if (a.debits_posted !== 0n) return S.debits_posted_must_be_zero;
    if (a.credits_pending !== 0n) return S.credits_pending_must_be_zero;
    if (a.credits_posted !== 0n) return S.credits_posted_must_be_zero;
    if (a.ledger === 0) return S.ledger_must_not_be_zero;
    if (a.code === 0) return S.code_must_not_be_zero;
    let actual = ts;
    if (a.flags & AccountFlags.imported) {
      if (a.timestamp <= this.accounts.newestTimestamp || this.transfers.hasTimestamp(a.timestamp)) {
        return S.imported_event_timestamp_must_not_regress;
      }
      actual = a.timestamp;
    }
    this.accounts.add({ ...a, timestamp: actual });
    // Undone in reverse order, so the account to remove is always the last one added.
    undo?.push(() => this.accounts.removeLast());
    this.actual = actual;
    return S.created;
  }

  private accountExists(a: Account, e: AccountFields): CreateAccountStatus {
    const S = CreateAccountStatus;
    if (a.flags !== e.flags) return S.exists_with_different_flags;
    if (a.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
    if (a.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
    if (a.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
    if (a.ledger !== e.ledger) return S.exists_with_different_ledger;
    if (a.code !== e.code) return S.exists_with_different_code;
    this.actual = e.timestamp;
    return S.exists;
  }

  // ---- transfers ----

  /** `t` is event `index` of its batch; record `index` of `encoded`, if given, is `t` encoded. */
  private createTransfer(
    t: Transfer,
    ts: bigint,
    undo: Undo,
    encoded: BigUint64Array | undefined,
    index: number,
  ): CreateTransferStatus {
    const S = CreateTransferStatus;
    if ((t.flags & ~TRANSFER_FLAGS_KNOWN) !== 0) return S.reserved_flag;
    if (t.id === 0n) return S.id_must_not_be_zero;
    if (t.id === U128_MAX) return S.id_must_not_be_int_max;
    if (this.transfers.has(t.id)) return this.transferExists(t, this.transfers.get(t.id)!);
    if (this.failedTransferIds.size > 0 && this.failedTransferIds.has(t.id)) return S.id_already_failed;
    const status =
      t.flags & (TransferFlags.post_pending_transfer | TransferFlags.void_pending_transfer)
        ? this.postOrVoid(t, ts, undo)
        : this.validateAndApply(t, ts, undo, encoded, index);
    // Kept even when a failing chain is rolled back, as TigerBeetle keeps it.
    if (status !== S.created && TRANSIENT.has(status)) this.failedTransferIds.add(t.id);
    return status;
  }

  private validateAndApply(
    t: Transfer,
    ts: bigint,
    undo: Undo,
    encoded: BigUint64Array | undefined,
    index: number,
  ): CreateTransferStatus {
    const S = CreateTransferStatus;
    const F = TransferFlags;
    if (t.debit_account_id === 0n) return S.debit_account_id_must_not_be_zero;
    if (t.debit_account_id === U128_MAX) return S.debit_account_id_must_not_be_int_max;
    if (t.credit_account_id === 0n) return S.credit_account_id_must_not_be_zero;
    if (t.credit_account_id === U128_MAX) return S.credit_account_id_must_not_be_int_max;
    if (t.debit_account_id === t.credit_account_id) return S.accounts_must_be_different;
    if (t.pending_id !== 0n) return S.pending_id_must_be_zero;
    const pending = (t.flags & F.pending) !== 0;
    if (!pending) {
      if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
      if (t.flags & (F.closing_debit | F.closing_credit)) return S.closing_transfer_must_be_pending;
    }
    if (t.ledger === 0) return S.ledger_must_not_be_zero;
    if (t.code === 0) return S.code_must_not_be_zero;
    const accounts = this.accounts;
    const dr = this.debitSlots[index]!;
    if (dr < 0) return S.debit_account_not_found;
    const cr = this.creditSlots[index]!;
    if (cr < 0) return S.credit_account_not_found;
    if (accounts.ledger(dr) !== accounts.ledger(cr)) return S.accounts_must_have_the_same_ledger;
    if (t.ledger !== accounts.ledger(dr)) return S.transfer_must_have_the_same_ledger_as_accounts;
    let actual = ts;
    if (t.flags & F.imported) {
      const status = this.importedTransferStatus(t, dr, cr);
      if (status !== undefined) return status;
      actual = t.timestamp;
    }
    if (accounts.flags(dr) & AccountFlags.closed) return S.debit_account_already_closed;
    if (accounts.flags(cr) & AccountFlags.closed) return S.credit_account_already_closed;
    let amount = t.amount;
    if (t.flags & F.balancing_debit) {
      const room =
        accounts.balance(dr, CREDITS_POSTED) -
        accounts.balance(dr, DEBITS_POSTED) -
        accounts.balance(dr, DEBITS_PENDING);
      amount = min(amount, room > 0n ? room : 0n);
    }
    if (t.flags & F.balancing_credit) {
      const room =
        accounts.balance(cr, DEBITS_POSTED) -
        accounts.balance(cr, CREDITS_POSTED) -
        accounts.balance(cr, CREDITS_PENDING);
      amount = min(amount, room > 0n ? room : 0n);
    }
    writeU128Slots(work, AMOUNT, amount);
    const overflow = this.overflowStatus(pending, dr, cr);
    if (overflow !== undefined) return overflow;
    if (t.timeout > 0 && actual + BigInt(t.timeout) * NS_PER_SECOND > TIMESTAMP_MAX)
      return S.overflows_timeout;
    const limbs = accounts.limbs;
    if (
      accounts.flags(dr) & AccountFlags.debits_must_not_exceed_credits &&
      compareU128Slots(work, DEBITS, limbs, accounts.balanceAt(dr, CREDITS_POSTED)) > 0
    ) {
      return S.exceeds_credits;
    }
    if (
      accounts.flags(cr) & AccountFlags.credits_must_not_exceed_debits &&
      compareU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, DEBITS_POSTED)) > 0
    ) {
      return S.exceeds_debits;
    }
    this.record(t, actual, amount, undo, encoded, index);
    this.increase(accounts.balanceAt(dr, pending ? DEBITS_PENDING : DEBITS_POSTED), undo);
    this.increase(accounts.balanceAt(cr, pending ? CREDITS_PENDING : CREDITS_POSTED), undo);
    if (pending) {
      this.pendingState.set(t.id, "pending");
      undo?.push(() => this.pendingState.delete(t.id));
      if (t.timeout > 0) {
        this.expiries.set(t.id, actual + BigInt(t.timeout) * NS_PER_SECOND);
        undo?.push(() => this.expiries.delete(t.id));
      }
      if (t.flags & F.closing_debit) this.setClosed(dr, true, undo);
      if (t.flags & F.closing_credit) this.setClosed(cr, true, undo);
    }
    this.actual = actual;
    return S.created;
  }

  /** Why an imported transfer's own timestamp is refused, if it is. */
  private importedTransferStatus(t: Transfer, dr: number, cr: number): CreateTransferStatus | undefined {
    const S = CreateTransferStatus;
    if (t.timestamp <= this.transfers.newestTimestamp || this.accounts.hasTimestamp(t.timestamp)) {
      return S.imported_event_timestamp_must_not_regress;
    }
    if (t.timestamp <= this.accounts.fields(dr).timestamp) {
      return S.imported_event_timestamp_must_postdate_debit_account;
    }
    if (t.timestamp <= this.accounts.fields(cr).timestamp) {
      return S.imported_event_timestamp_must_postdate_credit_account;
    }
    if (t.timeout !== 0) return S.imported_event_timeout_must_be_zero;
    return undefined;
  }

  /**
   * Whether adding `work[AMOUNT]` to the accounts overflows a u128 balance, in TigerBeetle's
   * order (pending, then posted, then their sum); when it does not, leaves the debit account's
   * debits and the credit account's credits (pending plus posted) with the amount in
   * `work[DEBITS]` and `work[CREDITS]`.
   */
  private overflowStatus(pending: boolean, dr: number, cr: number): CreateTransferStatus | undefined {
    const S = CreateTransferStatus;
    const { accounts } = this;
    const limbs = accounts.limbs;
    if (pending) {
      copyU128Slots(work, DEBITS, limbs, accounts.balanceAt(dr, DEBITS_PENDING));
      if (addU128Slots(work, DEBITS, work, AMOUNT)) return S.overflows_debits_pending;
      copyU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, CREDITS_PENDING));
      if (addU128Slots(work, CREDITS, work, AMOUNT)) return S.overflows_credits_pending;
    }
    copyU128Slots(work, DEBITS, limbs, accounts.balanceAt(dr, DEBITS_POSTED));
    if (addU128Slots(work, DEBITS, work, AMOUNT)) return S.overflows_debits_posted;
    copyU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, CREDITS_POSTED));
    if (addU128Slots(work, CREDITS, work, AMOUNT)) return S.overflows_credits_posted;
    if (addU128Slots(work, DEBITS, limbs, accounts.balanceAt(dr, DEBITS_PENDING))) return S.overflows_debits;
    if (addU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, CREDITS_PENDING)))
      return S.overflows_credits;
    return undefined;
  }

  private postOrVoid(t: Transfer, ts: bigint, undo: Undo): CreateTransferStatus {
    const S = CreateTransferStatus;
    const F = TransferFlags;
    const post = (t.flags & F.post_pending_transfer) !== 0;
    if (post && t.flags & F.void_pending_transfer) return S.flags_are_mutually_exclusive;
    if (t.flags & (F.pending | F.balancing_debit | F.balancing_credit | F.closing_debit | F.closing_credit)) {
      return S.flags_are_mutually_exclusive;
    }
    if (t.pending_id === 0n) return S.pending_id_must_not_be_zero;
    if (t.pending_id === U128_MAX) return S.pending_id_must_not_be_int_max;
    if (t.pending_id === t.id) return S.pending_id_must_be_different;
    if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
    const p = this.transfers.get(t.pending_id);
    if (!p) return S.pending_transfer_not_found;
    if ((p.flags & F.pending) === 0) return S.pending_transfer_not_pending;
    if (t.debit_account_id !== 0n && t.debit_account_id !== p.debit_account_id) {
      return S.pending_transfer_has_different_debit_account_id;
    }
    if (t.credit_account_id !== 0n && t.credit_account_id !== p.credit_account_id) {
      return S.pending_transfer_has_different_credit_account_id;
    }
    if (t.ledger !== 0 && t.ledger !== p.ledger) return S.pending_transfer_has_different_ledger;
    if (t.code !== 0 && t.code !== p.code) return S.pending_transfer_has_different_code;
    const amount = settledAmount(t, p);
    if (amount > p.amount) return S.exceeds_pending_transfer_amount;
    if (!post && amount < p.amount) return S.pending_transfer_has_different_amount;
    const state = this.pendingState.get(p.id);
    if (state === "posted") return S.pending_transfer_already_posted;
    if (state === "voided") return S.pending_transfer_already_voided;
    if (state === "expired") return S.pending_transfer_expired;
    if (p.timeout > 0 && p.timestamp + BigInt(p.timeout) * NS_PER_SECOND <= ts)
      return S.pending_transfer_expired;
    let actual = ts;
    if (t.flags & F.imported) {
      if (t.timestamp <= this.transfers.newestTimestamp || this.accounts.hasTimestamp(t.timestamp)) {
        return S.imported_event_timestamp_must_not_regress;
      }
      actual = t.timestamp;
    }
    const { accounts } = this;
    const dr = accounts.slotOf(p.debit_account_id);
    const cr = accounts.slotOf(p.credit_account_id);
    // The only movement a closed account allows is voiding a pending transfer.
    if (post && accounts.flags(dr) & AccountFlags.closed) return S.debit_account_already_closed;
    if (post && accounts.flags(cr) & AccountFlags.closed) return S.credit_account_already_closed;
    const resolved = {
      ...t,
      debit_account_id: p.debit_account_id,
      credit_account_id: p.credit_account_id,
      user_data_128: t.user_data_128 || p.user_data_128,
      user_data_64: t.user_data_64 || p.user_data_64,
      user_data_32: t.user_data_32 || p.user_data_32,
      ledger: p.ledger,
      code: p.code,
    };
    this.record(resolved, actual, amount, undo);
    this.release(p, undo);
    if (post) {
      writeU128Slots(work, AMOUNT, amount);
      this.increase(accounts.balanceAt(dr, DEBITS_POSTED), undo);
      this.increase(accounts.balanceAt(cr, CREDITS_POSTED), undo);
    } else {
      this.reopen(p, undo);
    }
    this.pendingState.set(p.id, post ? "posted" : "voided");
    undo?.push(() => this.pendingState.set(p.id, "pending"));
    const expiry = this.expiries.get(p.id);
    if (expiry !== undefined) {
      this.expiries.delete(p.id);
      undo?.push(() => this.expiries.set(p.id, expiry));
    }
    this.actual = actual;
    return S.created;
  }

  /** Voids every pending transfer whose timeout has passed by `now`. */
  expire(now: bigint): void {
    for (const [id, at] of this.expiries) {
      if (at > now) continue;
      const p = this.transfers.get(id)!;
      this.release(p, null);
      this.reopen(p, null);
      this.pendingState.set(id, "expired");
      this.expiries.delete(id);
    }
  }

  /** Takes a pending transfer's amount back out of its accounts' pending balances. */
  private release(p: Transfer, undo: Undo): void {
    const { accounts } = this;
    writeU128Slots(work, AMOUNT, p.amount);
    this.decrease(accounts.balanceAt(accounts.slotOf(p.debit_account_id), DEBITS_PENDING), undo);
    this.decrease(accounts.balanceAt(accounts.slotOf(p.credit_account_id), CREDITS_PENDING), undo);
  }

  /** Reopens the accounts a pending transfer closed (it was voided or expired). */
  private reopen(p: Transfer, undo: Undo): void {
    const { accounts } = this;
    if (p.flags & TransferFlags.closing_debit)
      this.setClosed(accounts.slotOf(p.debit_account_id), false, undo);
    if (p.flags & TransferFlags.closing_credit)
      this.setClosed(accounts.slotOf(p.credit_account_id), false, undo);
  }

  private setClosed(slot: number, closed: boolean, undo: Undo): void {
    const before = this.accounts.flags(slot);
    this.accounts.setFlags(slot, closed ? before | AccountFlags.closed : before & ~AccountFlags.closed);
    undo?.push(() => this.accounts.setFlags(slot, before));
  }

  /** Stores a created transfer with its flags as given (`linked` too, as TigerBeetle does). */
  private record(
    t: Transfer,
    ts: bigint,
    amount: bigint,
    undo: Undo,
    encoded?: BigUint64Array,
    index = 0,
  ): void {
    this.transfers.append(t, amount, t.flags, ts, encoded, index);
    undo?.transfer();
  }

  /** Adds `work[AMOUNT]` to the balance at `limbs[at]` (overflow was checked before). */
  private increase(at: number, undo: Undo): void {
    undo?.balance(this.accounts.limbs, at);
    addU128Slots(this.accounts.limbs, at, work, AMOUNT);
  }

  /** Subtracts `work[AMOUNT]` from the balance at `limbs[at]` (what was added before). */
  private decrease(at: number, undo: Undo): void {
    undo?.balance(this.accounts.limbs, at);
    subtractU128Slots(this.accounts.limbs, at, work, AMOUNT);
  }

  /**
   * `exists`, or the first field that differs. Post and void compare as TigerBeetle stored them:
   * zero accounts, ledger and code mean the pending transfer's, zero user data means inherited,
   * and the amount is compared as it resolved (void: 0 = all; post: amount_max = all).
   */
  private transferExists(t: Transfer, e: Transfer): CreateTransferStatus {
    const S = CreateTransferStatus;
    const F = TransferFlags;
    if (t.flags !== e.flags) return S.exists_with_different_flags;
    if (t.pending_id !== e.pending_id) return S.exists_with_different_pending_id;
    if (t.timeout !== e.timeout) return S.exists_with_different_timeout;
    let status: CreateTransferStatus;
    if (t.flags & (F.post_pending_transfer | F.void_pending_transfer)) {
      status = postOrVoidExists(t, e, this.transfers.get(t.pending_id)!);
    } else {
      status = transferExists(t, e);
    }
    if (status === S.exists) this.actual = e.timestamp;
    return status;
  }
}

/** Fields of a transfer that is neither a post nor a void against the one stored with its id. */
function transferExists(t: Transfer, e: Transfer): CreateTransferStatus {
  const S = CreateTransferStatus;
  if (t.debit_account_id !== e.debit_account_id) return S.exists_with_different_debit_account_id;
  if (t.credit_account_id !== e.credit_account_id) return S.exists_with_different_credit_account_id;
  // A balancing transfer's amount is an upper limit: resent, any limit up from what moved is equal.
  const balancing = (t.flags & (TransferFlags.balancing_debit | TransferFlags.balancing_credit)) !== 0;
  if (balancing ? t.amount < e.amount : t.amount !== e.amount) return S.exists_with_different_amount;
  if (t.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
  if (t.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
  if (t.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (t.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (t.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

/** A post or void against the one stored with its id (`p`: the pending transfer it settled). */
function postOrVoidExists(t: Transfer, e: Transfer, p: Transfer): CreateTransferStatus {
  const S = CreateTransferStatus;
  if (t.debit_account_id !== 0n && t.debit_account_id !== e.debit_account_id) {
    return S.exists_with_different_debit_account_id;
  }
  if (t.credit_account_id !== 0n && t.credit_account_id !== e.credit_account_id) {
    return S.exists_with_different_credit_account_id;
  }
  if (settledAmount(t, p) !== e.amount) return S.exists_with_different_amount;
  if ((t.user_data_128 || p.user_data_128) !== e.user_data_128) return S.exists_with_different_user_data_128;
  if ((t.user_data_64 || p.user_data_64) !== e.user_data_64) return S.exists_with_different_user_data_64;
  if ((t.user_data_32 || p.user_data_32) !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (t.ledger !== 0 && t.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (t.code !== 0 && t.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

/** The amount a post or void of `p` moves: a void's 0 and a post's amount_max mean all of it. */
function settledAmount(t: Transfer, p: Transfer): bigint {
  if (t.flags & TransferFlags.void_pending_transfer) return t.amount === 0n ? p.amount : t.amount;
  return t.amount === amount_max ? p.amount : t.amount;
}

/**
 * What an event's own timestamp says before it is applied: an imported batch is all imported,
 * with timestamps in TigerBeetle's range and before the batch's; any other has timestamp zero.
 */
function timestampStatus<S>(
  event: { timestamp: bigint },
  batchImported: boolean,
  imported: boolean,
  batchTimestamp: bigint,
  S: ChainStatuses<S>,
): S | undefined {
  if (batchImported !== imported) return imported ? S.imported_event_not_expected : S.imported_event_expected;
  if (!imported) return event.timestamp === 0n ? undefined : S.timestamp_must_be_zero;
  if (event.timestamp === 0n || event.timestamp > TIMESTAMP_MAX)
    return S.imported_event_timestamp_out_of_range;
  if (event.timestamp >= batchTimestamp) return S.imported_event_timestamp_must_not_advance;
  return undefined;
}

/** Runs a stepwise application to its end, without pausing. */
export function runToEnd<R>(steps: Iterator<void, R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
