import { AeronError } from "./errors.ts";
import { align, Ring } from "./layout.ts";
import type { AtomicBuffer } from "./shared-memory.ts";

/**
 * The producer side of the driver's many-to-one ring buffer: every client process claims space by
 * a compare-and-set on the tail, writes its record with a negative length (in progress), and
 * publishes it by storing the positive length. A claim that would cross the end of the buffer
 * first pads to the end so that a record is never split.
 */
export class CommandRing {
  private readonly capacity: number;

  constructor(private readonly buffer: AtomicBuffer) {
    this.capacity = buffer.length - Ring.TRAILER_LENGTH;
    if (this.capacity <= 0 || (this.capacity & (this.capacity - 1)) !== 0) {
      throw new AeronError("NO_DRIVER", `to-driver buffer capacity ${this.capacity} is not a power of two`);
    }
  }

  /** A cluster-wide unique id from the driver's shared counter. */
  nextCorrelationId(): bigint {
    return this.buffer.getAndAddInt64(this.capacity + Ring.CORRELATION_COUNTER_OFFSET, 1n);
  }

  /** Epoch milliseconds at which the driver last consumed this buffer (its heartbeat). */
  consumerHeartbeatMs(): number {
    return this.buffer.getNumberVolatile(this.capacity + Ring.CONSUMER_HEARTBEAT_OFFSET);
  }

  write(typeId: number, payload: Uint8Array): void {
    const recordLength = payload.length + Ring.RECORD_HEADER_LENGTH;
    if (recordLength > this.capacity / 8) {
      throw new AeronError("MESSAGE_TOO_LONG", `command of ${payload.length} bytes is too long`);
    }
    const at = this.claim(align(recordLength, Ring.RECORD_ALIGNMENT));
    this.buffer.putInt64Ordered(at, header(-recordLength, typeId));
    this.buffer.bytes.set(payload, at + Ring.RECORD_HEADER_LENGTH);
    this.buffer.putInt32Ordered(at, recordLength);
  }

  private claim(required: number): number {
    const tailAt = this.capacity + Ring.TAIL_OFFSET;
    for (;;) {
      const cachedHead = this.buffer.getInt64Volatile(this.capacity + Ring.HEAD_CACHE_OFFSET);
      const tail = this.buffer.getInt64Volatile(tailAt);
      const head = this.headWithRoom(required, (h) => this.capacity - Number(tail - h), cachedHead);
      const tailIndex = Number(tail % BigInt(this.capacity));
      const toEnd = this.capacity - tailIndex;
      // A record that does not fit before the end goes to the start, which must have room before the head.
      const padding = required > toEnd ? toEnd : 0;
      if (padding > 0) this.headWithRoom(required, (h) => Number(h % BigInt(this.capacity)), head);
      if (this.buffer.compareAndSetInt64(tailAt, tail, tail + BigInt(required + padding))) {
        if (padding === 0) return tailIndex;
        this.buffer.putInt64Ordered(tailIndex, header(padding, Ring.PADDING_TYPE));
        return 0;
      }
    }
  }

  /**
   * The head (`cached`, else the driver's, then cached) with which `room(head)` is at least
   * `required`; throws when even the driver's head leaves too little.
   */
  private headWithRoom(required: number, room: (head: bigint) => number, cached: bigint): bigint {
    if (required <= room(cached)) return cached;
    const head = this.buffer.getInt64Volatile(this.capacity + Ring.HEAD_OFFSET);
    if (required > room(head)) throw full();
    this.buffer.putInt64Ordered(this.capacity + Ring.HEAD_CACHE_OFFSET, head);
    return head;
  }
}

function header(length: number, typeId: number): bigint {
  return BigInt.asIntN(64, (BigInt(typeId) << 32n) | (BigInt(length) & 0xffffffffn));
}

function full(): AeronError {
  return new AeronError("COMMAND_BUFFER_FULL", "the media driver's command buffer is full: is it running?");
}
