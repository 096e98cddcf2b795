import { closeSync, openSync, readSync, rmSync, unlinkSync, write, writeSync } from "node:fs";
import { PRIVATE_FILE } from "../../storage/src/index.ts";

/**
 * Where a slot's bytes are: `bytes[at .. at + slotSize)`, also through `view`, and as u32 words
 * from `words[at / 4]` (slot sizes are whole words) for copies that allocate nothing.
 */
export interface SlotRef {
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly words: Uint32Array;
  readonly at: number;
}

export interface SlotArenaOptions {
  /**
   * Where to make a scratch file for the chunks that are no longer among the newest; without one
   * every chunk stays in memory. The file is removed from the directory as soon as it is open (it
   * lives as long as the arena's descriptor, and another arena made at the same path never shares
   * it), and it is never fsynced: the owner rebuilds its contents by replaying a journal.
   */
  file?: string;
  /** Slots per chunk, as a power of two. */
  chunkBits?: number;
  /** How many of the highest-numbered chunks stay in memory. */
  hotChunks?: number;
}

/**
 * Fixed-size binary slots in chunks, for records that accumulate without bound (the ledger's
 * transfers, the history store's orders and trades). The newest chunks, where writes land, are
 * buffers in memory; older ones are written to a scratch file and dropped, and a slot there is read
 * or written with one positioned read or write. A long-running exchange's history then costs
 * neither the garbage collector (records are not objects) nor resident memory (they are on disk).
 * Slots never written read as zeros.
 */
export class SlotArena {
  /** Slots per chunk. Slot numbers may pass 2^32 (order ids), so chunks are found by division. */
  private readonly chunkSlots: number;
  private readonly chunkBytes: number;
  private readonly hotChunks: number;
  private readonly fd: number | undefined;
  /** Chunks in memory, by chunk number. */
  private readonly resident = new Map<number, SlotRef>();
  /** Chunk numbers with slots in the scratch file. */
  private readonly spilled = new Set<number>();
  /** Chunks being written to the file, still resident; `dirty` once written to meanwhile. */
  private readonly spilling = new Map<number, { dirty: boolean }>();
  private readonly writes = new Set<Promise<void>>();
  /** The highest chunk number ever in memory: the hot ones count down from it. */
  private newest = -1;
  /** Reads and writes of spilled slots go through here; valid until the next such access. */
  private readonly scratch: SlotRef;
  /** What `append` returns, reused. */
  private readonly cursor: { -readonly [K in keyof SlotRef]: SlotRef[K] };
  /** The chunk accessed last, if resident: consecutive accesses nearly always share one. */
  private lastChunk = Number.NaN; // NaN equals no chunk number
  private lastRef: SlotRef | undefined;
  /** One past the highest slot written. */
  count = 0;

  constructor(
    readonly slotSize: number,
    options: SlotArenaOptions = {},
  ) {
    if (slotSize % 4 !== 0) throw new RangeError(`slot size ${slotSize} is not a whole number of u32 words`);
    this.chunkSlots = 2 ** (options.chunkBits ?? 14);
    this.chunkBytes = slotSize * this.chunkSlots;
    this.hotChunks = Math.max(1, options.hotChunks ?? 2);
    this.fd = options.file === undefined ? undefined : openScratch(options.file);
    this.scratch = refOver(Buffer.from(new ArrayBuffer(slotSize)), 0);
    this.cursor = { ...this.scratch };
  }

  /** The slot's bytes (zeros if never written); for a spilled slot, a copy valid until the next access. */
  read(slot: number): SlotRef {
    const c = Math.floor(slot / this.chunkSlots);
    const chunk = this.residentChunk(c);
    if (chunk) return refOver(chunk.bytes, this.offsetInChunk(slot), chunk);
    this.scratch.bytes.fill(0);
    if (this.spilled.has(c)) readSync(this.fd!, this.scratch.bytes, 0, this.slotSize, this.position(slot));
    return this.scratch;
  }

  /** Lets `fill` change the slot in place (it sees the current bytes), then keeps the change. */
  write(slot: number, fill: (ref: SlotRef) => void): void {
    const c = Math.floor(slot / this.chunkSlots);
    if (slot >= this.count) this.count = slot + 1;
    const chunk = this.residentChunk(c) ?? (this.isCold(c) ? undefined : this.allocate(c));
    if (chunk) {
      fill(refOver(chunk.bytes, this.offsetInChunk(slot), chunk));
      if (this.spilling.size > 0) this.markDirty(c);
      return;
    }
    const ref = this.read(slot);
    fill(ref);
    writeSync(this.fd!, ref.bytes, 0, this.slotSize, this.position(slot));
    this.spilled.add(c);
  }

  /**
   * The next slot (`count`, which this advances), in memory, for writing in place: the ledger's
   * hot path, without a callback. The ref is reused by the next call.
   */
  append(): SlotRef {
    const slot = this.count++;
    const c = Math.floor(slot / this.chunkSlots);
    const chunk = this.residentChunk(c) ?? (this.isCold(c) ? this.reload(c) : this.allocate(c));
    if (this.spilling.size > 0) this.markDirty(c);
    const cursor = this.cursor;
    cursor.bytes = chunk.bytes;
    cursor.view = chunk.view;
    cursor.words = chunk.words;
    cursor.at = this.offsetInChunk(slot);
    return cursor;
  }

  /** Forgets slots from `count` up (their bytes become zeros), e.g. a rolled-back append. */
  truncate(count: number): void {
    for (let slot = count; slot < this.count; slot++)
      this.write(slot, (r) => r.bytes.fill(0, r.at, r.at + this.slotSize));
    this.count = count;
  }

  /** How many chunks are in memory (the rest, if any, are in the scratch file). */
  get residentChunks(): number {
    return this.resident.size;
  }

  /** Settles once the chunks being written to the scratch file are written (or failed). */
  async settled(): Promise<void> {
    await Promise.all(this.writes);
  }

  /** Closes the scratch file once the chunks being written to it are written. */
  async close(): Promise<void> {
    await this.settled();
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private markDirty(c: number): void {
    const spilling = this.spilling.get(c);
    if (spilling) spilling.dirty = true;
  }

  /** Brings a cold chunk back into memory (an append after a truncation reached into it). */
  private reload(c: number): SlotRef {
    const chunk = refOver(Buffer.alloc(this.chunkBytes), 0);
    if (this.spilled.has(c)) readSync(this.fd!, chunk.bytes, 0, this.chunkBytes, c * this.chunkBytes);
    this.spilled.delete(c);
    this.resident.set(c, chunk);
    return chunk;
  }

  private residentChunk(c: number): SlotRef | undefined {
    if (c === this.lastChunk) return this.lastRef;
    const chunk = this.resident.get(c);
    if (chunk) {
      this.lastChunk = c;
      this.lastRef = chunk;
    }
    return chunk;
  }

  /** A chunk not in memory whose slots belong in the file: spilled, or below the hot ones. */
  private isCold(c: number): boolean {
    return this.fd !== undefined && (this.spilled.has(c) || c <= this.newest - this.hotChunks);
  }

  private allocate(c: number): SlotRef {
    const chunk = refOver(Buffer.alloc(this.chunkBytes), 0);
    this.resident.set(c, chunk);
    if (c > this.newest) {
      this.newest = c;
      if (this.fd !== undefined) this.spillCold();
    }
    return chunk;
  }

  /**
   * Writes the resident chunks below the hot ones to the scratch file, in the thread pool (a file
   * growing by whole chunks took ~7 ms a chunk on this machine's disk, a stop of the process when
   * synchronous), and drops each once it is written. Until then it is read and written in memory;
   * one written to meanwhile, or that the file could not take (disk full), stays in memory and is
   * tried again with the next new chunk: it costs memory, never a record.
   */
  private spillCold(): void {
    for (const [c, { bytes }] of this.resident) {
      if (c > this.newest - this.hotChunks || this.spilling.has(c)) continue;
      const state = { dirty: false };
      this.spilling.set(c, state);
      const done: Promise<void> = new Promise((resolve) =>
        write(this.fd!, bytes, 0, bytes.length, c * this.chunkBytes, (error, written) => {
          this.spilling.delete(c);
          this.writes.delete(done);
          if (!error && written === bytes.length && !state.dirty) {
            this.spilled.add(c);
            this.resident.delete(c);
            if (this.lastChunk === c) {
              this.lastChunk = Number.NaN;
              this.lastRef = undefined;
            }
          }
          resolve();
        }),
      );
      this.writes.add(done);
    }
  }

  private offsetInChunk(slot: number): number {
    return (slot % this.chunkSlots) * this.slotSize;
  }

  private position(slot: number): number {
    return slot * this.slotSize;
  }
}

/** Opens a new, empty file at `file` and removes its name: it lives as long as the descriptor. */
export function openScratch(file: string): number {
  rmSync(file, { force: true });
  const fd = openSync(file, "wx+", PRIVATE_FILE);
  unlinkSync(file);
  return fd;
}

/** A ref at `at` of `bytes`, sharing the views of `chunk` (the ref at 0 of the same bytes) if given. */
function refOver(bytes: Buffer, at: number, chunk?: SlotRef): SlotRef {
  return {
    bytes,
    at,
    view: chunk?.view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.length),
    words: chunk?.words ?? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2),
  };
}
