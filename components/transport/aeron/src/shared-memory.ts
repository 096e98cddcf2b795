import { createRequire } from "node:module";
import { AeronError } from "./errors.ts";

/**
 * A view of a region of a memory-mapped file. Plain reads and writes go through a DataView
 * (little-endian, as the driver writes); the ones that order memory between processes go through
 * Atomics on typed arrays over the same SharedArrayBuffer, which the native addon maps.
 */
interface ShmAddon {
  map(path: string, writable: boolean): SharedArrayBuffer;
}

let addon: ShmAddon | undefined;
function shm(): ShmAddon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)("../native/build/Release/bourse_shm.node") as ShmAddon;
    } catch (e) {
      throw new AeronError(
        "NATIVE_ADDON",
        `the Aeron shared-memory addon is not built (npm run build:native): ${(e as Error).message}`,
      );
    }
  }
  return addon;
}

/** Maps a whole file read-write into a SharedArrayBuffer; unmapped when garbage collected. */
export function mapFile(path: string): SharedArrayBuffer {
  return shm().map(path, true);
}

export class AtomicBuffer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;

  /** `offset` must be 8-byte aligned: the atomics index whole words. */
  constructor(
    readonly memory: SharedArrayBuffer,
    readonly offset: number,
    readonly length: number,
  ) {
    if (offset % 8 !== 0) throw new RangeError(`buffer offset ${offset} is not 8-byte aligned`);
    this.bytes = new Uint8Array(memory, offset, length);
    this.view = new DataView(memory, offset, length);
    this.i32 = new Int32Array(memory, offset, length >>> 2);
    this.i64 = new BigInt64Array(memory, offset, length >>> 3);
  }

  slice(offset: number, length: number): AtomicBuffer {
    return new AtomicBuffer(this.memory, this.offset + offset, length);
  }

  getInt32(at: number): number {
    return this.view.getInt32(at, true);
  }
  putInt32(at: number, value: number): void {
    this.view.setInt32(at, value, true);
  }
  getInt64(at: number): bigint {
    return this.view.getBigInt64(at, true);
  }
  putInt64(at: number, value: bigint): void {
    this.view.setBigInt64(at, value, true);
  }
  getUint8(at: number): number {
    return this.bytes[at]!;
  }

  getInt32Volatile(at: number): number {
    return Atomics.load(this.i32, at >>> 2);
  }
  putInt32Ordered(at: number, value: number): void {
    Atomics.store(this.i32, at >>> 2, value);
  }
  compareAndSetInt32(at: number, expected: number, update: number): boolean {
    return Atomics.compareExchange(this.i32, at >>> 2, expected, update) === expected;
  }
  getInt64Volatile(at: number): bigint {
    return Atomics.load(this.i64, at >>> 3);
  }
  /** For positions and timestamps, which stay far below 2^53. */
  getNumberVolatile(at: number): number {
    return Number(Atomics.load(this.i64, at >>> 3));
  }
  putInt64Ordered(at: number, value: bigint): void {
    Atomics.store(this.i64, at >>> 3, value);
  }
  compareAndSetInt64(at: number, expected: bigint, update: bigint): boolean {
    return Atomics.compareExchange(this.i64, at >>> 3, expected, update) === expected;
  }
  getAndAddInt64(at: number, delta: bigint): bigint {
    return Atomics.add(this.i64, at >>> 3, delta);
  }

  /** Aeron strings: an int32 length, then ASCII bytes. */
  getStringAscii(at: number): string {
    const length = this.getInt32(at);
    return Buffer.from(this.memory, this.offset + at + 4, length).toString("latin1");
  }
}
