/**
 * A hash index from u128 ids to small integers (slots), for the ledger's millions of transfers.
 * A `Map<bigint, …>` holds every key as a heap bigint, which the garbage collector traces on every
 * major collection and which the map compares through the runtime; here keys live as four u32
 * words in typed arrays (open addressing, linear probing, backward-shift deletion), so the heap
 * does not grow with the number of transfers.
 */
const EMPTY = -1;
const U64 = 1n << 64n;

/** Splits a bigint into u32 words without allocating in the common (< 2^64) case. */
const scratch64 = new BigUint64Array(2);
const scratch32 = new Uint32Array(scratch64.buffer);

function split(id: bigint): void {
  if (id < U64) {
    scratch64[0] = id;
    scratch64[1] = 0n;
  } else {
    scratch64[0] = BigInt.asUintN(64, id);
    scratch64[1] = id >> 64n;
  }
}

function hashWords(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
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
    const a = scratch32[0]!;
    const b = scratch32[1]!;
    const c = scratch32[2]!;
    const d = scratch32[3]!;
    const h = hashWords(a, b, c, d);
    return this.shards[h >>> (32 - SHARD_BITS)]!.get(a, b, c, d, h);
  }

  /** Stores `slot` for an id that is not present (callers check first: ids are unique). */
  insert(id: bigint, slot: number): void {
    split(id);
    const a = scratch32[0]!;
    const b = scratch32[1]!;
    const c = scratch32[2]!;
    const d = scratch32[3]!;
    const h = hashWords(a, b, c, d);
    this.shards[h >>> (32 - SHARD_BITS)]!.insert(a, b, c, d, h, slot);
    this.count++;
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

/** One open-addressing table (linear probing, backward-shift deletion) of u128 keys. */
class U128Table {
  private keys: Uint32Array;
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity: number) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.keys = new Uint32Array(capacity * 4);
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get(a: number, b: number, c: number, d: number, h: number): number {
    const i = this.find(a, b, c, d, h);
    return i < 0 ? EMPTY : this.slots[i]!;
  }

  insert(a: number, b: number, c: number, d: number, h: number, slot: number): void {
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    this.place(a, b, c, d, h, slot);
    this.count++;
  }

  delete(a: number, b: number, c: number, d: number, h: number): boolean {
    let hole = this.find(a, b, c, d, h);
    if (hole < 0) return false;
    this.count--;
    // Backward shift: pull later entries of the probe run into the hole so lookups never stop early.
    const { keys, slots, mask } = this;
    let j = hole;
    for (;;) {
      slots[hole] = EMPTY;
      for (;;) {
        j = (j + 1) & mask;
        if (slots[j] === EMPTY) return true;
        const home = hashWords(keys[j * 4]!, keys[j * 4 + 1]!, keys[j * 4 + 2]!, keys[j * 4 + 3]!) & mask;
        // Move j into the hole unless its home lies cyclically in (hole, j].
        if (hole <= j ? home <= hole || home > j : home <= hole && home > j) break;
      }
      keys.copyWithin(hole * 4, j * 4, j * 4 + 4);
      slots[hole] = slots[j]!;
      hole = j;
    }
  }

  private find(a: number, b: number, c: number, d: number, h: number): number {
    const { keys, slots, mask } = this;
    let i = h & mask;
    while (slots[i] !== EMPTY) {
      const k = i * 4;
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  private place(a: number, b: number, c: number, d: number, h: number, slot: number): void {
    const { keys, slots, mask } = this;
    let i = h & mask;
    while (slots[i] !== EMPTY) i = (i + 1) & mask;
    const k = i * 4;
    keys[k] = a;
    keys[k + 1] = b;
    keys[k + 2] = c;
    keys[k + 3] = d;
    slots[i] = slot;
  }

  private grow(): void {
    const { keys, slots } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.slots = new Int32Array(slots.length * 2).fill(EMPTY);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] === EMPTY) continue;
      const k = i * 4;
      const a = keys[k]!;
      const b = keys[k + 1]!;
      const c = keys[k + 2]!;
      const d = keys[k + 3]!;
      this.place(a, b, c, d, hashWords(a, b, c, d), slots[i]!);
    }
  }
}
