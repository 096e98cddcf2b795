import type { Account } from "tigerbeetle-node";
import { U128Index } from "./u128-index.ts";

/**
 * The ledger's accounts by u128 id: a typed-array index to a slot in an array of records. Two
 * lookups per transfer made the bigint-keyed Map (which hashes each key's digits through the
 * runtime) the largest single cost of the transfer path.
 */
export class AccountTable {
  private readonly index = new U128Index(1024);
  private readonly records: Account[] = [];

  get size(): number {
    return this.records.length;
  }

  get(id: bigint): Account | undefined {
    const slot = this.index.get(id);
    return slot < 0 ? undefined : this.records[slot];
  }

  /** Adds an account whose id is not present. */
  add(account: Account): void {
    this.index.insert(account.id, this.records.length);
    this.records.push(account);
  }

  /** Removes the most recently added account (a failed linked chain's). */
  removeLast(): void {
    const last = this.records.pop();
    if (last) this.index.delete(last.id);
  }
}
