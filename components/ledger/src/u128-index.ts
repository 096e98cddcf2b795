/**
 * A hash index from u128 ids to small integers (slots), for the ledger's millions of transfers.
 * A `Map<bigint, …>` holds every key as a heap bigint, which the garbage collector traces on every
 * major collection and which the map compares through the runtime; here keys live as four u32
 * words in typed arrays (open addressing, linear probing, backward-shift deletion), so the heap
 * does not grow with the number of transfers.
 */
const NOT_FOUND = -1;
const U64 = 1n << 64n;

/**
 * Splits a bigint into u32 words, low to high, without allocating in the common (< 2^64) case.
 * The words are shared: read them before the next split.
 */
const scratch64 = new BigUint64Array(2);
const scratch32 = new Uint32Array(scratch64.buffer);

export function u128Words(id: bigint): Uint32Array {
  split(id);
  return scratch32;
}

function split(id: bigint): void {
  if (id < U64) {
    scratch64[0] = id;
    scratch64[1] = 0n;
  } else {
    scratch64[0] = BigInt.asUintN(64, id);
    scratch64[1] = id >> 64n;
  }
}

/**
 * Ids that differ only in their two lowest bits (consecutive ids, the legs of one trade's
 * settlement) hash to four neighbouring entries, 80 bytes: all but those bits are mixed, and
 * those pick the entry within the group. A batch of new ids then misses the cache about once a
 * group instead of once an id.
 */
function hashWords(a: number, b: number, c: number, d: number): number {
  let h = Math.imul((a & ~3) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  return (((h ^ (h >>> 16)) & ~3) | (a & 3)) >>> 0;
}

/**
 * 64 open-addressing tables, chosen by the hash's top bits: each grows on its own, so growing
 * rehashes a 64th of the ids at a time. One table of millions stopped the process for a second
 * or more each time it doubled (seen in the soak as a latency spike).
 */
const SHARD_BITS = 6;

export class U128Index {
  private readonly shards: U128Table[];
  private count = 0;

  constructor(initialCapacity = 1024) {
    const perShard = Math.max(8, Math.ceil(initialCapacity / (1 << SHARD_BITS)));
    this.shards = Array.from({ length: 1 << SHARD_BITS }, () => new U128Table(perShard));
  }

  get size(): number {
    return this.count;
  }

  /** The slot stored for `id`, or -1. */
  get(id: bigint): number {
    split(id);
    return this.getWords(scratch32[0]!, scratch32[1]!, scratch32[2]!, scratch32[3]!);
  }

  /** `get` of an id given as its u32 words, low to high. */
  getWords(a: number, b: number, c: number, d: number): number {
    const h = hashWords(a, b, c, d);
    return this.shards[h >>> (32 - SHARD_BITS)]!.get(a, b, c, d, h);
  }

  /** Stores `slot` for an id that is not present (callers check first: ids are unique). */
  insert(id: bigint, slot: number): void {
    split(id);
    this.insertWords(scratch32[0]!, scratch32[1]!, scratch32[2]!, scratch32[3]!, slot);
  }

  /** `insert` of an id given as its u32 words, low to high. */
  insertWords(a: number, b: number, c: number, d: number, slot: number): void {
    const h = hashWords(a, b, c, d);
    this.shards[h >>> (32 - SHARD_BITS)]!.insert(a, b, c, d, h, slot);
    this.count++;
  }

  /** Calls `fn` with every id (as its u32 words, low to high) and its slot, in no order. */
  forEach(fn: (a: number, b: number, c: number, d: number, slot: number) => void): void {
    for (const shard of this.shards) shard.forEach(fn);
  }

  delete(id: bigint): void {
    split(id);
    const a = scratch32[0]!;
    const b = scratch32[1]!;
    const c = scratch32[2]!;
    const d = scratch32[3]!;
    const h = hashWords(a, b, c, d);
    if (this.shards[h >>> (32 - SHARD_BITS)]!.delete(a, b, c, d, h)) this.count--;
  }
}

/**
 * One open-addressing table (linear probing, backward-shift deletion) of u128 keys. Each entry is
 * five u32 words, the slot then the key, side by side so that a probe touches one cache line, not
 * one in a slot array and another in a key array (two cache misses per lookup in a large table).
 */
const ENTRY = 5;
const FREE = 0xffff_ffff;

class U128Table {
  private entries: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity: number) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.entries = new Uint32Array(capacity * ENTRY).fill(FREE);
    this.mask = capacity - 1;
  }

  get(a: number, b: number, c: number, d: number, h: number): number {
    const e = this.find(a, b, c, d, h);
    return e < 0 ? NOT_FOUND : this.entries[e]!;
  }

  insert(a: number, b: number, c: number, d: number, h: number, slot: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.place(a, b, c, d, h, slot);
    this.count++;
  }

  delete(a: number, b: number, c: number, d: number, h: number): boolean {
    const found = this.find(a, b, c, d, h);
    if (found < 0) return false;
    this.count--;
    // Backward shift: pull later entries of the probe run into the hole so lookups never stop early.
    const { entries } = this;
    let hole = found / ENTRY;
    for (;;) {
      entries[hole * ENTRY] = FREE;
      const j = this.entryToShift(hole);
      if (j < 0) return true;
      entries.copyWithin(hole * ENTRY, j * ENTRY, j * ENTRY + ENTRY);
      hole = j;
    }
  }

  /** The next entry after `hole` in its probe run that may move into it, or -1 at the run's end. */
  private entryToShift(hole: number): number {
    const { entries, mask } = this;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const e = j * ENTRY;
      if (entries[e] === FREE) return -1;
      const home = hashWords(entries[e + 1]!, entries[e + 2]!, entries[e + 3]!, entries[e + 4]!) & mask;
      // j may move into the hole unless its home lies cyclically in (hole, j].
      const homeBetween = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!homeBetween) return j;
    }
  }

  forEach(fn: (a: number, b: number, c: number, d: number, slot: number) => void): void {
    const { entries } = this;
    for (let e = 0; e < entries.length; e += ENTRY) {
      if (entries[e] !== FREE)
        fn(entries[e + 1]!, entries[e + 2]!, entries[e + 3]!, entries[e + 4]!, entries[e]!);
    }
  }

  /** The index in `entries` of the key's entry, or -1. */
  private find(a: number, b: number, c: number, d: number, h: number): number {
    const { entries, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = i * ENTRY;
      if (entries[e] === FREE) return -1;
      if (entries[e + 1] === a && entries[e + 2] === b && entries[e + 3] === c && entries[e + 4] === d)
        return e;
    }
  }

  private place(a: number, b: number, c: number, d: number, h: number, slot: number): void {
    const { entries, mask } = this;
    let i = h & mask;
    while (entries[i * ENTRY] !== FREE) i = (i + 1) & mask;
    const e = i * ENTRY;
    entries[e] = slot;
    entries[e + 1] = a;
    entries[e + 2] = b;
    entries[e + 3] = c;
    entries[e + 4] = d;
  }

  private grow(): void {
    const old = this.entries;
    this.entries = new Uint32Array(old.length * 2).fill(FREE);
    this.mask = (this.mask << 1) | 1;
    for (let e = 0; e < old.length; e += ENTRY) {
      if (old[e] === FREE) continue;
      const a = old[e + 1]!;
      const b = old[e + 2]!;
      const c = old[e + 3]!;
      const d = old[e + 4]!;
      this.place(a, b, c, d, hashWords(a, b, c, d), old[e]!);
    }
  }
}
