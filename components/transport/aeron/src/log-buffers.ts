import { Frame, Log } from "./layout.ts";
import { AtomicBuffer, mapFile } from "./shared-memory.ts";

/**
 * A mapped publication log: three term buffers (the active one, the one before it being read,
 * the next one being cleaned by the driver) and the metadata page at the end of the file.
 */
export class LogBuffers {
  readonly terms: AtomicBuffer[];
  readonly metadata: AtomicBuffer;
  readonly termLength: number;
  readonly initialTermId: number;
  readonly mtu: number;
  /** The frame header the driver prepared for this stream (version, flags, type, session, stream). */
  readonly defaultHeader: Uint8Array;

  constructor(readonly path: string) {
    const memory = mapFile(path);
    this.metadata = new AtomicBuffer(memory, memory.byteLength - Log.METADATA_LENGTH, Log.METADATA_LENGTH);
    this.termLength = this.metadata.getInt32(Log.TERM_LENGTH_OFFSET);
    this.initialTermId = this.metadata.getInt32(Log.INITIAL_TERM_ID_OFFSET);
    this.mtu = this.metadata.getInt32(Log.MTU_OFFSET);
    this.terms = [];
    for (let i = 0; i < Log.PARTITIONS; i++) {
      this.terms.push(new AtomicBuffer(memory, i * this.termLength, this.termLength));
    }
    this.defaultHeader = this.metadata.bytes.slice(
      Log.DEFAULT_HEADER_OFFSET,
      Log.DEFAULT_HEADER_OFFSET + Frame.HEADER_LENGTH,
    );
  }

  get isConnected(): boolean {
    return this.metadata.getInt32Volatile(Log.IS_CONNECTED_OFFSET) === 1;
  }

  /** Where the stream ends, once the driver has closed the publication (until then, undefined). */
  endOfStreamPosition(): number | undefined {
    const eos = this.metadata.getNumberVolatile(Log.END_OF_STREAM_POSITION_OFFSET);
    return eos > Number.MAX_SAFE_INTEGER ? undefined : eos; // Long.MAX_VALUE: not set
  }

  activeTermCount(): number {
    return this.metadata.getInt32Volatile(Log.ACTIVE_TERM_COUNT_OFFSET);
  }

  tailOffset(partition: number): number {
    return Log.TAILS_OFFSET + partition * 8;
  }

  /** Stream position of `termOffset` in the term with id `termId`. */
  position(termId: number, termOffset: number): number {
    return ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
  }
}

/** Tail counters pack the term id (high 32 bits) and the offset the next writer claims (low). */
export function packTail(termId: number, termOffset: number): bigint {
  return BigInt.asIntN(64, (BigInt(termId) << 32n) | BigInt(termOffset));
}
export function tailTermId(rawTail: bigint): number {
  return Number(BigInt.asIntN(32, rawTail >> 32n));
}
export function tailTermOffset(rawTail: bigint, termLength: number): number {
  return Math.min(Number(rawTail & 0xffffffffn), termLength);
}
