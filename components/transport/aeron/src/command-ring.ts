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
    const headAt = this.capacity + Ring.HEAD_OFFSET;
    const headCacheAt = this.capacity + Ring.HEAD_CACHE_OFFSET;
    for (;;) {
      let head = this.buffer.getInt64Volatile(headCacheAt);
      const tail = this.buffer.getInt64Volatile(tailAt);
      if (required > this.capacity - Number(tail - head)) {
        head = this.buffer.getInt64Volatile(headAt);
        if (required > this.capacity - Number(tail - head)) throw full();
        this.buffer.putInt64Ordered(headCacheAt, head);
      }
      let padding = 0;
      const tailIndex = Number(tail % BigInt(this.capacity));
      const toEnd = this.capacity - tailIndex;
      if (required > toEnd) {
        // The record goes to the start of the buffer, which must have room before the head.
        let headIndex = Number(head % BigInt(this.capacity));
        if (required > headIndex) {
          head = this.buffer.getInt64Volatile(headAt);
          headIndex = Number(head % BigInt(this.capacity));
          if (required > headIndex) throw full();
          this.buffer.putInt64Ordered(headCacheAt, head);
        }
        padding = toEnd;
      }
      if (this.buffer.compareAndSetInt64(tailAt, tail, tail + BigInt(required + padding))) {
        if (padding === 0) return tailIndex;
        this.buffer.putInt64Ordered(tailIndex, header(padding, Ring.PADDING_TYPE));
        return 0;
      }
    }
  }
}

function header(length: number, typeId: number): bigint {
  return BigInt.asIntN(64, (BigInt(typeId) << 32n) | (BigInt(length) & 0xffffffffn));
}

function full(): AeronError {
  return new AeronError("COMMAND_BUFFER_FULL", "the media driver's command buffer is full: is it running?");
}
