import type { Account } from "tigerbeetle-node";
import { U128Index } from "./u128-index.ts";
import { readU128Slots } from "./u128-slots.ts";

/**
 * The ledger's accounts by u128 id: a typed-array index to a slot. What never changes after
 * creation is kept as an object per slot; what every transfer reads or changes is in typed arrays
 * by slot: the four balances as u128 limbs in one BigUint64Array (see u128-slots.ts), so updating
 * them allocates nothing, and the ledger and flags, so checking them does not load the object
 * (a cache miss per account, the largest cost once the balances were limbs).
 * Two lookups per transfer made a bigint-keyed Map (which hashes each key's digits through the
 * runtime) the largest single cost of the transfer path, hence the index.
 */
type BalanceField = "debits_pending" | "debits_posted" | "credits_pending" | "credits_posted";
export type AccountFields = Omit<Account, BalanceField>;

/** Where each balance sits among an account's limbs (two u64 limbs a balance). */
export const DEBITS_PENDING = 0;
export const DEBITS_POSTED = 2;
export const CREDITS_PENDING = 4;
export const CREDITS_POSTED = 6;
const LIMBS_PER_ACCOUNT = 8;

export class AccountTable {
  private readonly index = new U128Index(1024);
  private readonly records: AccountFields[] = [];
  /** `limbs[balanceAt(slot, field)]`: the account's balance, as u128 limbs. */
  limbs = new BigUint64Array(1024 * LIMBS_PER_ACCOUNT);
  private ledgers = new Uint32Array(1024);
  private flagsBySlot = new Uint16Array(1024);

  get size(): number {
    return this.records.length;
  }

  /** The account's slot, or -1. */
  slotOf(id: bigint): number {
    return this.index.get(id);
  }

  fields(slot: number): AccountFields {
    return this.records[slot]!;
  }

  ledger(slot: number): number {
    return this.ledgers[slot]!;
  }

  flags(slot: number): number {
    return this.flagsBySlot[slot]!;
  }

  /** Changes the account's flags (closing and reopening it is all TigerBeetle allows). */
  setFlags(slot: number, flags: number): void {
    this.flagsBySlot[slot] = flags;
    this.records[slot] = { ...this.records[slot]!, flags };
  }

  /** The newest account's timestamp (accounts are added in timestamp order), or 0. */
  get newestTimestamp(): bigint {
    return this.records.at(-1)?.timestamp ?? 0n;
  }

  /** Is there an account created at `timestamp`? (a binary search: slots are in timestamp order) */
  hasTimestamp(timestamp: bigint): boolean {
    return hasInOrder(this.records.length, (slot) => this.records[slot]!.timestamp, timestamp);
  }

  /** Index in `limbs` of a balance (DEBITS_PENDING …) of the account in `slot`. */
  balanceAt(slot: number, field: number): number {
    return slot * LIMBS_PER_ACCOUNT + field;
  }

  balance(slot: number, field: number): bigint {
    return readU128Slots(this.limbs, this.balanceAt(slot, field));
  }

  /** The account as TigerBeetle returns it, with its current balances. */
  get(id: bigint): Account | undefined {
    const slot = this.index.get(id);
    if (slot < 0) return undefined;
    return {
      ...this.records[slot]!,
      debits_pending: this.balance(slot, DEBITS_PENDING),
      debits_posted: this.balance(slot, DEBITS_POSTED),
      credits_pending: this.balance(slot, CREDITS_PENDING),
      credits_posted: this.balance(slot, CREDITS_POSTED),
    };
  }

  /** Adds an account whose id is not present, with zero balances (as TigerBeetle requires). */
  add(account: Account): void {
    const { debits_pending, debits_posted, credits_pending, credits_posted, ...fields } = account;
    const slot = this.records.length;
    if (slot === this.ledgers.length) this.grow();
    this.limbs.fill(0n, slot * LIMBS_PER_ACCOUNT, (slot + 1) * LIMBS_PER_ACCOUNT);
    this.ledgers[slot] = account.ledger;
    this.flagsBySlot[slot] = account.flags;
    this.index.insert(account.id, slot);
    this.records.push(fields);
  }

  /** Removes the most recently added account (a failed linked chain's). */
  removeLast(): void {
    const last = this.records.pop();
    if (last) this.index.delete(last.id);
  }

  /** Doubles the arrays by slot (accounts are far fewer than transfers: the copy is rare). */
  private grow(): void {
    this.limbs = startingWith(new BigUint64Array(this.limbs.length * 2), this.limbs);
    this.ledgers = startingWith(new Uint32Array(this.ledgers.length * 2), this.ledgers);
    this.flagsBySlot = startingWith(new Uint16Array(this.flagsBySlot.length * 2), this.flagsBySlot);
  }
}

/** Whether `at(0..count-1)`, ascending, holds `value`. */
export function hasInOrder(count: number, at: (i: number) => bigint, value: bigint): boolean {
  let lo = 0;
  let hi = count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = at(mid);
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** `to` (a typed array at least as long as `from`), its start overwritten with `from`. */
export function startingWith<A extends { set(from: A): void }>(to: A, from: A): A {
  to.set(from);
  return to;
}
