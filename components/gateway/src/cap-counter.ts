/**
 * What a client holds open against a cap (connections or streams per address, user data
 * connections per user), counted per key: by one thread alone (`LocalCapCounter`, exact), or by
 * every gateway thread of a process at once (`SharedCapCounter`), since connections, their
 * buffers and file descriptors are the process's, whichever thread took them.
 */
export interface CapCounter {
  /** Counts `n` more for `key` unless that passes `cap`: then counts nothing and says false. */
  tryAdd(key: string, n: number, cap: number): boolean;
  /** Counts `n` fewer for `key` (what a `tryAdd` counted). */
  remove(key: string, n: number): void;
}

export class LocalCapCounter implements CapCounter {
  private readonly counts = new Map<string, number>();

  tryAdd(key: string, n: number, cap: number): boolean {
    const now = this.counts.get(key) ?? 0;
    if (now + n > cap) return false;
    this.counts.set(key, now + n);
    return true;
  }

  remove(key: string, n: number): void {
    const left = (this.counts.get(key) ?? 0) - n;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}

/** Slots per row of a thread's sketch: 2^17 (512 KiB a row, 1 MiB a thread). */
const SLOTS = 1 << 17;
const ROWS = 2;
const PER_THREAD = ROWS * SLOTS;

/** The memory the SharedCapCounters of `threads` threads count in, made once and handed to each. */
export function sharedCapMemory(threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer(threads * PER_THREAD * Int32Array.BYTES_PER_ELEMENT);
}

/**
 * Forgets what thread `thread` counted: it is gone, and the connections it counted with it (a
 * terminated thread runs no close handlers). Only while no thread counts there.
 */
export function clearCapCounts(memory: SharedArrayBuffer, thread: number): void {
  new Int32Array(memory, thread * PER_THREAD * Int32Array.BYTES_PER_ELEMENT, PER_THREAD).fill(0);
}

/**
 * The counts of every gateway thread of a process, in shared memory. Each thread counts in a part
 * of its own, as a count-min sketch: a key adds to one slot in each of two rows (by two hashes);
 * its count over the process is read as the smaller of the two slots' sums over every thread. A
 * slot also holds the counts of other keys that hash there, so the reading is never below the
 * key's own count: a client is never let past its cap, and is refused early only when both its
 * slots carry other clients' counts large enough to matter (with 10,000 keys in use, about 0.5% of
 * keys share both slots with another). Adding first and taking back on refusal keeps two threads
 * racing for the last place from both taking it. A thread's own part lets the main thread forget
 * a dead thread's counts (`clearCapCounts`).
 */
export class SharedCapCounter implements CapCounter {
  private readonly slots: Int32Array;
  private readonly threads: number;
  private readonly own: number;

  constructor(memory: SharedArrayBuffer, thread: number) {
    this.slots = new Int32Array(memory);
    this.threads = this.slots.length / PER_THREAD;
    if (!Number.isInteger(this.threads) || thread < 0 || thread >= this.threads)
      throw new Error(`no part of the cap counter memory for thread ${thread}`);
    this.own = thread * PER_THREAD;
  }

  tryAdd(key: string, n: number, cap: number): boolean {
    const [a, b] = slotsOf(key);
    Atomics.add(this.slots, this.own + a, n);
    Atomics.add(this.slots, this.own + b, n);
    if (Math.min(this.total(a), this.total(b)) <= cap) return true;
    this.remove(key, n);
    return false;
  }

  remove(key: string, n: number): void {
    const [a, b] = slotsOf(key);
    Atomics.sub(this.slots, this.own + a, n);
    Atomics.sub(this.slots, this.own + b, n);
  }

  /** A slot's count over every thread. */
  private total(slot: number): number {
    let sum = 0;
    for (let t = 0; t < this.threads; t++) sum += Atomics.load(this.slots, t * PER_THREAD + slot);
    return sum;
  }
}

/**
 * A key's slot in each row: the low bits of its hash, and the low bits of that hash mixed again,
 * which depend on all 32 of its bits (keys sharing the first slot rarely share the second).
 */
function slotsOf(key: string): [number, number] {
  const h = fnv1a(key);
  return [h & (SLOTS - 1), SLOTS + (mix(h) & (SLOTS - 1))];
}

/** FNV-1a (32 bits) over the key's UTF-16 code units. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: every bit of `h` moves every bit of the result. */
function mix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
