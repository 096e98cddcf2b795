import type { Account, Transfer } from "tigerbeetle-node";
import { recordCodec, recordLayout } from "../../domain/src/index.ts";

/**
 * TigerBeetle's 128-byte wire layouts for accounts and transfers (little-endian fields in
 * TigerBeetle's order), used by the embedded ledger's journal and transfer store.
 */
export const EVENT_SIZE = 128;

const ACCOUNT = recordLayout(EVENT_SIZE, [
  ["id", "u128"],
  ["debits_pending", "u128"],
  ["debits_posted", "u128"],
  ["credits_pending", "u128"],
  ["credits_posted", "u128"],
  ["user_data_128", "u128"],
  ["user_data_64", "u64"],
  ["user_data_32", "u32"],
  ["reserved", "u32"],
  ["ledger", "u32"],
  ["code", "u16"],
  ["flags", "u16"],
  ["timestamp", "u64"],
]);

const TRANSFER = recordLayout(EVENT_SIZE, [
  ["id", "u128"],
  ["debit_account_id", "u128"],
  ["credit_account_id", "u128"],
  ["amount", "u128"],
  ["pending_id", "u128"],
  ["user_data_128", "u128"],
  ["user_data_64", "u64"],
  ["user_data_32", "u32"],
  ["timeout", "u32"],
  ["ledger", "u32"],
  ["code", "u16"],
  ["flags", "u16"],
  ["timestamp", "u64"],
]);

/** Offsets of the transfer fields the ledger sets when it creates one. */
export const TRANSFER_AMOUNT = TRANSFER.at.amount;
export const TRANSFER_FLAGS = TRANSFER.at.flags;
export const TRANSFER_TIMESTAMP = TRANSFER.at.timestamp;

const accountCodec = recordCodec(ACCOUNT);
const transferCodec = recordCodec(TRANSFER);

export const encodeAccount: (a: Account, view: DataView, o: number) => void = accountCodec.write;
export const decodeAccount: (view: DataView, o: number) => Account = accountCodec.read;
export const encodeTransfer: (t: Transfer, view: DataView, o: number) => void = transferCodec.write;
export const decodeTransfer: (view: DataView, o: number) => Transfer = transferCodec.read;
