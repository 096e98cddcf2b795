import { closeSync, readSync, writeSync } from "node:fs";
import { openScratch } from "../../journal/src/slot-arena.ts";
import { u128Words } from "./u128-index.ts";

/**
 * The older part of an index from u128 ids to slots, on disk: runs of (id, slot) records sorted by
 * id, each written once to a scratch file and never changed. In memory a run keeps a Bloom filter
 * (10 bits an id: about 1% of absent ids cost a disk read, present ones one read) and the first id
 * of each block of records, so memory grows by ~1.3 bytes an id instead of the ~60 an in-memory
 * hash entry takes. Runs are not merged: each one adds a filter check to every lookup.
 */
const RECORD_WORDS = 5; // the id's u32 words low to high, then the slot
const RECORD_BYTES = RECORD_WORDS * 4;
const BLOCK = 256; // records read at once
const BLOOM_BITS_PER_ID = 10;
const BLOOM_PROBES = 7;

interface Run {
  readonly offset: number;
  readonly count: number;
  /** The first id of each block, as four words. */
  readonly fences: Uint32Array;
  readonly bloom: Uint32Array;
}

export class U128Runs {
  private readonly fd: number;
  private readonly runs: Run[] = [];
  private end = 0;
  private ids = 0;
  private readonly block = new Uint32Array(BLOCK * RECORD_WORDS);
  private readonly blockBytes = new Uint8Array(this.block.buffer);

  /** `file`: where to make the scratch file (its contents are rebuilt by whoever fills the runs). */
  constructor(file: string) {
    this.fd = openScratch(file);
  }

  get size(): number {
    return this.ids;
  }

  /** Writes `count` ids (`keys`: four words each) with their slots as a new run. */
  add(keys: Uint32Array, slots: Uint32Array, count: number): void {
    if (count === 0) return;
    const order = sortedOrder(keys, count);
    const records = new Uint32Array(count * RECORD_WORDS);
    const fences = new Uint32Array(Math.ceil(count / BLOCK) * 4);
    const bloom = new Uint32Array(Math.ceil((count * BLOOM_BITS_PER_ID) / 32));
    for (let i = 0; i < count; i++) {
      const k = order[i]! * 4;
      records.set(keys.subarray(k, k + 4), i * RECORD_WORDS);
      records[i * RECORD_WORDS + 4] = slots[order[i]!]!;
      if (i % BLOCK === 0) fences.set(keys.subarray(k, k + 4), (i / BLOCK) * 4);
      addToBloom(bloom, keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!);
    }
    const bytes = new Uint8Array(records.buffer);
    for (let done = 0; done < bytes.length; ) {
      done += writeSync(this.fd, bytes, done, bytes.length - done, this.end + done);
    }
    this.runs.push({ offset: this.end, count, fences, bloom });
    this.end += bytes.length;
    this.ids += count;
  }

  /** The slot stored for `id`, or -1. */
  get(id: bigint): number {
    const w = u128Words(id);
    const a = w[0]!;
    const b = w[1]!;
    const c = w[2]!;
    const d = w[3]!;
    for (let r = this.runs.length - 1; r >= 0; r--) {
      const run = this.runs[r]!;
      if (!mayHold(run.bloom, a, b, c, d)) continue;
      const slot = this.search(run, a, b, c, d);
      if (slot >= 0) return slot;
    }
    return -1;
  }

  close(): void {
    closeSync(this.fd);
  }

  private search(run: Run, a: number, b: number, c: number, d: number): number {
    // The last block whose first id is at most the id.
    let lo = 0;
    let hi = run.fences.length / 4 - 1;
    if (compare(run.fences, 0, a, b, c, d) > 0) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (compare(run.fences, mid * 4, a, b, c, d) <= 0) lo = mid;
      else hi = mid - 1;
    }
    const n = Math.min(BLOCK, run.count - lo * BLOCK);
    readSync(this.fd, this.blockBytes, 0, n * RECORD_BYTES, run.offset + lo * BLOCK * RECORD_BYTES);
    let l = 0;
    let h = n - 1;
    while (l <= h) {
      const m = (l + h) >>> 1;
      const cmp = compare(this.block, m * RECORD_WORDS, a, b, c, d);
      if (cmp === 0) return this.block[m * RECORD_WORDS + 4]!;
      if (cmp < 0) l = m + 1;
      else h = m - 1;
    }
    return -1;
  }
}

/** The id at `words[at..at+4)` against (a, b, c, d), as u128s: negative, zero or positive. */
function compare(words: Uint32Array, at: number, a: number, b: number, c: number, d: number): number {
  return words[at + 3]! - d || words[at + 2]! - c || words[at + 1]! - b || words[at]! - a;
}

/**
 * The order that sorts `count` ids (four words each, low to high) ascending: a least-significant-
 * digit radix sort on 16-bit digits, skipping digits every id shares (most of the high ones, for
 * ids built from a kind and a source). Linear in the ids, where a comparison sort stopped the
 * process for a few hundred milliseconds at a run's size.
 */
function sortedOrder(keys: Uint32Array, count: number): Uint32Array {
  let order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  let next = new Uint32Array(count);
  const starts = new Uint32Array(1 << 16);
  for (let word = 0; word < 4; word++) {
    for (let shift = 0; shift < 32; shift += 16) {
      starts.fill(0);
      for (let i = 0; i < count; i++) starts[(keys[i * 4 + word]! >>> shift) & 0xffff]!++;
      if (starts[(keys[word]! >>> shift) & 0xffff] === count) continue;
      let sum = 0;
      for (let digit = 0; digit < starts.length; digit++) {
        const n = starts[digit]!;
        starts[digit] = sum;
        sum += n;
      }
      for (let i = 0; i < count; i++) {
        const k = order[i]!;
        next[starts[(keys[k * 4 + word]! >>> shift) & 0xffff]!++] = k;
      }
      [order, next] = [next, order];
    }
  }
  return order;
}

/** Two independent 32-bit hashes of the id last given to `hashId` (for double hashing). */
let h1 = 0;
let h2 = 0;

function hashId(a: number, b: number, c: number, d: number): void {
  let h = Math.imul(a ^ 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x27d4eb2f);
  h ^= h >>> 15;
  h1 = h >>> 0;
  const g = Math.imul(h ^ (h >>> 13), 0x9e3779b1);
  h2 = (g ^ (g >>> 16)) | 1;
}

/** The filter bit of probe `i` for the id last hashed. */
function bloomBit(bloom: Uint32Array, i: number): number {
  return ((h1 + Math.imul(i, h2)) >>> 0) % (bloom.length * 32);
}

function addToBloom(bloom: Uint32Array, a: number, b: number, c: number, d: number): void {
  hashId(a, b, c, d);
  for (let i = 0; i < BLOOM_PROBES; i++) {
    const at = bloomBit(bloom, i);
    bloom[at >>> 5]! |= 1 << (at & 31);
  }
}

function mayHold(bloom: Uint32Array, a: number, b: number, c: number, d: number): boolean {
  hashId(a, b, c, d);
  for (let i = 0; i < BLOOM_PROBES; i++) {
    const at = bloomBit(bloom, i);
    if ((bloom[at >>> 5]! & (1 << (at & 31))) === 0) return false;
  }
  return true;
}
