import type { Account, Transfer } from "tigerbeetle-node";
import { readU128 } from "../../domain/src/u128.ts";

/**
 * TigerBeetle's 128-byte wire layouts for accounts and transfers (little-endian u128/u64/u32/u16
 * fields in TigerBeetle's order), used by the embedded ledger's journal and transfer store.
 */
export const EVENT_SIZE = 128;

/**
 * Node 20's V8 does not inline DataView.setBigUint64, which costs several times what two
 * setUint32 do, and the ledger writes a dozen such fields a transfer. So a u64 goes through a
 * scratch BigUint64Array (a typed-array store: no allocation, reduced modulo 2^64) and out as its
 * two u32 words, picked in the host's byte order.
 */
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const U64_LIMIT = 1n << 64n;

/** Writes the low 64 bits of `v`, little-endian. */
export function setU64(view: DataView, o: number, v: bigint): void {
  scratch64[0] = v;
  view.setUint32(o, scratch32[LOW_WORD]!, true);
  view.setUint32(o + 4, scratch32[1 - LOW_WORD]!, true);
}

export function setU128(view: DataView, o: number, v: bigint): void {
  setU64(view, o, v);
  setU64(view, o + 8, v < U64_LIMIT ? 0n : v >> 64n);
}

export function encodeAccount(a: Account, view: DataView, o: number): void {
  setU128(view, o, a.id);
  setU128(view, o + 16, a.debits_pending);
  setU128(view, o + 32, a.debits_posted);
  setU128(view, o + 48, a.credits_pending);
  setU128(view, o + 64, a.credits_posted);
  setU128(view, o + 80, a.user_data_128);
  setU64(view, o + 96, a.user_data_64);
  view.setUint32(o + 104, a.user_data_32, true);
  view.setUint32(o + 108, a.reserved, true);
  view.setUint32(o + 112, a.ledger, true);
  view.setUint16(o + 116, a.code, true);
  view.setUint16(o + 118, a.flags, true);
  setU64(view, o + 120, a.timestamp);
}

export function decodeAccount(view: DataView, o: number): Account {
  return {
    id: readU128(view, o),
    debits_pending: readU128(view, o + 16),
    debits_posted: readU128(view, o + 32),
    credits_pending: readU128(view, o + 48),
    credits_posted: readU128(view, o + 64),
    user_data_128: readU128(view, o + 80),
    user_data_64: view.getBigUint64(o + 96, true),
    user_data_32: view.getUint32(o + 104, true),
    reserved: view.getUint32(o + 108, true),
    ledger: view.getUint32(o + 112, true),
    code: view.getUint16(o + 116, true),
    flags: view.getUint16(o + 118, true),
    timestamp: view.getBigUint64(o + 120, true),
  };
}

/** Offsets of the transfer fields the ledger sets when it creates one. */
export const TRANSFER_AMOUNT = 48;
export const TRANSFER_FLAGS = 118;
export const TRANSFER_TIMESTAMP = 120;

export function encodeTransfer(t: Transfer, view: DataView, o: number): void {
  setU128(view, o, t.id);
  setU128(view, o + 16, t.debit_account_id);
  setU128(view, o + 32, t.credit_account_id);
  setU128(view, o + 48, t.amount);
  setU128(view, o + 64, t.pending_id);
  setU128(view, o + 80, t.user_data_128);
  setU64(view, o + 96, t.user_data_64);
  view.setUint32(o + 104, t.user_data_32, true);
  view.setUint32(o + 108, t.timeout, true);
  view.setUint32(o + 112, t.ledger, true);
  view.setUint16(o + 116, t.code, true);
  view.setUint16(o + 118, t.flags, true);
  setU64(view, o + 120, t.timestamp);
}

export function decodeTransfer(view: DataView, o: number): Transfer {
  return {
    id: readU128(view, o),
    debit_account_id: readU128(view, o + 16),
    credit_account_id: readU128(view, o + 32),
    amount: readU128(view, o + 48),
    pending_id: readU128(view, o + 64),
    user_data_128: readU128(view, o + 80),
    user_data_64: view.getBigUint64(o + 96, true),
    user_data_32: view.getUint32(o + 104, true),
    timeout: view.getUint32(o + 108, true),
    ledger: view.getUint32(o + 112, true),
    code: view.getUint16(o + 116, true),
    flags: view.getUint16(o + 118, true),
    timestamp: view.getBigUint64(o + 120, true),
  };
}
