import { AccountFlags, CreateTransferStatus, type Transfer, TransferFlags } from "tigerbeetle-node";
import {
  type AccountTable,
  CREDITS_PENDING,
  CREDITS_POSTED,
  DEBITS_PENDING,
  DEBITS_POSTED,
} from "./account-table.ts";
import {
  addU128Slots,
  compareU128Slots,
  copyU128Slots,
  subtractU128Slots,
  writeU128Slots,
} from "./u128-slots.ts";

/**
 * The ledger's balance arithmetic on u128 limbs, allocating nothing: a transfer's amount is set
 * once into a scratch register, checked against the accounts' balances (overflow, limits), then
 * added to or taken from them. Scratch registers: the amount, then what the debit and credit
 * accounts' totals would become with it.
 */
const work = new BigUint64Array(6);
const AMOUNT = 0;
const DEBITS = 2;
const CREDITS = 4;

/** Sets the amount the next checks and moves use. */
export function setAmount(amount: bigint): void {
  writeU128Slots(work, AMOUNT, amount);
}

/** Adds the amount set to the balance at `limbs[at]` (overflow was checked before). */
export function addAmount(limbs: BigUint64Array, at: number): void {
  addU128Slots(limbs, at, work, AMOUNT);
}

/** Subtracts the amount set from the balance at `limbs[at]` (what was added before). */
export function subtractAmount(limbs: BigUint64Array, at: number): void {
  subtractU128Slots(limbs, at, work, AMOUNT);
}

/** The amount a transfer moves: a balancing one's is clamped to what its account's limit allows. */
export function balancedAmount(accounts: AccountTable, t: Transfer, dr: number, cr: number): bigint {
  let amount = t.amount;
  if (t.flags & TransferFlags.balancing_debit) {
    const room =
      accounts.balance(dr, CREDITS_POSTED) -
      accounts.balance(dr, DEBITS_POSTED) -
      accounts.balance(dr, DEBITS_PENDING);
    amount = min(amount, room > 0n ? room : 0n);
  }
  if (t.flags & TransferFlags.balancing_credit) {
    const room =
      accounts.balance(cr, DEBITS_POSTED) -
      accounts.balance(cr, CREDITS_POSTED) -
      accounts.balance(cr, CREDITS_PENDING);
    amount = min(amount, room > 0n ? room : 0n);
  }
  return amount;
}

/** Whether the totals overflowStatus left in `work` break an account's balance limit. */
export function limitStatus(
  accounts: AccountTable,
  dr: number,
  cr: number,
): CreateTransferStatus | undefined {
  const limbs = accounts.limbs;
  if (
    accounts.flags(dr) & AccountFlags.debits_must_not_exceed_credits &&
    compareU128Slots(work, DEBITS, limbs, accounts.balanceAt(dr, CREDITS_POSTED)) > 0
  ) {
    return CreateTransferStatus.exceeds_credits;
  }
  if (
    accounts.flags(cr) & AccountFlags.credits_must_not_exceed_debits &&
    compareU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, DEBITS_POSTED)) > 0
  ) {
    return CreateTransferStatus.exceeds_debits;
  }
  return undefined;
}

/**
 * Whether adding `work[AMOUNT]` to the accounts overflows a u128 balance, in TigerBeetle's
 * order (pending, then posted, then their sum); when it does not, leaves the debit account's
 * debits and the credit account's credits (pending plus posted) with the amount in
 * `work[DEBITS]` and `work[CREDITS]`.
 */
export function overflowStatus(
  accounts: AccountTable,
  pending: boolean,
  dr: number,
  cr: number,
): CreateTransferStatus | undefined {
  const S = CreateTransferStatus;
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
  if (addU128Slots(work, CREDITS, limbs, accounts.balanceAt(cr, CREDITS_PENDING))) return S.overflows_credits;
  return undefined;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
