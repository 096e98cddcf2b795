import type { AccountTable } from "./account-table.ts";
import { startingWith } from "./account-table.ts";
import type { TransferStore } from "./transfer-store.ts";
import { copyU128Slots } from "./u128-slots.ts";

/**
 * Undo log of one linked chain: restores every account and transfer it touched if the chain fails.
 * The frequent entries (balances before they changed, created transfers) are kept in arrays, not
 * closures: settlement writes every trade as a chain, so this is the hot path. Entries are undone
 * newest first, so each balance ends as it was before the chain.
 * Events outside a chain pass null (nothing to undo: a failed event changes nothing).
 */
export class UndoLog {
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
export type Undo = UndoLog | null;
