import {
  type Account,
  AccountFlags,
  amount_max,
  CreateAccountStatus,
  CreateTransferStatus,
  type Transfer,
  TransferFlags,
} from "tigerbeetle-node";
import type { AccountFields } from "./account-table.ts";

/**
 * TigerBeetle 0.17's checks that look at an event alone, or at it and the stored object it names,
 * in TigerBeetle's order: pure functions that return the first failing status (undefined when the
 * event passes). LedgerState (ledger-state.ts) calls them between its own checks of balances.
 */
export const U128_MAX = (1n << 128n) - 1n;
/** TigerBeetle's timestamps are u63: the top bit of its u64 is a tombstone. */
export const TIMESTAMP_MAX = (1n << 63n) - 1n;
export const NS_PER_SECOND = 1_000_000_000n;
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

/**
 * Transient failures (TigerBeetle's own list): the id is burned, so it can never succeed later,
 * even once the account or the funds are there.
 */
export const TRANSIENT = new Set<CreateTransferStatus>([
  CreateTransferStatus.debit_account_not_found,
  CreateTransferStatus.credit_account_not_found,
  CreateTransferStatus.pending_transfer_not_found,
  CreateTransferStatus.exceeds_credits,
  CreateTransferStatus.exceeds_debits,
  CreateTransferStatus.debit_account_already_closed,
  CreateTransferStatus.credit_account_already_closed,
]);

/** The statuses runChains reports itself, shared by both kinds of event. */
export type ChainStatuses<S> = Record<
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

export type PendingState = "pending" | "posted" | "voided" | "expired";

/** An account's reserved fields, flags and id, checked before it is looked up. */
export function accountHeaderStatus(a: Account): CreateAccountStatus | undefined {
  const S = CreateAccountStatus;
  if (a.reserved !== 0) return S.reserved_field;
  if ((a.flags & ~ACCOUNT_FLAGS_KNOWN) !== 0) return S.reserved_flag;
  if (a.id === 0n) return S.id_must_not_be_zero;
  if (a.id === U128_MAX) return S.id_must_not_be_int_max;
  return undefined;
}

/** A new account's fields: one balance limit at most, zero balances, a ledger and a code. */
export function newAccountStatus(a: Account): CreateAccountStatus | undefined {
  const S = CreateAccountStatus;
  const limits = AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits;
  if ((a.flags & limits) === limits) return S.flags_are_mutually_exclusive;
  if (a.debits_pending !== 0n) return S.debits_pending_must_be_zero;
  if (a.debits_posted !== 0n) return S.debits_posted_must_be_zero;
  if (a.credits_pending !== 0n) return S.credits_pending_must_be_zero;
  if (a.credits_posted !== 0n) return S.credits_posted_must_be_zero;
  if (a.ledger === 0) return S.ledger_must_not_be_zero;
  if (a.code === 0) return S.code_must_not_be_zero;
  return undefined;
}

/** An account sent again: `exists`, or the first field that differs from the stored one. */
export function accountExistsStatus(a: Account, e: AccountFields): CreateAccountStatus {
  const S = CreateAccountStatus;
  if (a.flags !== e.flags) return S.exists_with_different_flags;
  if (a.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
  if (a.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
  if (a.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (a.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (a.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

/** A transfer's flags and id, checked before it is looked up. */
export function transferHeaderStatus(t: Transfer): CreateTransferStatus | undefined {
  const S = CreateTransferStatus;
  if ((t.flags & ~TRANSFER_FLAGS_KNOWN) !== 0) return S.reserved_flag;
  if (t.id === 0n) return S.id_must_not_be_zero;
  if (t.id === U128_MAX) return S.id_must_not_be_int_max;
  return undefined;
}

/** A new transfer's own fields (not a post or void), before its accounts are looked at. */
export function newTransferStatus(t: Transfer): CreateTransferStatus | undefined {
  const S = CreateTransferStatus;
  const F = TransferFlags;
  if (t.debit_account_id === 0n) return S.debit_account_id_must_not_be_zero;
  if (t.debit_account_id === U128_MAX) return S.debit_account_id_must_not_be_int_max;
  if (t.credit_account_id === 0n) return S.credit_account_id_must_not_be_zero;
  if (t.credit_account_id === U128_MAX) return S.credit_account_id_must_not_be_int_max;
  if (t.debit_account_id === t.credit_account_id) return S.accounts_must_be_different;
  if (t.pending_id !== 0n) return S.pending_id_must_be_zero;
  if ((t.flags & F.pending) === 0) {
    if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
    if (t.flags & (F.closing_debit | F.closing_credit)) return S.closing_transfer_must_be_pending;
  }
  if (t.ledger === 0) return S.ledger_must_not_be_zero;
  if (t.code === 0) return S.code_must_not_be_zero;
  return undefined;
}

/** A post's or void's own fields, before the pending transfer is looked up. */
export function postOrVoidStatus(t: Transfer): CreateTransferStatus | undefined {
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
  return undefined;
}

/**
 * A post or void against the pending transfer `p` it names, in state `state`, at time `ts`: the
 * fields it gives must be `p`'s, its amount within `p`'s, and `p` still pending.
 */
export function againstPendingStatus(
  t: Transfer,
  p: Transfer,
  state: PendingState | undefined,
  ts: bigint,
): CreateTransferStatus | undefined {
  const S = CreateTransferStatus;
  if ((p.flags & TransferFlags.pending) === 0) return S.pending_transfer_not_pending;
  const differs = differsFromPending(t, p);
  if (differs !== undefined) return differs;
  const amount = settledAmount(t, p);
  if (amount > p.amount) return S.exceeds_pending_transfer_amount;
  if ((t.flags & TransferFlags.void_pending_transfer) !== 0 && amount < p.amount)
    return S.pending_transfer_has_different_amount;
  if (state === "posted") return S.pending_transfer_already_posted;
  if (state === "voided") return S.pending_transfer_already_voided;
  if (state === "expired") return S.pending_transfer_expired;
  if (p.timeout > 0 && p.timestamp + BigInt(p.timeout) * NS_PER_SECOND <= ts)
    return S.pending_transfer_expired;
  return undefined;
}

/** The accounts, ledger and code a post or void gives (zero: the pending transfer's). */
function differsFromPending(t: Transfer, p: Transfer): CreateTransferStatus | undefined {
  const S = CreateTransferStatus;
  if (t.debit_account_id !== 0n && t.debit_account_id !== p.debit_account_id) {
    return S.pending_transfer_has_different_debit_account_id;
  }
  if (t.credit_account_id !== 0n && t.credit_account_id !== p.credit_account_id) {
    return S.pending_transfer_has_different_credit_account_id;
  }
  if (t.ledger !== 0 && t.ledger !== p.ledger) return S.pending_transfer_has_different_ledger;
  if (t.code !== 0 && t.code !== p.code) return S.pending_transfer_has_different_code;
  return undefined;
}

/** A post or void as stored: what it left zero is inherited from the pending transfer. */
export function resolvedPostOrVoid(t: Transfer, p: Transfer): Transfer {
  return {
    ...t,
    debit_account_id: p.debit_account_id,
    credit_account_id: p.credit_account_id,
    user_data_128: t.user_data_128 || p.user_data_128,
    user_data_64: t.user_data_64 || p.user_data_64,
    user_data_32: t.user_data_32 || p.user_data_32,
    ledger: p.ledger,
    code: p.code,
  };
}

/** Fields of a transfer that is neither a post nor a void against the one stored with its id. */
export function transferExists(t: Transfer, e: Transfer): CreateTransferStatus {
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
export function postOrVoidExists(t: Transfer, e: Transfer, p: Transfer): CreateTransferStatus {
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
export function settledAmount(t: Transfer, p: Transfer): bigint {
  if (t.flags & TransferFlags.void_pending_transfer) return t.amount === 0n ? p.amount : t.amount;
  return t.amount === amount_max ? p.amount : t.amount;
}

/**
 * What an event's own timestamp says before it is applied: an imported batch is all imported,
 * with timestamps in TigerBeetle's range and before the batch's; any other has timestamp zero.
 */
export function timestampStatus<S>(
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
