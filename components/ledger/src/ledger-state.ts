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
 * embedded ledger recovers). Implemented from TigerBeetle's documented semantics:
 * - each event gets its own timestamp (batch timestamp + index), strictly increasing;
 * - a `linked` event chains to the next; a chain succeeds or fails whole (the failing event
 *   reports its own status, the others `linked_event_failed`); a chain still open at the end of
 *   the batch fails with `linked_event_chain_open`;
 * - an event whose id exists reports `exists` if identical, else `exists_with_different_<field>`;
 * - transfers that failed for a transient reason (balance, missing account, expiry) keep their id:
 *   retrying it reports `id_already_failed`, so an id can never succeed after it failed;
 * - two-phase: `pending` reserves (debits_pending/credits_pending) with an optional timeout in
 *   seconds; `post_pending_transfer` posts up to the pending amount (amount_max = all of it) and
 *   releases the rest; `void_pending_transfer` releases it; expired pending transfers are voided;
 * - `balancing_debit` / `balancing_credit` clamp the amount to what the account's limit allows.
 */
const U128_MAX = (1n << 128n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const ACCOUNT_FLAGS_KNOWN =
  AccountFlags.linked |
  AccountFlags.debits_must_not_exceed_credits |
  AccountFlags.credits_must_not_exceed_debits |
  AccountFlags.history;
const TRANSFER_FLAGS_KNOWN =
  TransferFlags.linked |
  TransferFlags.pending |
  TransferFlags.post_pending_transfer |
  TransferFlags.void_pending_transfer |
  TransferFlags.balancing_debit |
  TransferFlags.balancing_credit;
const NS_PER_SECOND = 1_000_000_000n;

/** Transient failures: TigerBeetle remembers the id, so it can never succeed later. */
const TRANSIENT = new Set<CreateTransferStatus>([
  CreateTransferStatus.debit_account_not_found,
  CreateTransferStatus.credit_account_not_found,
  CreateTransferStatus.pending_transfer_not_found,
  CreateTransferStatus.exceeds_credits,
  CreateTransferStatus.exceeds_debits,
  CreateTransferStatus.pending_transfer_expired,
  CreateTransferStatus.overflows_debits_pending,
  CreateTransferStatus.overflows_credits_pending,
  CreateTransferStatus.overflows_debits_posted,
  CreateTransferStatus.overflows_credits_posted,
  CreateTransferStatus.overflows_debits,
  CreateTransferStatus.overflows_credits,
  CreateTransferStatus.overflows_timeout,
]);

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

  /** Is some pending transfer past its timeout at `now`? (then a pulse batch should expire it) */
  hasExpiredBy(now: bigint): boolean {
    for (const at of this.expiries.values()) if (at <= now) return true;
    return false;
  }

  createAccounts(batch: readonly Account[], timestamp: bigint): CreateAccountResult[] {
    const results: CreateAccountResult[] = new Array(batch.length);
    const create = (a: Account, ts: bigint, undo: Undo) => this.createAccount(a, ts, undo);
    this.runChains(batch, timestamp, create, CreateAccountStatus, results, 0, batch.length);
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
    let from = 0;
    for (;;) {
      from = this.runChains(batch, timestamp, create, CreateTransferStatus, results, from, from + step);
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
   */
  private runChains<E extends { flags: number }, S extends number>(
    batch: readonly E[],
    timestamp: bigint,
    create: (event: E, ts: bigint, undo: Undo, index: number) => S,
    statuses: { created: S; linked_event_failed: S; linked_event_chain_open: S },
    results: { timestamp: bigint; status: S }[],
    from: number,
    until: number,
  ): number {
    let chainStart = -1;
    let chainFailed = false;
    const undo = this.undo;
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
      let status: S;
      if (inChain && chainFailed) status = statuses.linked_event_failed;
      else if (linked && i === batch.length - 1) status = statuses.linked_event_chain_open;
      else status = create(event, ts, inChain ? undo : null, i);
      results[i] = { timestamp: ts, status };
      if (inChain && status !== statuses.created && !chainFailed) {
        chainFailed = true;
        undo.rollback(this.accounts, this.transfers);
        for (let j = chainStart; j < i; j++)
          results[j] = { timestamp: results[j]!.timestamp, status: statuses.linked_event_failed };
      }
      if (inChain && !linked) chainStart = -1;
    }
    if (i === batch.length && timestamp + BigInt(batch.length) > this.reserved) {
      this.reserved = timestamp + BigInt(batch.length);
    }
    return i;
  }

  // ---- accounts ----

  private createAccount(a: Account, ts: bigint, undo: Undo): CreateAccountStatus {
    const S = CreateAccountStatus;
    if (a.timestamp !== 0n) return S.timestamp_must_be_zero;
    if (a.reserved !== 0) return S.reserved_field;
    if ((a.flags & ~ACCOUNT_FLAGS_KNOWN) !== 0) return S.reserved_flag;
    if (a.id === 0n) return S.id_must_not_be_zero;
    if (a.id === U128_MAX) return S.id_must_not_be_int_max;
    const existing = this.accounts.slotOf(a.id);
    if (existing >= 0) return accountExists(a, this.accounts.fields(existing));
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
    this.accounts.add({ ...a, flags: a.flags & ~AccountFlags.linked, timestamp: ts });
    // Undone in reverse order, so the account to remove is always the last one added.
    undo?.push(() => this.accounts.removeLast());
    return S.created;
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
    if (t.timestamp !== 0n) return S.timestamp_must_be_zero;
    if ((t.flags & ~TRANSFER_FLAGS_KNOWN) !== 0) return S.reserved_flag;
    if (t.id === 0n) return S.id_must_not_be_zero;
    if (t.id === U128_MAX) return S.id_must_not_be_int_max;
    if (this.transfers.has(t.id)) return transferExists(t, this.transfers.get(t.id)!);
    if (this.failedTransferIds.size > 0 && this.failedTransferIds.has(t.id)) return S.id_already_failed;
    const status = this.validateAndApply(t, ts, undo, encoded, index);
    if (status !== S.created && TRANSIENT.has(status)) {
      this.failedTransferIds.add(t.id);
      undo?.push(() => this.failedTransferIds.delete(t.id));
    }
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
    const postOrVoid = t.flags & (F.post_pending_transfer | F.void_pending_transfer);
    if (!atMostOneBit(t.flags & (F.pending | F.post_pending_transfer | F.void_pending_transfer))) {
      return S.flags_are_mutually_exclusive;
    }
    if ((t.flags & F.balancing_debit || t.flags & F.balancing_credit) && postOrVoid)
      return S.flags_are_mutually_exclusive;
    if (postOrVoid) return this.postOrVoid(t, ts, undo);
    if (t.debit_account_id === 0n) return S.debit_account_id_must_not_be_zero;
    if (t.debit_account_id === U128_MAX) return S.debit_account_id_must_not_be_int_max;
    if (t.credit_account_id === 0n) return S.credit_account_id_must_not_be_zero;
    if (t.credit_account_id === U128_MAX) return S.credit_account_id_must_not_be_int_max;
    if (t.debit_account_id === t.credit_account_id) return S.accounts_must_be_different;
    if (t.pending_id !== 0n) return S.pending_id_must_be_zero;
    if ((t.flags & F.pending) === 0 && t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
    if (t.ledger === 0) return S.ledger_must_not_be_zero;
    if (t.code === 0) return S.code_must_not_be_zero;
    const accounts = this.accounts;
    const dr = this.debitSlots[index]!;
    if (dr < 0) return S.debit_account_not_found;
    const cr = this.creditSlots[index]!;
    if (cr < 0) return S.credit_account_not_found;
    if (accounts.ledger(dr) !== accounts.ledger(cr)) return S.accounts_must_have_the_same_ledger;
    if (t.ledger !== accounts.ledger(dr)) return S.transfer_must_have_the_same_ledger_as_accounts;
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
    const pending = (t.flags & F.pending) !== 0;
    writeU128Slots(work, AMOUNT, amount);
    const overflow = this.overflowStatus(pending, dr, cr);
    if (overflow !== undefined) return overflow;
    if (pending && ts + BigInt(t.timeout) * NS_PER_SECOND > U64_MAX) return S.overflows_timeout;
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
    this.record(t, ts, amount, undo, encoded, index);
    this.increase(accounts.balanceAt(dr, pending ? DEBITS_PENDING : DEBITS_POSTED), undo);
    this.increase(accounts.balanceAt(cr, pending ? CREDITS_PENDING : CREDITS_POSTED), undo);
    if (pending) {
      this.pendingState.set(t.id, "pending");
      undo?.push(() => this.pendingState.delete(t.id));
      if (t.timeout > 0) {
        this.expiries.set(t.id, ts + BigInt(t.timeout) * NS_PER_SECOND);
        undo?.push(() => this.expiries.delete(t.id));
      }
    }
    return S.created;
  }

  /**
   * Whether adding `work[AMOUNT]` to the accounts overflows a u128 balance, in TigerBeetle's
   * order; when it does not, leaves the debit account's debits and the credit account's credits
   * (pending plus posted) with the amount in `work[DEBITS]` and `work[CREDITS]`.
   */
  private overflowStatus(pending: boolean, dr: number, cr: number): CreateTransferStatus | undefined {
    const S = CreateTransferStatus;
    const { accounts } = this;
    const limbs = accounts.limbs;
    const drMoved = accounts.balanceAt(dr, pending ? DEBITS_PENDING : DEBITS_POSTED);
    const crMoved = accounts.balanceAt(cr, pending ? CREDITS_PENDING : CREDITS_POSTED);
    copyU128Slots(work, DEBITS, limbs, drMoved);
    if (addU128Slots(work, DEBITS, work, AMOUNT))
      return pending ? S.overflows_debits_pending : S.overflows_debits_posted;
    copyU128Slots(work, CREDITS, limbs, crMoved);
    if (addU128Slots(work, CREDITS, work, AMOUNT))
      return pending ? S.overflows_credits_pending : S.overflows_credits_posted;
    const drOther = accounts.balanceAt(dr, pending ? DEBITS_POSTED : DEBITS_PENDING);
    if (addU128Slots(work, DEBITS, limbs, drOther)) return S.overflows_debits;
    const crOther = accounts.balanceAt(cr, pending ? CREDITS_POSTED : CREDITS_PENDING);
    if (addU128Slots(work, CREDITS, limbs, crOther)) return S.overflows_credits;
    return undefined;
  }

  private postOrVoid(t: Transfer, ts: bigint, undo: Undo): CreateTransferStatus {
    const S = CreateTransferStatus;
    const post = (t.flags & TransferFlags.post_pending_transfer) !== 0;
    if (t.pending_id === 0n) return S.pending_id_must_not_be_zero;
    if (t.pending_id === U128_MAX) return S.pending_id_must_not_be_int_max;
    if (t.pending_id === t.id) return S.pending_id_must_be_different;
    if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
    const p = this.transfers.get(t.pending_id);
    if (!p) return S.pending_transfer_not_found;
    if ((p.flags & TransferFlags.pending) === 0) return S.pending_transfer_not_pending;
    if (t.debit_account_id !== 0n && t.debit_account_id !== p.debit_account_id) {
      return S.pending_transfer_has_different_debit_account_id;
    }
    if (t.credit_account_id !== 0n && t.credit_account_id !== p.credit_account_id) {
      return S.pending_transfer_has_different_credit_account_id;
    }
    if (t.ledger !== 0 && t.ledger !== p.ledger) return S.pending_transfer_has_different_ledger;
    if (t.code !== 0 && t.code !== p.code) return S.pending_transfer_has_different_code;
    const amount = t.amount === amount_max ? p.amount : t.amount;
    if (post && amount > p.amount) return S.exceeds_pending_transfer_amount;
    if (!post && t.amount !== 0n && amount !== p.amount) return S.pending_transfer_has_different_amount;
    const state = this.pendingState.get(p.id);
    if (state === "posted") return S.pending_transfer_already_posted;
    if (state === "voided") return S.pending_transfer_already_voided;
    if (state === "expired") return S.pending_transfer_expired;
    const posted = post ? amount : 0n;
    const resolved = {
      ...t,
      debit_account_id: p.debit_account_id,
      credit_account_id: p.credit_account_id,
      ledger: p.ledger,
      code: p.code,
    };
    this.record(resolved, ts, posted, undo);
    this.release(p, undo);
    const { accounts } = this;
    writeU128Slots(work, AMOUNT, posted);
    this.increase(accounts.balanceAt(accounts.slotOf(p.debit_account_id), DEBITS_POSTED), undo);
    this.increase(accounts.balanceAt(accounts.slotOf(p.credit_account_id), CREDITS_POSTED), undo);
    this.pendingState.set(p.id, post ? "posted" : "voided");
    undo?.push(() => this.pendingState.set(p.id, "pending"));
    const expiry = this.expiries.get(p.id);
    if (expiry !== undefined) {
      this.expiries.delete(p.id);
      undo?.push(() => this.expiries.set(p.id, expiry));
    }
    return S.created;
  }

  /** Voids every pending transfer whose timeout has passed by `now`. */
  expire(now: bigint): void {
    for (const [id, at] of this.expiries) {
      if (at > now) continue;
      this.release(this.transfers.get(id)!, null);
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

  private record(
    t: Transfer,
    ts: bigint,
    amount: bigint,
    undo: Undo,
    encoded?: BigUint64Array,
    index = 0,
  ): void {
    this.transfers.append(t, amount, t.flags & ~TransferFlags.linked, ts, encoded, index);
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
}

function accountExists(a: Account, e: AccountFields): CreateAccountStatus {
  const S = CreateAccountStatus;
  if ((a.flags & ~AccountFlags.linked) !== e.flags) return S.exists_with_different_flags;
  if (a.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
  if (a.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
  if (a.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (a.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (a.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

function transferExists(t: Transfer, e: Transfer): CreateTransferStatus {
  const S = CreateTransferStatus;
  if ((t.flags & ~TransferFlags.linked) !== e.flags) return S.exists_with_different_flags;
  if (t.pending_id !== e.pending_id) return S.exists_with_different_pending_id;
  if (t.timeout !== e.timeout) return S.exists_with_different_timeout;
  const postOrVoid =
    (t.flags & (TransferFlags.post_pending_transfer | TransferFlags.void_pending_transfer)) !== 0;
  // Post/void may leave the accounts, ledger and code zero (taken from the pending transfer).
  if (!(postOrVoid && t.debit_account_id === 0n) && t.debit_account_id !== e.debit_account_id) {
    return S.exists_with_different_debit_account_id;
  }
  if (!(postOrVoid && t.credit_account_id === 0n) && t.credit_account_id !== e.credit_account_id) {
    return S.exists_with_different_credit_account_id;
  }
  const balancing = (t.flags & (TransferFlags.balancing_debit | TransferFlags.balancing_credit)) !== 0;
  if (!balancing && !postOrVoid && t.amount !== e.amount) return S.exists_with_different_amount;
  if (t.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
  if (t.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
  if (t.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (!(postOrVoid && t.ledger === 0) && t.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (!(postOrVoid && t.code === 0) && t.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

/** Runs a stepwise application to its end, without pausing. */
export function runToEnd<R>(steps: Iterator<void, R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

function atMostOneBit(bits: number): boolean {
  return (bits & (bits - 1)) === 0;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
