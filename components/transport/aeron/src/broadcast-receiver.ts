import { AeronError } from "./errors.ts";
import { align, Broadcast } from "./layout.ts";
import { AtomicBuffer } from "./shared-memory.ts";

/**
 * Reads the driver's broadcast buffer. The driver never waits for readers: it announces the space
 * it is about to overwrite (tail intent) before writing. A record is copied out and then checked
 * against the intent; if the driver got there first, the copy may be torn and this reader has
 * been lapped, which is reported rather than hidden.
 */
export class BroadcastReceiver {
  private readonly capacity: number;
  private cursor: number;
  private nextRecord: number;

  constructor(private readonly buffer: AtomicBuffer) {
    this.capacity = buffer.length - Broadcast.TRAILER_LENGTH;
    this.cursor = this.nextRecord = buffer.getNumberVolatile(this.capacity + Broadcast.LATEST_OFFSET);
  }

  /** Hands each record received since the last call to `handler`; returns how many. */
  receive(handler: (typeId: number, message: AtomicBuffer) => void, limit = 16): number {
    let count = 0;
    while (count < limit) {
      const at = this.next();
      if (at < 0) break;
      const length = this.buffer.getInt32(at) - Broadcast.RECORD_HEADER_LENGTH;
      const typeId = this.buffer.getInt32(at + 4);
      const copy = new SharedArrayBuffer(align(Math.max(length, 8), 8));
      const start = at + Broadcast.RECORD_HEADER_LENGTH;
      new Uint8Array(copy).set(this.buffer.bytes.subarray(start, start + length));
      if (!this.stillValid(this.cursor)) {
        throw new AeronError("BROADCAST_LAPPED", "fell behind the media driver's broadcast buffer");
      }
      handler(typeId, new AtomicBuffer(copy, 0, copy.byteLength));
      count++;
    }
    return count;
  }

  /** Offset of the next record, or -1 when there is none. */
  private next(): number {
    const tail = this.buffer.getNumberVolatile(this.capacity + Broadcast.TAIL_OFFSET);
    let cursor = this.nextRecord;
    if (tail <= cursor) return -1;
    let at = cursor % this.capacity;
    if (!this.stillValid(cursor)) {
      throw new AeronError("BROADCAST_LAPPED", "fell behind the media driver's broadcast buffer");
    }
    this.cursor = cursor;
    this.nextRecord = cursor + align(this.buffer.getInt32(at), Broadcast.RECORD_ALIGNMENT);
    if (this.buffer.getInt32(at + 4) === Broadcast.PADDING_TYPE) {
      at = 0;
      cursor = this.nextRecord;
      this.cursor = cursor;
      this.nextRecord = cursor + align(this.buffer.getInt32(0), Broadcast.RECORD_ALIGNMENT);
    }
    return at;
  }

  private stillValid(cursor: number): boolean {
    return (
      cursor + this.capacity > this.buffer.getNumberVolatile(this.capacity + Broadcast.TAIL_INTENT_OFFSET)
    );
  }
}
