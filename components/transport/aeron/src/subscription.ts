import { align, Frame, Log } from "./layout.ts";
import type { LogBuffers } from "./log-buffers.ts";
import type { AtomicBuffer } from "./shared-memory.ts";

/**
 * Called with each whole message. `message` is a view into shared memory that is only valid
 * during the call: copy it to keep it.
 */
export type MessageHandler = (message: Uint8Array, image: Image) => void;

/**
 * One publisher's stream as this subscriber sees it. Reading advances the subscriber position
 * counter, which the driver uses to move the publisher's limit: a slow reader back-pressures the
 * writer instead of losing messages.
 */
export class Image {
  private position: number;
  private closed = false;
  private assembly: Uint8Array = new Uint8Array(0);
  private assembled = -1; // bytes collected of a fragmented message, -1 when none is open

  constructor(
    readonly correlationId: bigint,
    readonly sessionId: number,
    readonly sourceIdentity: string,
    private readonly log: LogBuffers,
    private readonly counters: AtomicBuffer,
    private readonly positionCounterOffset: number,
  ) {
    this.position = counters.getNumberVolatile(positionCounterOffset);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * True when nothing more can ever be read: the publication is closed (the driver set its end of
   * stream) short of this image's position, and the frame here was claimed but never written. A
   * publisher SIGKILLed between claiming and committing a frame leaves that. The driver (1.51, in
   * the fault suite) then neither padded the hole nor withdrew the image for nine minutes, so a
   * subscriber that only waits for the image to go would wait forever.
   */
  get isStranded(): boolean {
    // A UDP image's holes are losses the driver is still repairing (it sets end of stream as the
    // publisher's last heartbeat arrives, and retransmits after): only an IPC hole is final.
    if (this.sourceIdentity !== "aeron:ipc") return false;
    const end = this.log.endOfStreamPosition();
    if (this.closed || end === undefined || this.position >= end) return false;
    const { termLength } = this.log;
    const term = this.log.terms[Math.floor(this.position / termLength) % Log.PARTITIONS]!;
    return term.getInt32Volatile(this.position % termLength) === 0;
  }

  close(): void {
    this.closed = true;
  }

  /** Reads up to `fragmentLimit` frames of the current term; returns how many fragments it read. */
  poll(handler: MessageHandler, fragmentLimit: number): number {
    if (this.closed) return 0;
    const { termLength } = this.log;
    const start = this.position;
    const termOffset = start % termLength;
    const term = this.log.terms[Math.floor(start / termLength) % Log.PARTITIONS]!;
    let offset = termOffset;
    let fragments = 0;
    while (fragments < fragmentLimit && offset < termLength) {
      const frameLength = term.getInt32Volatile(offset);
      if (frameLength <= 0) break;
      const frameAt = offset;
      offset += align(frameLength, Frame.ALIGNMENT);
      if (term.getUint8(frameAt + Frame.TYPE_OFFSET) === Frame.TYPE_PAD) continue;
      this.onFragment(term, frameAt, frameLength, handler);
      fragments++;
    }
    if (offset > termOffset) {
      this.position = start + (offset - termOffset);
      this.counters.putInt64Ordered(this.positionCounterOffset, BigInt(this.position));
    }
    return fragments;
  }

  private onFragment(
    term: AtomicBuffer,
    frameAt: number,
    frameLength: number,
    handler: MessageHandler,
  ): void {
    const flags = term.getUint8(frameAt + Frame.FLAGS_OFFSET);
    const data = term.bytes.subarray(frameAt + Frame.HEADER_LENGTH, frameAt + frameLength);
    if ((flags & Frame.UNFRAGMENTED) === Frame.UNFRAGMENTED) {
      handler(data, this);
      return;
    }
    if (flags & Frame.BEGIN) this.assembled = 0;
    else if (this.assembled < 0) return; // joined mid-message: skip to the next beginning
    this.append(data);
    if (flags & Frame.END) {
      const whole = this.assembly.subarray(0, this.assembled);
      this.assembled = -1;
      handler(whole, this);
    }
  }

  private append(data: Uint8Array): void {
    const needed = this.assembled + data.length;
    if (needed > this.assembly.length) {
      const grown = new Uint8Array(Math.max(needed, this.assembly.length * 2, 4096));
      grown.set(this.assembly.subarray(0, this.assembled));
      this.assembly = grown;
    }
    this.assembly.set(data, this.assembled);
    this.assembled = needed;
  }
}

/** The images of every publisher on one channel and stream. */
export class Subscription {
  private images: Image[] = [];
  private next = 0;
  private closed = false;
  private readonly imageListeners: {
    available: ((i: Image) => void)[];
    unavailable: ((i: Image) => void)[];
  } = {
    available: [],
    unavailable: [],
  };

  constructor(
    readonly registrationId: bigint,
    readonly channel: string,
    readonly streamId: number,
    private readonly onClose: (subscription: Subscription) => Promise<void>,
  ) {}

  get imageCount(): number {
    return this.images.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onAvailableImage(listener: (image: Image) => void): void {
    this.imageListeners.available.push(listener);
  }

  onUnavailableImage(listener: (image: Image) => void): void {
    this.imageListeners.unavailable.push(listener);
  }

  /** Polls the images in turn, starting with a different one each call for fairness. */
  poll(handler: MessageHandler, fragmentLimit = 64): number {
    const images = this.images;
    const count = images.length;
    if (count === 0) return 0;
    let fragments = 0;
    let i = this.next++ % count;
    for (let n = 0; n < count && fragments < fragmentLimit; n++) {
      const image = images[i]!;
      const read = image.poll(handler, fragmentLimit - fragments);
      if (read === 0 && image.isStranded) this.removeImage(image.correlationId);
      fragments += read;
      if (++i === count) i = 0;
    }
    return fragments;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.abandon();
    return this.onClose(this);
  }

  /** Marks the subscription closed without telling the driver; its images become unavailable. */
  abandon(): void {
    this.closed = true;
    const images = this.images;
    this.images = [];
    for (const image of images) {
      image.close();
      for (const l of this.imageListeners.unavailable) l(image);
    }
  }

  addImage(image: Image): void {
    if (this.closed) return;
    this.images = [...this.images, image];
    for (const l of this.imageListeners.available) l(image);
  }

  removeImage(correlationId: bigint): void {
    const image = this.images.find((i) => i.correlationId === correlationId);
    if (!image) return;
    this.images = this.images.filter((i) => i !== image);
    image.close();
    for (const l of this.imageListeners.unavailable) l(image);
  }
}
