import { closeSync, readSync, write } from "node:fs";
import { openScratch } from "../../journal/src/index.ts";

/**
 * The older part of an index from u128 ids to slots, on disk: runs of (id, slot) records sorted by
 * id, each written once to a scratch file and never changed. In memory a run keeps a Bloom filter
 * (10 bits an id: about 2% of absent ids cost a disk read, present ones one read) and the first id
 * of each block of records, so memory grows by ~1.3 bytes an id instead of the ~60 an in-memory
 * hash entry takes. Runs are not merged: each one adds a filter check to every lookup that the
 * newest id of its prefix does not answer (see NewestByPrefix).
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
  /** The records, until they are written (or for good, if the file could not take them). */
  records: Uint32Array | undefined;
}

export class U128Runs {
  private readonly fd: number;
  private readonly runs: Run[] = [];
  private end = 0;
  private ids = 0;
  private readonly block = new Uint32Array(BLOCK * RECORD_WORDS);
  private readonly blockBytes = new Uint8Array(this.block.buffer);
  private readonly newest: NewestByPrefix;
  private readonly writes = new Set<Promise<void>>();

  /**
   * `file`: where to make the scratch file (its contents are rebuilt by whoever fills the runs);
   * `prefixesTracked`: see NewestByPrefix (tests track fewer).
   */
  constructor(file: string, prefixesTracked = 65_536) {
    this.fd = openScratch(file);
    this.newest = new NewestByPrefix(prefixesTracked);
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
    const bloom = bloomFor(count);
    for (let i = 0; i < count; i++) {
      const k = order[i]! * 4;
      const r = i * RECORD_WORDS;
      records[r] = keys[k]!;
      records[r + 1] = keys[k + 1]!;
      records[r + 2] = keys[k + 2]!;
      records[r + 3] = keys[k + 3]!;
      records[r + 4] = slots[order[i]!]!;
      if (i % BLOCK === 0) fences.set(keys.subarray(k, k + 4), (i / BLOCK) * 4);
    }
    addToBloom(bloom, records, count);
    // Sorted: a prefix's greatest id is its last before the next prefix.
    for (let i = 0; i < count; i++) {
      const r = i * RECORD_WORDS;
      const last = i === count - 1 || records[r + 2] !== records[r + 7] || records[r + 3] !== records[r + 8];
      if (last) this.newest.note(records[r]!, records[r + 1]!, records[r + 2]!, records[r + 3]!);
    }
    const run: Run = { offset: this.end, count, fences, bloom, records };
    this.runs.push(run);
    // Written in the thread pool (a few megabytes that extend the file: milliseconds of disk).
    const bytes = new Uint8Array(records.buffer);
    const done: Promise<void> = new Promise((resolve) =>
      write(this.fd, bytes, 0, bytes.length, run.offset, (error, written) => {
        if (!error && written === bytes.length) run.records = undefined;
        this.writes.delete(done);
        resolve();
      }),
    );
    this.writes.add(done);
    this.end += bytes.length;
    this.ids += count;
  }

  /** The slot stored for the id given as its u32 words (low to high), or -1. */
  getWords(a: number, b: number, c: number, d: number): number {
    if (this.newest.isPast(a, b, c, d)) return -1;
    for (let r = this.runs.length - 1; r >= 0; r--) {
      const run = this.runs[r]!;
      if (!mayHold(run.bloom, a, b, c, d)) continue;
      const slot = this.search(run, a, b, c, d);
      if (slot >= 0) return slot;
    }
    return -1;
  }

  async close(): Promise<void> {
    await Promise.all(this.writes);
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
    let block: Uint32Array = this.block;
    let base = 0;
    if (run.records) {
      block = run.records;
      base = lo * BLOCK * RECORD_WORDS;
    } else {
      readSync(this.fd, this.blockBytes, 0, n * RECORD_BYTES, run.offset + lo * BLOCK * RECORD_BYTES);
    }
    let l = 0;
    let h = n - 1;
    while (l <= h) {
      const m = (l + h) >>> 1;
      const at = base + m * RECORD_WORDS;
      const cmp = compare(block, at, a, b, c, d);
      if (cmp === 0) return block[at + 4]!;
      if (cmp < 0) l = m + 1;
      else h = m - 1;
    }
    return -1;
  }
}

/**
 * For ids that grow within a prefix (their high 64 bits: Bourse's transfer ids are kind | source |
 * sequence | leg, so a market's trade legs or a request's legs only grow), the greatest low half
 * in the runs for each prefix. A new id past it, or with a prefix no run has, is in no run:
 * the common lookup, a new transfer's duplicate check, is answered without a filter check per
 * run. Prefixes past the first `limit` are not tracked; ids with those go through the filters.
 */
class NewestByPrefix {
  /**
   * By high word, then the next (as int32s: small integers to V8, where words past 2^31 would be
   * boxed): the greatest [low word 1, low word 0] seen.
   */
  private readonly byPrefix = new Map<number, Map<number, [number, number]>>();
  private tracked = 0;
  /** Whether some run holds a prefix that is not tracked. */
  private untracked = false;

  constructor(private readonly limit: number) {}

  note(a: number, b: number, c: number, d: number): void {
    let inner = this.byPrefix.get(d | 0);
    const newest = inner?.get(c | 0);
    if (newest) {
      if (b > newest[0] || (b === newest[0] && a > newest[1])) {
        newest[0] = b;
        newest[1] = a;
      }
      return;
    }
    if (this.tracked === this.limit) {
      this.untracked = true;
      return;
    }
    if (!inner) {
      inner = new Map();
      this.byPrefix.set(d | 0, inner);
    }
    inner.set(c | 0, [b, a]);
    this.tracked++;
  }

  /** True if no run can hold the id. */
  isPast(a: number, b: number, c: number, d: number): boolean {
    const newest = this.byPrefix.get(d | 0)?.get(c | 0);
    if (!newest) return !this.untracked;
    return b > newest[0] || (b === newest[0] && a > newest[1]);
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
      if (radixPass(keys, count, word, shift, order, next, starts)) [order, next] = [next, order];
    }
  }
  return order;
}

/**
 * One pass of sortedOrder on the 16-bit digit at `shift` of `word`: `order` stably sorted by it
 * into `next`. False (and nothing written) when every id has the same digit there.
 */
function radixPass(
  keys: Uint32Array,
  count: number,
  word: number,
  shift: number,
  order: Uint32Array,
  next: Uint32Array,
  starts: Uint32Array,
): boolean {
  const digitOf = (k: number) => (keys[k * 4 + word]! >>> shift) & 0xffff;
  starts.fill(0);
  for (let i = 0; i < count; i++) starts[digitOf(i)]!++;
  if (starts[digitOf(0)] === count) return false;
  let sum = 0;
  for (let digit = 0; digit < starts.length; digit++) {
    const n = starts[digit]!;
    starts[digit] = sum;
    sum += n;
  }
  for (let i = 0; i < count; i++) {
    const k = order[i]!;
    next[starts[digitOf(k)]!++] = k;
  }
  return true;
}

/**
 * A blocked Bloom filter: an id's probes all fall in one 512-bit block (one cache line), chosen by
 * one hash, the bits within it by two others. The filter's size is a power of two blocks.
 */
const BLOCK_WORDS = 16;

function bloomFor(ids: number): Uint32Array {
  let blocks = 1;
  while (blocks * BLOCK_WORDS * 32 < ids * BLOOM_BITS_PER_ID) blocks *= 2;
  return new Uint32Array(blocks * BLOCK_WORDS);
}

/** The id's hash (an int32); its bits pick the block, the first bit and the step. */
function bloomHash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x27d4eb2f);
  return h ^ (h >>> 15);
}

/** Sets the filter bits of the ids of `records` (RECORD_WORDS words each). */
function addToBloom(bloom: Uint32Array, records: Uint32Array, count: number): void {
  const blockMask = bloom.length / BLOCK_WORDS - 1;
  for (let r = 0; r < count * RECORD_WORDS; r += RECORD_WORDS) {
    const h = bloomHash(records[r]!, records[r + 1]!, records[r + 2]!, records[r + 3]!);
    const g = Math.imul(h ^ (h >>> 13), 0x9e3779b1);
    const step = (g ^ (g >>> 16)) | 1;
    const base = (h & blockMask) * BLOCK_WORDS;
    for (let i = 0, bit = g >>> 7; i < BLOOM_PROBES; i++, bit = (bit + step) >>> 0) {
      bloom[base + ((bit >>> 5) & (BLOCK_WORDS - 1))]! |= 1 << (bit & 31);
    }
  }
}

/** False if the id is certainly not in the filter's run. */
function mayHold(bloom: Uint32Array, a: number, b: number, c: number, d: number): boolean {
  const h = bloomHash(a, b, c, d);
  const g = Math.imul(h ^ (h >>> 13), 0x9e3779b1);
  const step = (g ^ (g >>> 16)) | 1;
  const base = (h & (bloom.length / BLOCK_WORDS - 1)) * BLOCK_WORDS;
  for (let i = 0, bit = g >>> 7; i < BLOOM_PROBES; i++, bit = (bit + step) >>> 0) {
    if ((bloom[base + ((bit >>> 5) & (BLOCK_WORDS - 1))]! & (1 << (bit & 31))) === 0) return false;
  }
  return true;
}
