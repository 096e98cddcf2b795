import {
  type Account,
  AccountFlags,
  type CreateAccountResult,
  CreateAccountStatus,
  type CreateTransferResult,
  CreateTransferStatus,
  type Transfer,
  TransferFlags,
} from "tigerbeetle-node";
import { invariant } from "../../domain/src/index.ts";
import {
  AccountTable,
  CREDITS_PENDING,
  CREDITS_POSTED,
  DEBITS_PENDING,
  DEBITS_POSTED,
} from "./account-table.ts";
import {
  addAmount,
  balancedAmount,
  limitStatus,
  overflowStatus,
  setAmount,
  subtractAmount,
} from "./balance-checks.ts";
import {
  accountExistsStatus,
  accountHeaderStatus,
  againstPendingStatus,
  type ChainStatuses,
  NS_PER_SECOND,
  newAccountStatus,
  newTransferStatus,
  type PendingState,
  postOrVoidExists,
  postOrVoidStatus,
  resolvedPostOrVoid,
  settledAmount,
  TIMESTAMP_MAX,
  TRANSIENT,
  timestampStatus,
  transferExists,
  transferHeaderStatus,
} from "./ledger-rules.ts";
import { TransferStore } from "./transfer-store.ts";
import { type Undo, UndoLog } from "./undo-log.ts";

/** What runChains keeps for a batch while it applies it. */
interface ChainRun<E, S> {
  readonly create: (event: E, ts: bigint, undo: Undo, index: number) => S;
  readonly statuses: ChainStatuses<S>;
  readonly importedFlag: number;
  readonly imported: boolean;
  readonly last: number;
  readonly batchTimestamp: bigint;
}

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
    const chain = { start: -1, failed: false };
    const run: ChainRun<E, S> = {
      create,
      statuses,
      importedFlag,
      // The first event decides whether the batch is imported (with timestamps of its own).
      imported: batch.length > 0 && (batch[0]!.flags & importedFlag) !== 0,
      last: batch.length - 1,
      batchTimestamp: timestamp + BigInt(batch.length - 1),
    };
    let ts = timestamp + BigInt(from) - 1n;
    let i = from;
    for (; i < batch.length && (i < until || chain.start >= 0); i++) {
      const event = batch[i]!;
      ts += 1n;
      const linked = (event.flags & 1) !== 0;
      if (chain.start < 0 && linked) this.openChain(chain, i);
      this.actual = ts;
      const status = this.eventStatus(run, event, i, ts, chain);
      results[i] = { timestamp: this.actual, status };
      if (chain.start >= 0)
        this.afterChainEvent(chain, i, linked && i !== run.last, status, results, statuses);
    }
    if (i === batch.length && timestamp + BigInt(batch.length) > this.reserved) {
      this.reserved = timestamp + BigInt(batch.length);
    }
    return i;
  }

  /** The status of event `i`: the chain's, its timestamp's, or what applying it gives. */
  private eventStatus<E extends { flags: number; timestamp: bigint }, S extends number>(
    run: ChainRun<E, S>,
    event: E,
    i: number,
    ts: bigint,
    chain: { start: number; failed: boolean },
  ): S {
    const { statuses } = run;
    if ((event.flags & 1) !== 0 && i === run.last) return statuses.linked_event_chain_open;
    if (chain.failed) return statuses.linked_event_failed;
    const own = (event.flags & run.importedFlag) !== 0;
    const undo = chain.start >= 0 ? this.undo : null;
    return (
      timestampStatus(event, run.imported, own, run.batchTimestamp, statuses) ??
      run.create(event, ts, undo, i)
    );
  }

  /** After event `at` of an open chain: a failure undoes the chain; an unlinked event closes it. */
  private afterChainEvent<S>(
    chain: { start: number; failed: boolean },
    at: number,
    continues: boolean,
    status: S,
    results: { timestamp: bigint; status: S }[],
    statuses: ChainStatuses<S>,
  ): void {
    if (status !== statuses.created && !chain.failed) this.failChain(chain, at, results, statuses);
    if (!continues) {
      chain.start = -1;
      chain.failed = false;
    }
  }

  private openChain(chain: { start: number; failed: boolean }, at: number): void {
    chain.start = at;
    chain.failed = false;
    this.undo.clear();
  }

  /** Event `at` of the open chain failed: undoes the chain, and its earlier events fail too. */
  private failChain<S>(
    chain: { start: number; failed: boolean },
    at: number,
    results: { timestamp: bigint; status: S }[],
    statuses: ChainStatuses<S>,
  ): void {
    chain.failed = true;
    this.undo.rollback(this.accounts, this.transfers);
    for (let j = chain.start; j < at; j++)
      results[j] = { timestamp: results[j]!.timestamp, status: statuses.linked_event_failed };
  }

  // ---- accounts ----

  private createAccount(a: Account, ts: bigint, undo: Undo): CreateAccountStatus {
    const S = CreateAccountStatus;
    const invalid = accountHeaderStatus(a);
    if (invalid !== undefined) return invalid;
    const existing = this.accounts.slotOf(a.id);
    if (existing >= 0) {
      const e = this.accounts.fields(existing);
      const status = accountExistsStatus(a, e);
      if (status === S.exists) this.actual = e.timestamp;
      return status;
    }
    const refused = newAccountStatus(a);
    if (refused !== undefined) return refused;
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
    const invalid = transferHeaderStatus(t);
    if (invalid !== undefined) return invalid;
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
    const refused = newTransferStatus(t);
    if (refused !== undefined) return refused;
    const accounts = this.accounts;
    const dr = this.debitSlots[index]!;
    const cr = this.creditSlots[index]!;
    const unfit = this.accountsStatus(t, dr, cr);
    if (unfit !== undefined) return unfit;
    let actual = ts;
    if (t.flags & TransferFlags.imported) {
      const status = this.importedTransferStatus(t, dr, cr);
      if (status !== undefined) return status;
      actual = t.timestamp;
    }
    if (accounts.flags(dr) & AccountFlags.closed) return S.debit_account_already_closed;
    if (accounts.flags(cr) & AccountFlags.closed) return S.credit_account_already_closed;
    const amount = balancedAmount(accounts, t, dr, cr);
    setAmount(amount);
    const pending = (t.flags & TransferFlags.pending) !== 0;
    const overflow = overflowStatus(accounts, pending, dr, cr);
    if (overflow !== undefined) return overflow;
    if (t.timeout > 0 && actual + BigInt(t.timeout) * NS_PER_SECOND > TIMESTAMP_MAX)
      return S.overflows_timeout;
    const limit = limitStatus(accounts, dr, cr);
    if (limit !== undefined) return limit;
    this.record(t, actual, amount, undo, encoded, index);
    this.increase(accounts.balanceAt(dr, pending ? DEBITS_PENDING : DEBITS_POSTED), undo);
    this.increase(accounts.balanceAt(cr, pending ? CREDITS_PENDING : CREDITS_POSTED), undo);
    if (pending) this.openPending(t, actual, dr, cr, undo);
    this.actual = actual;
    return S.created;
  }

  /** Whether the transfer's accounts (slots `dr`, `cr`; -1: not found) exist, in its ledger. */
  private accountsStatus(t: Transfer, dr: number, cr: number): CreateTransferStatus | undefined {
    const S = CreateTransferStatus;
    if (dr < 0) return S.debit_account_not_found;
    if (cr < 0) return S.credit_account_not_found;
    const ledger = this.accounts.ledger(dr);
    if (ledger !== this.accounts.ledger(cr)) return S.accounts_must_have_the_same_ledger;
    if (t.ledger !== ledger) return S.transfer_must_have_the_same_ledger_as_accounts;
    return undefined;
  }

  /** Notes a created pending transfer: its state, its expiry, the accounts it closes. */
  private openPending(t: Transfer, actual: bigint, dr: number, cr: number, undo: Undo): void {
    this.pendingState.set(t.id, "pending");
    undo?.push(() => this.pendingState.delete(t.id));
    if (t.timeout > 0) {
      this.expiries.set(t.id, actual + BigInt(t.timeout) * NS_PER_SECOND);
      undo?.push(() => this.expiries.delete(t.id));
    }
    if (t.flags & TransferFlags.closing_debit) this.setClosed(dr, true, undo);
    if (t.flags & TransferFlags.closing_credit) this.setClosed(cr, true, undo);
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

  private postOrVoid(t: Transfer, ts: bigint, undo: Undo): CreateTransferStatus {
    const S = CreateTransferStatus;
    const refused = postOrVoidStatus(t);
    if (refused !== undefined) return refused;
    const p = this.transfers.get(t.pending_id);
    if (!p) return S.pending_transfer_not_found;
    const unsettled = againstPendingStatus(t, p, this.pendingState.get(p.id), ts);
    if (unsettled !== undefined) return unsettled;
    let actual = ts;
    if (t.flags & TransferFlags.imported) {
      if (t.timestamp <= this.transfers.newestTimestamp || this.accounts.hasTimestamp(t.timestamp)) {
        return S.imported_event_timestamp_must_not_regress;
      }
      actual = t.timestamp;
    }
    const { accounts } = this;
    const dr = accounts.slotOf(p.debit_account_id);
    const cr = accounts.slotOf(p.credit_account_id);
    const post = (t.flags & TransferFlags.post_pending_transfer) !== 0;
    // The only movement a closed account allows is voiding a pending transfer.
    if (post && accounts.flags(dr) & AccountFlags.closed) return S.debit_account_already_closed;
    if (post && accounts.flags(cr) & AccountFlags.closed) return S.credit_account_already_closed;
    const amount = settledAmount(t, p);
    this.record(resolvedPostOrVoid(t, p), actual, amount, undo);
    this.release(p, undo);
    if (post) {
      setAmount(amount);
      this.increase(accounts.balanceAt(dr, DEBITS_POSTED), undo);
      this.increase(accounts.balanceAt(cr, CREDITS_POSTED), undo);
    } else {
      this.reopen(p, undo);
    }
    this.closePending(p, post ? "posted" : "voided", undo);
    this.actual = actual;
    return S.created;
  }

  /** Notes that pending transfer `p` was posted or voided: it no longer expires. */
  private closePending(p: Transfer, state: PendingState, undo: Undo): void {
    this.pendingState.set(p.id, state);
    undo?.push(() => this.pendingState.set(p.id, "pending"));
    const expiry = this.expiries.get(p.id);
    if (expiry !== undefined) {
      this.expiries.delete(p.id);
      undo?.push(() => this.expiries.set(p.id, expiry));
    }
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
    setAmount(p.amount);
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

  /** Adds the amount set to the balance at `limbs[at]` (overflow was checked before). */
  private increase(at: number, undo: Undo): void {
    undo?.balance(this.accounts.limbs, at);
    addAmount(this.accounts.limbs, at);
  }

  /** Subtracts the amount set from the balance at `limbs[at]` (what was added before). */
  private decrease(at: number, undo: Undo): void {
    undo?.balance(this.accounts.limbs, at);
    subtractAmount(this.accounts.limbs, at);
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

/** Runs a stepwise application to its end, without pausing. */
export function runToEnd<R>(steps: Iterator<void, R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
