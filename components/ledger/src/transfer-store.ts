import type { Transfer } from "tigerbeetle-node";
import { writeU128 } from "../../domain/src/u128.ts";
import {
  decodeTransfer,
  EVENT_SIZE,
  encodeTransfer,
  TRANSFER_AMOUNT,
  TRANSFER_FLAGS,
  TRANSFER_TIMESTAMP,
} from "./codec.ts";
import { U128Index } from "./u128-index.ts";

/**
 * Every transfer the ledger has created, append-only, as TigerBeetle's 128-byte records in one
 * growing buffer with a u128 index over the ids. Keeping millions of transfers as objects made
 * the collector trace them all on every major GC; records in a buffer cost it nothing.
 */
export class TransferStore {
  private bytes = new Uint8Array(EVENT_SIZE * 1024);
  private view = new DataView(this.bytes.buffer);
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
    return slot < 0 ? undefined : decodeTransfer(this.view, slot * EVENT_SIZE);
  }

  /**
   * Appends a transfer whose id is not present, as created: with its amount, flags and timestamp.
   * `encoded` is `t` already in its 128-byte layout, copied instead of encoded again.
   */
  append(t: Transfer, amount: bigint, flags: number, timestamp: bigint, encoded?: Uint8Array): void {
    if ((this.count + 1) * EVENT_SIZE > this.bytes.length) this.grow();
    const o = this.count * EVENT_SIZE;
    if (encoded) this.bytes.set(encoded, o);
    else encodeTransfer(t, this.view, o);
    writeU128(this.view, o + TRANSFER_AMOUNT, amount);
    this.view.setUint16(o + TRANSFER_FLAGS, flags, true);
    this.view.setBigUint64(o + TRANSFER_TIMESTAMP, timestamp, true);
    this.index.insert(t.id, this.count);
    this.count++;
  }

  /** Removes the `n` most recent transfers (a failed linked chain's). */
  truncate(n: number): void {
    for (let i = 0; i < n; i++) {
      this.count--;
      this.index.delete(decodeId(this.view, this.count * EVENT_SIZE));
    }
  }

  private grow(): void {
    const bytes = new Uint8Array(this.bytes.length * 2);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}

function decodeId(view: DataView, o: number): bigint {
  const low = view.getBigUint64(o, true);
  const high = view.getBigUint64(o + 8, true);
  return high === 0n ? low : low | (high << 64n);
}
