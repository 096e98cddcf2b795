import type { Transfer } from "tigerbeetle-node";
import { SlotArena } from "../../journal/src/slot-arena.ts";
import {
  decodeTransfer,
  EVENT_SIZE,
  encodeTransfer,
  setU64,
  setU128,
  TRANSFER_AMOUNT,
  TRANSFER_FLAGS,
  TRANSFER_TIMESTAMP,
} from "./codec.ts";
import { BATCH_MAX } from "./port.ts";
import { U128Index } from "./u128-index.ts";
import { U128Runs } from "./u128-runs.ts";

/** Ids the in-memory index holds before the older ones move to runs on disk. */
const FLUSH_AT = 1 << 18;

/**
 * Every transfer the ledger has created, append-only, as TigerBeetle's 128-byte records in a slot
 * arena with an index over the ids. Keeping millions of transfers as objects made the collector
 * trace them all on every major GC, and keeping them all in memory made the ledger grow with its
 * history; so, when the ledger has a directory, only the newest records and the newest ids' index
 * entries stay in memory, and the rest is in scratch files (U128Runs for the ids).
 */
export class TransferStore {
  private readonly records: SlotArena;
  private index = new U128Index(1024);
  private readonly olderIds: U128Runs | undefined;

  /** `file`: where to make the scratch files for older transfers (rebuilt by replaying the journal). */
  constructor(file?: string) {
    this.records = new SlotArena(EVENT_SIZE, { file });
    this.olderIds = file === undefined ? undefined : new U128Runs(`${file}.ids`);
  }

  get size(): number {
    return this.records.count;
  }

  has(id: bigint): boolean {
    return this.slotOf(id) >= 0;
  }

  get(id: bigint): Transfer | undefined {
    const slot = this.slotOf(id);
    if (slot < 0) return undefined;
    const { view, at } = this.records.read(slot);
    return decodeTransfer(view, at);
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
    const slot = this.records.count;
    this.records.write(slot, ({ bytes, view, at: o }) => {
      if (encoded)
        bytes.set(new Uint8Array(encoded.buffer, encoded.byteOffset + at * EVENT_SIZE, EVENT_SIZE), o);
      else encodeTransfer(t, view, o);
      setU128(view, o + TRANSFER_AMOUNT, amount);
      view.setUint16(o + TRANSFER_FLAGS, flags, true);
      setU64(view, o + TRANSFER_TIMESTAMP, timestamp);
    });
    this.index.insert(t.id, slot);
    if (this.olderIds && this.index.size >= FLUSH_AT + BATCH_MAX) this.moveOlderIds(this.olderIds);
  }

  /**
   * Removes the `n` most recent transfers (a failed linked chain's: at most a batch, whose ids are
   * all still in the in-memory index).
   */
  truncate(n: number): void {
    const count = this.records.count - n;
    for (let slot = count; slot < this.records.count; slot++) {
      const { view, at } = this.records.read(slot);
      this.index.delete(decodeId(view, at));
    }
    this.records.truncate(count);
  }

  close(): void {
    this.records.close();
    this.olderIds?.close();
  }

  private slotOf(id: bigint): number {
    const slot = this.index.get(id);
    return slot >= 0 || !this.olderIds ? slot : this.olderIds.get(id);
  }

  /**
   * Moves every id but the newest batch's worth to a run on disk, so that a rollback (never more
   * than one batch) only ever removes ids still in memory.
   */
  private moveOlderIds(runs: U128Runs): void {
    const keepFrom = this.records.count - BATCH_MAX;
    const keys = new Uint32Array(this.index.size * 4);
    const slots = new Uint32Array(this.index.size);
    const newer = new U128Index(FLUSH_AT + BATCH_MAX);
    let n = 0;
    this.index.forEach((a, b, c, d, slot) => {
      if (slot >= keepFrom) {
        newer.insertWords(a, b, c, d, slot);
        return;
      }
      keys[n * 4] = a;
      keys[n * 4 + 1] = b;
      keys[n * 4 + 2] = c;
      keys[n * 4 + 3] = d;
      slots[n++] = slot;
    });
    runs.add(keys, slots, n);
    this.index = newer;
  }
}

function decodeId(view: DataView, o: number): bigint {
  const low = view.getBigUint64(o, true);
  const high = view.getBigUint64(o + 8, true);
  return high === 0n ? low : low | (high << 64n);
}
