import { randomInt } from "node:crypto";
import { ChannelHandlers } from "../../src/channel-handlers.ts";
import type { Channel, Transport, TransportServer } from "../../src/port.ts";
import type { AeronClient } from "./client.ts";
import { AeronError } from "./errors.ts";
import { Offer } from "./layout.ts";
import type { Publication } from "./publication.ts";
import type { Image, Subscription } from "./subscription.ts";

/**
 * The transport port over Aeron (IPC on one host; UDP between hosts, each process through its own
 * media driver). Aeron streams are one-way and connectionless, so a channel is a pair of them: a
 * server subscribes to its stream (the address) on `channel`; a client subscribes to a reply
 * stream of its own on `replyChannel`, publishes HELLO(reply stream, reply channel) to the
 * server's stream, and the server answers WELCOME on a publication to that reply stream and
 * channel (for UDP, the client's own endpoint). Every message carries a one-byte kind,
 * written in front of the payload without a copy. A peer that dies without saying BYE is noticed
 * when the driver withdraws its image (after the driver's client liveness timeout). A message
 * longer than the stream's maximum goes as PART chunks closed by a DATA chunk.
 */
const Kind = { DATA: 0, HELLO: 1, WELCOME: 2, BYE: 3, PART: 4 } as const;
const KIND_PREFIX = [0, 1, 2, 3, 4].map((k) => new Uint8Array([k]));
/** The longest message a channel takes, as over TCP. */
const MAX_MESSAGE = 64 * 1024 * 1024;

export interface AeronTransportOptions {
  /**
   * Where servers subscribe and clients publish: `aeron:ipc` (the default), or for UDP the
   * server's endpoint (`aeron:udp?endpoint=0.0.0.0:7200` to listen, `...=ubscore-0.ubscore:7200`
   * to connect).
   */
  channel?: string;
  /** Where a client takes its replies (its own UDP endpoint); `channel` when not given. */
  replyChannel?: string;
  /** How long connect() waits for a listener to answer. */
  connectTimeoutMs?: number;
}

export function aeronTransport(client: AeronClient, options: AeronTransportOptions = {}): Transport {
  const channel = options.channel ?? "aeron:ipc";
  const replyChannel = options.replyChannel ?? channel;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  return {
    async listen(address, onChannel) {
      // Stream 0 means "any free one", as port 0 does for TCP.
      const streamId = address === "0" ? randomInt(1, 0x4000_0000) : parseStream(address);
      const subscription = await client.addSubscription(channel, streamId);
      const channels = new Map<number, AeronChannel>(); // by the client's session id
      const poller = new Poller(subscription, (message, image) => {
        const peer = channels.get(image.sessionId);
        if (peer) return peer.receive(message);
        if (message[0] !== Kind.HELLO || message.length < 5) return; // not a client of ours
        const hello = Buffer.from(message.buffer, message.byteOffset, message.length);
        const replyStream = hello.readInt32LE(1);
        const replyTo = hello.toString("latin1", 5);
        if (!replyTo.startsWith("aeron:")) return;
        const pending = new AeronChannel(poller);
        channels.set(image.sessionId, pending);
        pending.onClose(() => channels.delete(image.sessionId));
        void client.addPublication(replyTo, replyStream, true).then(
          (publication) => {
            pending.attach(publication);
            pending.sendKind(Kind.WELCOME, new Uint8Array(0));
            onChannel(pending);
          },
          (error: Error) => pending.finish(error),
        );
      });
      subscription.onUnavailableImage((image) => channels.get(image.sessionId)?.finish(lost()));
      return {
        address: String(streamId),
        close: async () => {
          for (const c of [...channels.values()]) c.close();
          poller.stop();
          await subscription.close();
        },
      } satisfies TransportServer;
    },

    async connect(address) {
      const streamId = parseStream(address);
      const replyStream = randomInt(0x4000_0000, 0x7fff_ffff);
      const replies = await client.addSubscription(replyChannel, replyStream);
      const publication = await client.addPublication(channel, streamId, true).catch(async (e: Error) => {
        await replies.close();
        throw e;
      });
      const hello = Buffer.alloc(4 + replyChannel.length);
      hello.writeInt32LE(replyStream);
      hello.write(replyChannel, 4, "latin1");
      const peer = new AeronChannel(undefined, replies);
      peer.attach(publication);
      try {
        await waitFor(
          () => publication.isConnected,
          connectTimeoutMs,
          `nothing listens on Aeron stream ${streamId}`,
        );
        const welcomed = new Promise<void>((resolve, reject) => {
          peer.onWelcome = resolve;
          setTimeout(
            () => reject(new AeronError("NOT_CONNECTED", `no answer from Aeron stream ${streamId}`)),
            connectTimeoutMs,
          ).unref();
        });
        peer.sendKind(Kind.HELLO, hello);
        await welcomed;
      } catch (error) {
        peer.finish(error as Error);
        throw error;
      }
      replies.onUnavailableImage(() => peer.finish(lost()));
      return peer;
    },
  };
}

class AeronChannel implements Channel {
  onWelcome: (() => void) | undefined;
  private publication: Publication | undefined;
  private readonly backlog: { kind: number; message: Uint8Array }[] = [];
  private readonly handlers = new ChannelHandlers();
  private readonly parts: Uint8Array[] = [];
  private partBytes = 0;
  private readonly poller: Poller;

  /** A server-side channel shares the server's poller; a client polls its own reply stream. */
  constructor(
    shared: Poller | undefined,
    private readonly replies?: Subscription,
  ) {
    this.poller = shared ?? new Poller(replies!, (m) => this.receive(m));
  }

  attach(publication: Publication): void {
    this.publication = publication;
  }

  send(message: Uint8Array): void {
    const max = (this.publication?.maxMessageLength ?? 1) - 1;
    let at = 0;
    for (; message.length - at > max; at += max) this.sendKind(Kind.PART, message.subarray(at, at + max));
    this.sendKind(Kind.DATA, at === 0 ? message : message.subarray(at));
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.handlers.onMessage(handler);
  }

  onClose(handler: (error?: Error) => void): void {
    this.handlers.onClose(handler);
  }

  close(): void {
    if (this.handlers.closed) return;
    this.sendKind(Kind.BYE, new Uint8Array(0));
    this.finish();
  }

  sendKind(kind: number, message: Uint8Array): void {
    if (this.handlers.closed || !this.publication) return;
    // Order is kept: once anything waits, everything after it waits behind it.
    if (this.backlog.length > 0 || !this.tryOffer(kind, message)) {
      // The caller may reuse its buffer once send() returns.
      this.backlog.push({ kind, message: message.slice() });
      this.poller.wake(() => this.drain());
    }
  }

  receive(message: Uint8Array): void {
    switch (message[0]) {
      case Kind.PART:
        if (this.tooLong(message)) return;
        this.parts.push(message.slice(1)); // the view into shared memory is only valid now
        break;
      case Kind.DATA: {
        if (this.tooLong(message)) return;
        const last = message.subarray(1);
        const payload =
          this.parts.length === 0 ? last.slice() : Buffer.concat([...this.parts.splice(0), last]);
        this.partBytes = 0;
        this.handlers.deliver(payload);
        break;
      }
      case Kind.WELCOME:
        this.onWelcome?.();
        break;
      case Kind.BYE:
        this.finish();
        break;
    }
  }

  /**
   * Bounded like a TCP frame: a peer cannot make us hold more than one message's worth. Counts
   * `chunk` into the message being reassembled; true (and the channel closed) past the limit.
   */
  private tooLong(chunk: Uint8Array): boolean {
    this.partBytes += chunk.length - 1;
    if (this.partBytes <= MAX_MESSAGE) return false;
    this.sendKind(Kind.BYE, new Uint8Array(0));
    this.finish(new AeronError("MESSAGE_TOO_LONG", `a message above ${MAX_MESSAGE} bytes`));
    return true;
  }

  finish(error?: Error): void {
    if (!this.handlers.finish(error)) return;
    const publication = this.publication;
    // BYE may still wait in the backlog: give it a moment before the publication goes.
    const release = () => {
      void publication?.close().catch(() => {});
      if (this.replies) {
        this.poller.stop();
        void this.replies?.close().catch(() => {});
      }
    };
    if (this.backlog.length > 0) setTimeout(release, 50);
    else release();
  }

  /** Offers what waits; true when nothing is left. */
  private drain(): boolean {
    while (this.backlog.length > 0) {
      const { kind, message } = this.backlog[0]!;
      if (!this.tryOffer(kind, message)) return false;
      this.backlog.shift();
    }
    return true;
  }

  private tryOffer(kind: number, message: Uint8Array): boolean {
    for (;;) {
      const result = this.publication!.offer(message, KIND_PREFIX[kind]);
      if (result >= 0) return true;
      if (result === Offer.ADMIN_ACTION) continue; // the term rotated: go again at once
      if (result === Offer.CLOSED || result === Offer.MAX_POSITION_EXCEEDED) {
        this.finish(new AeronError("CLOSED", `the Aeron publication cannot take more (${result})`));
        return true;
      }
      return false; // back pressure or a subscriber not there yet: retry from the poller
    }
  }
}

/**
 * Runs the receive side off the event loop: polls while there is work, then backs off
 * (immediate turns, then 1 ms sleeps) so an idle process does not burn a core. Pending sends
 * that hit back pressure are retried from the same loop.
 */
class Poller {
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private idle = 0;
  private stopped = false;
  private readonly retries = new Set<() => boolean>();

  constructor(
    private readonly subscription: Subscription,
    private readonly handler: (message: Uint8Array, image: Image) => void,
  ) {
    this.schedule();
  }

  wake(retry: () => boolean): void {
    this.retries.add(retry);
    this.idle = 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
  }

  private run = (): void => {
    if (this.stopped) return;
    let work = this.subscription.poll(this.handler, 256);
    for (const retry of this.retries) {
      if (retry()) {
        this.retries.delete(retry);
        work++;
      }
    }
    this.idle = work > 0 ? 0 : this.idle + 1;
    this.schedule();
  };

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.idle < 1_000 ? setImmediate(this.run) : setTimeout(this.run, 1);
  }
}

function parseStream(address: string): number {
  const streamId = Number(address);
  if (!Number.isInteger(streamId) || streamId < 1 || streamId > 0x3fff_ffff) {
    throw new Error(`an Aeron transport address is a stream id from 1 to ${0x3fff_ffff}, got ${address}`);
  }
  return streamId;
}

function lost(): AeronError {
  return new AeronError("NOT_CONNECTED", "the peer's Aeron stream went away");
}

async function waitFor(ready: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new AeronError("NOT_CONNECTED", failure);
    await new Promise((r) => setTimeout(r, 5));
  }
}
