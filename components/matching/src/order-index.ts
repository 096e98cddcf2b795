/**
 * orderId -> slot, an open-addressing hash table in typed arrays (linear probing, backward-shift
 * deletion, load factor <= 1/2). On the matching hot path it replaces a Map, whose hashing and
 * heap entries cost more than the rest of a typical command. Keys are positive safe integers.
 */
const EMPTY = 0;

export class OrderIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private bits: number;
  size = 0;

  constructor(initialCapacity = 4096) {
    this.bits = Math.max(4, Math.ceil(Math.log2(initialCapacity * 2)));
    this.keys = new Float64Array(1 << this.bits);
    this.values = new Int32Array(1 << this.bits);
    this.mask = (1 << this.bits) - 1;
  }

  /** The slot of `key`, or -1. */
  get(key: number): number {
    const keys = this.keys;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) return this.values[i]!;
      if (k === EMPTY) return -1;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** Inserts or replaces. */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.resize();
    const keys = this.keys;
    let i = this.home(key);
    while (keys[i] !== EMPTY && keys[i] !== key) i = (i + 1) & this.mask;
    if (keys[i] === EMPTY) this.size++;
    keys[i] = key;
    this.values[i] = value;
  }

  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(key);
    for (;;) {
      const k = keys[i]!;
      if (k === EMPTY) return false;
      if (k === key) break;
      i = (i + 1) & mask;
    }
    // Backward-shift: pull later entries of the probe run into the hole so lookups need no tombstones.
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const h = this.home(keys[j]!);
      // Move entry j into the hole unless its home lies cyclically in (hole, j].
      if (hole <= j ? h <= hole || h > j : h <= hole && h > j) {
        keys[hole] = keys[j]!;
        this.values[hole] = this.values[j]!;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    this.size--;
    return true;
  }

  /** Every (key, value) pair, in table order. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++)
      if (this.keys[i] !== EMPTY) yield [this.keys[i]!, this.values[i]!];
  }

  private home(key: number): number {
    // Mix the low and high 32 bits (keys go up to 2^53), then Fibonacci hashing.
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  private resize(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.bits++;
    this.keys = new Float64Array(1 << this.bits);
    this.values = new Int32Array(1 << this.bits);
    this.mask = (1 << this.bits) - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.set(oldKeys[i]!, oldValues[i]!);
  }
}
