import {
  type AcceptedEvent,
  type AmendedEvent,
  type BookLevelEvent,
  type CancelledEvent,
  EventType,
  type ExpiredEvent,
  type MatchingEvent,
  type RejectedEvent,
  type TradeEvent,
  type TriggeredEvent,
} from "./protocol.ts";

/**
 * The engine's binary event buffer: fixed-size records of EVENT_STRIDE float64 slots, written in
 * place with no allocation per event. Slot 0 is the type, slot 1 the sequence number; the rest
 * depend on the type (see the offsets in `decodeEvent`). Every value is a safe integer, so the
 * bytes of the buffer are the canonical, byte-for-byte comparable form of the event stream.
 */
export const EVENT_STRIDE = 12;

export class EventBuffer {
  data: Float64Array;
  /** Number of events currently held. */
  count = 0;

  constructor(initialEvents = 1024) {
    this.data = new Float64Array(initialEvents * EVENT_STRIDE);
  }

  /** Returns the slot offset of a fresh record, growing the buffer when full (amortised). */
  /** Slot offset of a fresh, zeroed record. */
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

function decodeEvent(d: Float64Array, o: number): MatchingEvent {
  const type = d[o] as EventType;
  const seq = d[o + 1]!;
  switch (type) {
    case EventType.Accepted:
      return {
        type,
        seq,
        orderId: d[o + 2]!,
        userId: d[o + 3]!,
        side: d[o + 4]!,
        orderType: d[o + 5]!,
        tif: d[o + 6]!,
        priceTicks: d[o + 7]!,
        qtyLots: d[o + 8]!,
        quoteUnits: d[o + 9]!,
        ...(d[o + 10] ? { stopPriceTicks: d[o + 10]! } : {}),
      } satisfies AcceptedEvent;
    case EventType.Trade:
      return {
        type,
        seq,
        tradeId: d[o + 2]!,
        takerOrderId: d[o + 3]!,
        takerUserId: d[o + 4]!,
        makerOrderId: d[o + 5]!,
        makerUserId: d[o + 6]!,
        takerSide: d[o + 7]!,
        priceTicks: d[o + 8]!,
        qtyLots: d[o + 9]!,
        takerRemainingLots: d[o + 10]!,
        makerRemainingLots: d[o + 11]!,
      } satisfies TradeEvent;
    case EventType.Cancelled:
      return {
        type,
        seq,
        orderId: d[o + 2]!,
        userId: d[o + 3]!,
        remainingLots: d[o + 4]!,
        reason: d[o + 5]!,
      } satisfies CancelledEvent;
    case EventType.Expired:
      return {
        type,
        seq,
        orderId: d[o + 2]!,
        userId: d[o + 3]!,
        remainingLots: d[o + 4]!,
        remainingQuoteUnits: d[o + 5]!,
        reason: d[o + 6]!,
      } satisfies ExpiredEvent;
    case EventType.Rejected:
      return { type, seq, orderId: d[o + 2]!, userId: d[o + 3]!, reason: d[o + 4]! } satisfies RejectedEvent;
    case EventType.Amended:
      return {
        type,
        seq,
        orderId: d[o + 2]!,
        userId: d[o + 3]!,
        priceTicks: d[o + 4]!,
        qtyLots: d[o + 5]!,
        keptPriority: d[o + 6] === 1,
      } satisfies AmendedEvent;
    case EventType.Triggered:
      return { type, seq, orderId: d[o + 2]!, userId: d[o + 3]! } satisfies TriggeredEvent;
    case EventType.BookLevel:
      return {
        type,
        seq,
        side: d[o + 2]!,
        priceTicks: d[o + 3]!,
        totalLots: d[o + 4]!,
      } satisfies BookLevelEvent;
    default:
      throw new Error(`unknown event type ${type} at slot ${o}`);
  }
}
