import type { Account, CreateAccountResult, CreateTransferResult, Transfer } from "tigerbeetle-node";
import { type ErrorCode, isBourseError } from "../../domain/src/index.ts";

/**
 * The ledger port: TigerBeetle's client interface, which both adapters implement exactly — the
 * TigerBeetle client itself (`TigerBeetleLedger`) and the embedded ledger with the same semantics
 * (`EmbeddedLedger`). One result per event, in order, with a status and a timestamp.
 */
export interface LedgerPort {
  createAccounts(batch: Account[]): Promise<CreateAccountResult[]>;
  createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]>;
  lookupAccounts(ids: bigint[]): Promise<Account[]>;
  lookupTransfers(ids: bigint[]): Promise<Transfer[]>;
  close(): Promise<void>;
}

export type { Account, CreateAccountResult, CreateTransferResult, Transfer };

/**
 * The most events (or ids looked up) in one request: TigerBeetle's 1 MiB message holds 8,189
 * records of 128 bytes beside its header, and a request of 8,190 is refused whole
 * (ERR_TOO_MUCH_DATA; measured against a 0.17.9 replica). The one limit every batch in Bourse is
 * cut to: the embedded ledger, settlement, reconcile, the transfer saga and the benchmarks.
 */
export const BATCH_MAX = 8189;

/**
 * Whether a failed ledger request can never pass as it is (a conflict, a request the ledger
 * refuses whole, a bug): stop and report it. Anything else (the ledger away or restarting) may
 * pass if sent again: retry with backoff; every write is idempotent by id.
 */
export function isPermanentLedgerError(e: unknown): boolean {
  return isBourseError(e) && PERMANENT.has(e.code);
}
const PERMANENT = new Set<ErrorCode>(["CONFLICT", "INVALID_ARGUMENT", "INTERNAL", "CORRUPT_JOURNAL"]);

export function account(fields: Partial<Account> & Pick<Account, "id" | "ledger" | "code">): Account {
  return {
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    reserved: 0,
    flags: 0,
    timestamp: 0n,
    ...fields,
  };
}

export function transfer(
  fields: Partial<Transfer> &
    Pick<Transfer, "id" | "debit_account_id" | "credit_account_id" | "amount" | "ledger" | "code">,
): Transfer {
  return {
    pending_id: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    timeout: 0,
    flags: 0,
    timestamp: 0n,
    ...fields,
  };
}
