import { AeronError } from "./errors.ts";
import { align, Frame, Log, Offer } from "./layout.ts";
import { type LogBuffers, packTail, tailTermId, tailTermOffset } from "./log-buffers.ts";
import type { AtomicBuffer } from "./shared-memory.ts";

/**
 * Appends messages to a publication's log. A message longer than one frame's payload is split
 * into fragments (begin flag on the first, end flag on the last) that a subscriber's assembler
 * joins again. The driver moves the publisher limit as subscribers consume: an offer at or past
 * it is back pressure, never a drop.
 *
 * An exclusive publication has one writer, so it keeps the tail in local state; a shared one
 * claims space with an atomic add on the tail, because other clients (in other processes) may
 * append to the same log.
 */
export class Publication {
  readonly maxPayloadLength: number;
  readonly maxMessageLength: number;
  private readonly maxPossiblePosition: number;
  private cachedLimit = 0;
  private closed = false;
  // Exclusive publications only: where this writer is.
  private partition = 0;
  private termId = 0;
  private termOffset = 0;
  private termBeginPosition = 0;

  constructor(
    readonly registrationId: bigint,
    readonly channel: string,
    readonly streamId: number,
    readonly sessionId: number,
    readonly exclusive: boolean,
    private readonly log: LogBuffers,
    private readonly counters: AtomicBuffer,
    private readonly limitCounterOffset: number,
    private readonly onClose: (publication: Publication) => Promise<void>,
  ) {
    this.maxPayloadLength = log.mtu - Frame.HEADER_LENGTH;
    this.maxMessageLength = Math.min(log.termLength >>> 3, Frame.MAX_MESSAGE_LENGTH);
    this.maxPossiblePosition = log.termLength * 2 ** 31;
    if (exclusive) {
      this.partition = log.activeTermCount() % Log.PARTITIONS;
      const rawTail = log.metadata.getInt64Volatile(log.tailOffset(this.partition));
      this.termId = tailTermId(rawTail);
      this.termOffset = tailTermOffset(rawTail, log.termLength);
      this.termBeginPosition = log.position(this.termId, 0);
    }
  }

  /** True while at least one subscriber consumes the stream. */
  get isConnected(): boolean {
    return !this.closed && this.log.isConnected;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Appends `message` (after `prefix`, when given, as one message without a copy); returns the
   * new stream position, or a negative Offer code: NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION
   * (the term rotated: retry), CLOSED, MAX_POSITION_EXCEEDED.
   */
  offer(message: Uint8Array, prefix?: Uint8Array): number {
    if (this.closed) return Offer.CLOSED;
    const length = message.length + (prefix?.length ?? 0);
    if (length > this.maxMessageLength) {
      throw new AeronError(
        "MESSAGE_TOO_LONG",
        `message of ${length} bytes exceeds the maximum of ${this.maxMessageLength} for this stream`,
      );
    }
    const framed =
      length <= this.maxPayloadLength
        ? align(length + Frame.HEADER_LENGTH, Frame.ALIGNMENT)
        : this.fragmentedLength(length);
    return this.exclusive
      ? this.offerExclusive(message, prefix, length, framed)
      : this.offerShared(message, prefix, length, framed);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.onClose(this);
  }

  /** Marks the publication closed without telling the driver (the client is gone). */
  abandon(): void {
    this.closed = true;
  }

  private limit(position: number): number {
    if (position >= this.cachedLimit)
      this.cachedLimit = this.counters.getNumberVolatile(this.limitCounterOffset);
    return this.cachedLimit;
  }

  private offerExclusive(
    message: Uint8Array,
    prefix: Uint8Array | undefined,
    length: number,
    framed: number,
  ): number {
    const position = this.termBeginPosition + this.termOffset;
    if (position >= this.limit(position)) return this.backPressure(position, length);
    const term = this.log.terms[this.partition]!;
    const tailAt = this.log.tailOffset(this.partition);
    const resultingOffset = this.termOffset + framed;
    // Only the low word (the offset) changes within a term; the term id above it stays put.
    this.log.metadata.putInt32Ordered(tailAt, Math.min(resultingOffset, 0x7fffffff));
    if (resultingOffset > this.log.termLength) {
      this.padToEnd(term, this.termOffset, this.termId);
      if (this.termBeginPosition + this.log.termLength >= this.maxPossiblePosition)
        return Offer.MAX_POSITION_EXCEEDED;
      this.rotateExclusive();
      return Offer.ADMIN_ACTION;
    }
    this.writeFrames(term, this.termOffset, this.termId, message, prefix, length);
    this.termOffset = resultingOffset;
    return this.termBeginPosition + resultingOffset;
  }

  private rotateExclusive(): void {
    const next = (this.partition + 1) % Log.PARTITIONS;
    this.partition = next;
    this.termOffset = 0;
    this.termId = (this.termId + 1) | 0;
    this.termBeginPosition += this.log.termLength;
    this.log.metadata.putInt64Ordered(this.log.tailOffset(next), packTail(this.termId, 0));
    this.log.metadata.putInt32Ordered(
      Log.ACTIVE_TERM_COUNT_OFFSET,
      (this.termId - this.log.initialTermId) | 0,
    );
  }

  private offerShared(
    message: Uint8Array,
    prefix: Uint8Array | undefined,
    length: number,
    framed: number,
  ): number {
    const log = this.log;
    const termCount = log.activeTermCount();
    const partition = termCount % Log.PARTITIONS;
    const tailAt = log.tailOffset(partition);
    const rawTail = log.metadata.getInt64Volatile(tailAt);
    const termId = tailTermId(rawTail);
    if (termCount !== ((termId - log.initialTermId) | 0)) return Offer.ADMIN_ACTION; // mid-rotation
    const position = log.position(termId, tailTermOffset(rawTail, log.termLength));
    if (position >= this.limit(position)) return this.backPressure(position, length);

    const claimed = log.metadata.getAndAddInt64(tailAt, BigInt(framed));
    const claimedTermId = tailTermId(claimed);
    const termOffset = tailTermOffset(claimed, log.termLength);
    const resultingOffset = termOffset + framed;
    const term = log.terms[partition]!;
    if (resultingOffset > log.termLength) {
      if (termOffset < log.termLength) this.padToEnd(term, termOffset, claimedTermId);
      if (log.position(claimedTermId, resultingOffset) >= this.maxPossiblePosition)
        return Offer.MAX_POSITION_EXCEEDED;
      this.rotateShared(termCount, claimedTermId);
      return Offer.ADMIN_ACTION;
    }
    this.writeFrames(term, termOffset, claimedTermId, message, prefix, length);
    return log.position(claimedTermId, resultingOffset);
  }

  /** Moves every writer of a shared log to the next term; losing the race to another is fine. */
  private rotateShared(termCount: number, termId: number): void {
    const log = this.log;
    const nextTermId = (termId + 1) | 0;
    const nextAt = log.tailOffset((termCount + 1) % Log.PARTITIONS);
    const expectedTermId = (nextTermId - Log.PARTITIONS) | 0;
    for (;;) {
      const rawTail = log.metadata.getInt64Volatile(nextAt);
      if (tailTermId(rawTail) !== expectedTermId) break;
      if (log.metadata.compareAndSetInt64(nextAt, rawTail, packTail(nextTermId, 0))) break;
    }
    log.metadata.compareAndSetInt32(Log.ACTIVE_TERM_COUNT_OFFSET, termCount, (termCount + 1) | 0);
  }

  private backPressure(position: number, length: number): number {
    if (position + align(length + Frame.HEADER_LENGTH, Frame.ALIGNMENT) >= this.maxPossiblePosition) {
      return Offer.MAX_POSITION_EXCEEDED;
    }
    return this.log.isConnected ? Offer.BACK_PRESSURED : Offer.NOT_CONNECTED;
  }

  private fragmentedLength(length: number): number {
    const full = Math.floor(length / this.maxPayloadLength);
    const rest = length % this.maxPayloadLength;
    return (
      full * (this.maxPayloadLength + Frame.HEADER_LENGTH) +
      (rest > 0 ? align(rest + Frame.HEADER_LENGTH, Frame.ALIGNMENT) : 0)
    );
  }

  /** Writes the message as one frame or a run of fragments at `termOffset`. */
  private writeFrames(
    term: AtomicBuffer,
    termOffset: number,
    termId: number,
    message: Uint8Array,
    prefix: Uint8Array | undefined,
    length: number,
  ): void {
    const prefixLength = prefix?.length ?? 0;
    let frameOffset = termOffset;
    let written = 0;
    do {
      const chunk = Math.min(length - written, this.maxPayloadLength);
      const frameLength = chunk + Frame.HEADER_LENGTH;
      let flags = 0;
      if (written === 0) flags |= Frame.BEGIN;
      if (written + chunk === length) flags |= Frame.END;
      this.writeHeader(term, frameOffset, frameLength, termId, flags, Frame.TYPE_DATA);
      // The payload is prefix ++ message; copy the part of each that falls in this chunk.
      const dataAt = frameOffset + Frame.HEADER_LENGTH;
      const end = written + chunk;
      if (prefix && written < prefixLength) {
        term.bytes.set(prefix.subarray(written, Math.min(end, prefixLength)), dataAt);
      }
      if (end > prefixLength) {
        const from = Math.max(written, prefixLength);
        term.bytes.set(message.subarray(from - prefixLength, end - prefixLength), dataAt + (from - written));
      }
      term.putInt32Ordered(frameOffset, frameLength);
      frameOffset += align(frameLength, Frame.ALIGNMENT);
      written = end;
    } while (written < length);
  }

  private padToEnd(term: AtomicBuffer, termOffset: number, termId: number): void {
    const padding = this.log.termLength - termOffset;
    this.writeHeader(term, termOffset, padding, termId, Frame.UNFRAGMENTED, Frame.TYPE_PAD);
    term.putInt32Ordered(termOffset, padding);
  }

  /** A frame header whose negative length marks it as being written. */
  private writeHeader(
    term: AtomicBuffer,
    at: number,
    frameLength: number,
    termId: number,
    flags: number,
    type: number,
  ): void {
    term.putInt32Ordered(at, -frameLength);
    term.bytes.set(this.log.defaultHeader.subarray(4), at + 4);
    term.bytes[at + Frame.FLAGS_OFFSET] = flags;
    term.bytes[at + Frame.TYPE_OFFSET] = type;
    term.putInt32(at + Frame.TERM_OFFSET_OFFSET, at);
    term.putInt32(at + Frame.TERM_ID_OFFSET, termId);
  }
}
