import { decodeEvent, EVENT_STRIDE } from "./event-layout.ts";
import type { MatchingEvent } from "./protocol.ts";

export { EVENT_STRIDE };

/**
 * The engine's binary event buffer: fixed-size records of EVENT_STRIDE float64 slots, written in
 * place with no allocation per event (the record's layout: event-layout.ts). Every value is a
 * safe integer, so the bytes of the buffer are the canonical, byte-for-byte comparable form of
 * the event stream.
 */
export class EventBuffer {
  data: Float64Array;
  /** Number of events currently held. */
  count = 0;

  constructor(initialEvents = 1024) {
    this.data = new Float64Array(initialEvents * EVENT_STRIDE);
  }

  /** Slot offset of a fresh, zeroed record, growing the buffer when full (amortised). */
  next(): number {
    const offset = this.count * EVENT_STRIDE;
    if (offset + EVENT_STRIDE > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.count++;
    return offset;
  }

  /** Empties the buffer; the used records are zeroed so unused slots of new records read 0. */
  clear(): void {
    this.data.fill(0, 0, this.count * EVENT_STRIDE);
    this.count = 0;
  }

  /** A copy of the held events' bytes: the canonical encoding for transport and comparison. */
  toBytes(): Uint8Array {
    return new Uint8Array(this.data.buffer.slice(0, this.count * EVENT_STRIDE * 8));
  }

  decode(): MatchingEvent[] {
    return decodeEvents(this.data, this.count);
  }
}

export function decodeEvents(data: Float64Array, count: number): MatchingEvent[] {
  const out: MatchingEvent[] = [];
  for (let i = 0; i < count; i++) out.push(decodeEvent(data, i * EVENT_STRIDE));
  return out;
}

export function decodeEventBytes(bytes: Uint8Array): MatchingEvent[] {
  // Copy: the bytes may be a view into a larger (pooled, unaligned) buffer, e.g. a Node Buffer.
  const aligned = new Float64Array(new Uint8Array(bytes).buffer);
  return decodeEvents(aligned, aligned.length / EVENT_STRIDE);
}
