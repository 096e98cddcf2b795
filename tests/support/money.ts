import type { EmbeddedExchange } from "../../components/exchange/src/index.ts";

/**
 * Money conservation, defined once for every suite that runs an exchange in its own process: per
 * asset (by id - 1), every user's trading balance (available + frozen) and Funding wallet (free +
 * locked) plus the fee account. Trading, transfers and withdrawals held or cancelled move money
 * between these and never change the sum; only deposits and completed withdrawals do. Each core's
 * own rules are checked too (UBSCore's money, the books, the ledger's double entry).
 */
export async function moneyTotals(exchange: EmbeddedExchange): Promise<bigint[]> {
  const core = exchange.service.core;
  core.checkInvariants();
  const sums = [...core.fees];
  for (const userId of core.userIds()) {
    core.balancesOf(userId).forEach((b, i) => {
      sums[i]! += b.available + b.frozen;
    });
    (await exchange.funding.balances(userId)).forEach((f, i) => {
      sums[i]! += f.free + f.locked;
    });
  }
  return sums;
}
