import type { Transfer } from "tigerbeetle-node";
import { writeU64, writeU128 } from "../../domain/src/index.ts";
import { SlotArena } from "../../journal/src/index.ts";
import { hasInOrder } from "./account-table.ts";
import {
  decodeTransfer,
  EVENT_SIZE,
  encodeTransfer,
  TRANSFER_AMOUNT,
  TRANSFER_FLAGS,
  TRANSFER_TIMESTAMP,
} from "./codec.ts";
import { BATCH_MAX } from "./port.ts";
import { U128Index, u128Words } from "./u128-index.ts";
import { U128Runs } from "./u128-runs.ts";

/**
 * Ids the in-memory index holds before the older ones move to a run on disk: moving them stops
 * the ledger for 5 - 10 ms, so runs are kept small; new ids rarely consult them (see U128Runs).
 */
const FLUSH_AT = 1 << 16;
/**
 * Chunks of records kept in memory (2 MiB each): writing records to the scratch file costs the
 * kernel ~3.6 ms a MiB on this machine's disk, which a ledger at a million transfers a second
 * would feel; the last 64 MiB (half a million transfers) stay in memory.
 */
const RESIDENT_CHUNKS = 32;

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
  private encodedWords: Uint32Array | undefined;

  /** `file`: where to make the scratch files for older transfers (rebuilt by replaying the journal). */
  constructor(file?: string) {
    this.records = new SlotArena(EVENT_SIZE, { file, hotChunks: RESIDENT_CHUNKS });
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

  /** The newest transfer's timestamp (transfers are appended in timestamp order), or 0. */
  get newestTimestamp(): bigint {
    return this.records.count === 0 ? 0n : this.timestampAt(this.records.count - 1);
  }

  /** Is there a transfer created at `timestamp`? (a binary search; imports only, so reads are rare) */
  hasTimestamp(timestamp: bigint): boolean {
    return hasInOrder(this.records.count, (slot) => this.timestampAt(slot), timestamp);
  }

  private timestampAt(slot: number): bigint {
    const { view, at } = this.records.read(slot);
    return view.getBigUint64(at + TRANSFER_TIMESTAMP, true);
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
    const { words, view, at: o } = this.records.append();
    if (encoded) copyWords(this.wordsOf(encoded), (at * EVENT_SIZE) >>> 2, words, o >>> 2);
    else encodeTransfer(t, view, o);
    writeU128(view, o + TRANSFER_AMOUNT, amount);
    view.setUint16(o + TRANSFER_FLAGS, flags, true);
    writeU64(view, o + TRANSFER_TIMESTAMP, timestamp);
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

  async close(): Promise<void> {
    await Promise.all([this.records.close(), this.olderIds?.close()]);
  }

  /** `encoded` as u32 words, the view kept for the batch's other records. */
  private wordsOf(encoded: BigUint64Array): Uint32Array {
    if (this.encodedWords?.buffer !== encoded.buffer || this.encodedWords.byteOffset !== encoded.byteOffset) {
      this.encodedWords = new Uint32Array(encoded.buffer, encoded.byteOffset, encoded.length * 2);
    }
    return this.encodedWords;
  }

  private slotOf(id: bigint): number {
    const w = u128Words(id);
    const a = w[0]!;
    const b = w[1]!;
    const c = w[2]!;
    const d = w[3]!;
    const slot = this.index.getWords(a, b, c, d);
    return slot >= 0 || !this.olderIds ? slot : this.olderIds.getWords(a, b, c, d);
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

function copyWords(from: Uint32Array, f: number, to: Uint32Array, t: number): void {
  for (let i = 0; i < EVENT_SIZE >>> 2; i++) to[t + i] = from[f + i]!;
}

function decodeId(view: DataView, o: number): bigint {
  const low = view.getBigUint64(o, true);
  const high = view.getBigUint64(o + 8, true);
  return high === 0n ? low : low | (high << 64n);
}
