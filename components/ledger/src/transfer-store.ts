import type { Transfer } from "tigerbeetle-node";
import {
  copyRecord,
  decodeTransfer,
  EVENT_SIZE,
  encodeTransfer,
  setU64,
  setU128,
  TRANSFER_AMOUNT,
  TRANSFER_FLAGS,
  TRANSFER_TIMESTAMP,
} from "./codec.ts";
import { U128Index } from "./u128-index.ts";

/**
 * Every transfer the ledger has created, append-only, as TigerBeetle's 128-byte records in chunks
 * of 65,536 (allocated as reached, never copied) with a u128 index over the ids. Keeping millions
 * of transfers as objects made the collector trace them all on every major GC; records in
 * buffers cost it nothing, and chunks spare the stop-the-world copy a doubling buffer makes.
 */
const CHUNK_BITS = 16;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;

export class TransferStore {
  private readonly chunks: { view: DataView; words: BigUint64Array }[] = [];
  private readonly index = new U128Index(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: bigint): boolean {
    return this.index.get(id) >= 0;
  }

  get(id: bigint): Transfer | undefined {
    const slot = this.index.get(id);
    if (slot < 0) return undefined;
    const { view } = this.chunks[slot >>> CHUNK_BITS]!;
    return decodeTransfer(view, (slot & CHUNK_MASK) * EVENT_SIZE);
  }

  /**
   * Appends a transfer whose id is not present, as created: with its amount, flags and timestamp.
   * Record `at` of `encoded`, if given, is `t` already in its 128-byte layout, copied instead of
   * encoded again.
   */
  append(
    t: Transfer,
    amount: bigint,
    flags: number,
    timestamp: bigint,
    encoded?: BigUint64Array,
    at = 0,
  ): void {
    const c = this.count >>> CHUNK_BITS;
    if (c === this.chunks.length) {
      const buffer = new ArrayBuffer(EVENT_SIZE << CHUNK_BITS);
      this.chunks.push({ view: new DataView(buffer), words: new BigUint64Array(buffer) });
    }
    const { view, words } = this.chunks[c]!;
    const o = (this.count & CHUNK_MASK) * EVENT_SIZE;
    if (encoded) copyRecord(encoded, at, words, this.count & CHUNK_MASK);
    else encodeTransfer(t, view, o);
    setU128(view, o + TRANSFER_AMOUNT, amount);
    view.setUint16(o + TRANSFER_FLAGS, flags, true);
    setU64(view, o + TRANSFER_TIMESTAMP, timestamp);
    this.index.insert(t.id, this.count);
    this.count++;
  }

  /** Removes the `n` most recent transfers (a failed linked chain's). */
  truncate(n: number): void {
    for (let i = 0; i < n; i++) {
      this.count--;
      const { view } = this.chunks[this.count >>> CHUNK_BITS]!;
      this.index.delete(decodeId(view, (this.count & CHUNK_MASK) * EVENT_SIZE));
    }
  }
}

function decodeId(view: DataView, o: number): bigint {
  const low = view.getBigUint64(o, true);
  const high = view.getBigUint64(o + 8, true);
  return high === 0n ? low : low | (high << 64n);
}
