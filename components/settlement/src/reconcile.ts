import { formatUnits } from "../../domain/src/index.ts";
import { AccountKind, accountId, BATCH_MAX, type LedgerPort } from "../../ledger/src/index.ts";
import type { UbsCore } from "../../ubscore/src/index.ts";

/**
 * Compares UBSCore's balances with the ledger, account by account, to the unit: every user's
 * available + frozen per asset against their Trading account (credits_posted - debits_posted; a
 * held withdrawal is a pending debit, still the user's on both sides), and the fee account per
 * asset against the ledger's Fees account. Meaningful at a settled watermark: run it while UBSCore
 * is paused and settlement has caught up.
 */
export interface Difference {
  readonly account: "trading" | "fees";
  readonly userId?: number;
  readonly asset: string;
  readonly ubscore: string;
  readonly ledger: string;
}

export interface Reconciliation {
  readonly lsn: number;
  readonly accountsChecked: number;
  readonly differences: Difference[];
}

export async function reconcile(core: UbsCore, ledger: LedgerPort, lsn: number): Promise<Reconciliation> {
  const expected: {
    id: bigint;
    account: Difference["account"];
    userId?: number;
    asset: number;
    amount: bigint;
  }[] = [];
  for (const userId of core.userIds()) {
    core.balancesOf(userId).forEach((b, i) => {
      expected.push({
        id: accountId(AccountKind.Trading, i + 1, userId),
        account: "trading",
        userId,
        asset: i + 1,
        amount: b.available + b.frozen,
      });
    });
  }
  core.fees.forEach((amount, i) => {
    expected.push({ id: accountId(AccountKind.Fees, i + 1), account: "fees", asset: i + 1, amount });
  });
  const balances = new Map<bigint, bigint>();
  for (let i = 0; i < expected.length; i += BATCH_MAX) {
    for (const a of await ledger.lookupAccounts(expected.slice(i, i + BATCH_MAX).map((e) => e.id))) {
      balances.set(a.id, a.credits_posted - a.debits_posted);
    }
  }
  const differences: Difference[] = [];
  for (const e of expected) {
    const inLedger = balances.get(e.id) ?? 0n;
    if (inLedger === e.amount) continue;
    const asset = core.exchange.assetById(e.asset)!;
    differences.push({
      account: e.account,
      ...(e.userId === undefined ? {} : { userId: e.userId }),
      asset: asset.symbol,
      ubscore: formatUnits(e.amount, asset.decimals),
      ledger: formatUnits(inLedger, asset.decimals),
    });
  }
  return { lsn, accountsChecked: expected.length, differences };
}
