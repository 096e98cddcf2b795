import { AccountFlags, TransferFlags } from "tigerbeetle-node";
import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { ACCOUNT_CODE, AccountKind, accountId, TransferKind, transferId } from "./ids.ts";
import { type Account, account, type Transfer, transfer } from "./port.ts";

/**
 * Bourse's chart of accounts in the ledger: the system accounts of each asset, the Funding and
 * Trading accounts of each user, the codes that say what a transfer is, and the legs of a
 * Funding <-> Trading transfer that the transfer saga and settlement both write. (The ids' bit
 * layout is in ids.ts; what each UBSCore command means in these accounts is settlement's.)
 */
export enum TransferCode {
  Deposit = 1,
  Withdrawal = 2,
  TradeBase = 3,
  TradeQuote = 4,
  TradeFee = 5,
  InternalTransfer = 6,
}

/** Funding -> Trading, step 1 (by the transfer saga): reserve in the ledger, which checks the funds. */
export function reserveInternalTransfer(
  seq: number,
  userId: number,
  assetId: number,
  amount: bigint,
): Transfer {
  return transfer({
    id: transferId(TransferKind.InternalTransfer, 0, seq, 0),
    debit_account_id: accountId(AccountKind.Funding, assetId, userId),
    credit_account_id: accountId(AccountKind.Trading, assetId, userId),
    amount,
    ledger: assetId,
    code: TransferCode.InternalTransfer,
    flags: TransferFlags.pending,
  });
}

/** Funding -> Trading, step 3 (by settlement, once UBSCore credited): post the reservation. */
export function postInternalTransfer(seq: number, amount: bigint): Transfer {
  return settlePending(seq, 1, amount, TransferFlags.post_pending_transfer);
}

/** Funding -> Trading, compensation (by the saga, when UBSCore refused the credit): void it. */
export function voidInternalTransfer(seq: number): Transfer {
  return settlePending(seq, 2, 0n, TransferFlags.void_pending_transfer);
}

function settlePending(seq: number, leg: number, amount: bigint, flags: number): Transfer {
  return transfer({
    id: transferId(TransferKind.InternalTransfer, 0, seq, leg),
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount,
    pending_id: transferId(TransferKind.InternalTransfer, 0, seq, 0),
    ledger: 0,
    code: 0,
    flags,
  });
}

const USER_ACCOUNT_FLAGS = AccountFlags.debits_must_not_exceed_credits;

export function systemAccounts(exchange: ExchangeDefinition): Account[] {
  return exchange.assets.flatMap((a) =>
    [
      AccountKind.Deposits,
      AccountKind.WithdrawalsInFlight,
      AccountKind.Fees,
      AccountKind.TransferTransit,
    ].map((kind) => account({ id: accountId(kind, a.id), ledger: a.id, code: ACCOUNT_CODE[kind] })),
  );
}

export function userAccounts(exchange: ExchangeDefinition, userId: number): Account[] {
  return exchange.assets.flatMap((a) =>
    [AccountKind.Funding, AccountKind.Trading].map((kind) =>
      account({
        id: accountId(kind, a.id, userId),
        ledger: a.id,
        code: ACCOUNT_CODE[kind],
        flags: USER_ACCOUNT_FLAGS,
      }),
    ),
  );
}
