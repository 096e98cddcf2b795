import type { Account, CreateAccountResult, CreateTransferResult, Transfer } from "tigerbeetle-node";

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

/** TigerBeetle's largest batch (events per request) with its default message size. */
export const BATCH_MAX = 8190;

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
