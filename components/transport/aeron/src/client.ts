import { existsSync } from "node:fs";
import { join } from "node:path";
import { BroadcastReceiver } from "./broadcast-receiver.ts";
import { CommandRing } from "./command-ring.ts";
import { AeronError } from "./errors.ts";
import { Cnc, COUNTER_LENGTH, Command, Response } from "./layout.ts";
import { LogBuffers } from "./log-buffers.ts";
import { Publication } from "./publication.ts";
import { AtomicBuffer, mapFile } from "./shared-memory.ts";
import { Image, Subscription } from "./subscription.ts";

export interface AeronClientOptions {
  /** The media driver's directory (aeron.dir), e.g. /dev/shm/aeron-<user>. */
  dir: string;
  /** How long to wait for the driver's cnc.dat and to answer a command. */
  driverTimeoutMs?: number;
  /** How often to tell the driver this client is alive (well below its client liveness timeout). */
  keepaliveIntervalMs?: number;
  /** Errors that belong to no call: the driver timing out, a lapped broadcast buffer. */
  onError?: (error: AeronError) => void;
}

interface Pending {
  resolve: (response: { typeId: number; body: AtomicBuffer }) => void;
  reject: (error: AeronError) => void;
  deadline: number;
}

/**
 * A client of a running Aeron media driver, over shared memory only: commands go to the driver
 * through its ring buffer, answers and image events come back on its broadcast buffer, and data
 * moves through log buffers the driver creates and both ends map. The conductor (a timer) reads
 * the answers, keeps this client alive and watches the driver's heartbeat.
 */
export class AeronClient {
  readonly clientId: bigint;
  private readonly pending = new Map<bigint, Pending>();
  private readonly subscriptions = new Map<bigint, Subscription>();
  private readonly publications = new Set<Publication>();
  private readonly timer: NodeJS.Timeout;
  private lastKeepalive = Date.now();
  private failure: AeronError | undefined;

  private constructor(
    private readonly options: Required<Omit<AeronClientOptions, "onError">> &
      Pick<AeronClientOptions, "onError">,
    private readonly commands: CommandRing,
    private readonly responses: BroadcastReceiver,
    private readonly counters: AtomicBuffer,
  ) {
    this.clientId = commands.nextCorrelationId();
    this.timer = setInterval(() => this.doWork(), 1);
  }

  static async connect(options: AeronClientOptions): Promise<AeronClient> {
    const settings = { driverTimeoutMs: 10_000, keepaliveIntervalMs: 500, ...options };
    const cnc = await openCnc(settings.dir, settings.driverTimeoutMs);
    const at = (lengthOffset: number) => cnc.getInt32(lengthOffset);
    const toDriver = Cnc.HEADER_LENGTH;
    const toClients = toDriver + at(Cnc.TO_DRIVER_LENGTH_OFFSET);
    const countersMetadata = toClients + at(Cnc.TO_CLIENTS_LENGTH_OFFSET);
    const countersValues = countersMetadata + at(Cnc.COUNTERS_METADATA_LENGTH_OFFSET);
    const commands = new CommandRing(cnc.slice(toDriver, at(Cnc.TO_DRIVER_LENGTH_OFFSET)));
    const age = Date.now() - commands.consumerHeartbeatMs();
    if (age > settings.driverTimeoutMs) {
      throw new AeronError(
        "DRIVER_TIMEOUT",
        `the media driver in ${settings.dir} is not running (last heartbeat ${age} ms ago)`,
      );
    }
    return new AeronClient(
      settings,
      commands,
      new BroadcastReceiver(cnc.slice(toClients, at(Cnc.TO_CLIENTS_LENGTH_OFFSET))),
      cnc.slice(countersValues, at(Cnc.COUNTERS_VALUES_LENGTH_OFFSET)),
    );
  }

  get isClosed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * A publication on `channel`/`streamId`. Shared publications of the same stream (from any
   * client) append to one log; an exclusive one has a log of its own and a faster append.
   */
  async addPublication(channel: string, streamId: number, exclusive = false): Promise<Publication> {
    const correlationId = this.commands.nextCorrelationId();
    const body = new Encoder().long(this.clientId).long(correlationId).int(streamId).string(channel);
    const { body: ready } = await this.request(
      exclusive ? Command.ADD_EXCLUSIVE_PUBLICATION : Command.ADD_PUBLICATION,
      correlationId,
      body,
    );
    // correlation id, registration id, session id, stream id, limit counter id, status id, log file
    const publication = new Publication(
      ready.getInt64(8),
      channel,
      streamId,
      ready.getInt32(16),
      exclusive,
      new LogBuffers(ready.getStringAscii(32)),
      this.counters,
      ready.getInt32(24) * COUNTER_LENGTH,
      (p) => this.removePublication(p),
    );
    this.publications.add(publication);
    return publication;
  }

  async addSubscription(channel: string, streamId: number): Promise<Subscription> {
    const correlationId = this.commands.nextCorrelationId();
    const subscription = new Subscription(correlationId, channel, streamId, (s) =>
      this.removeSubscription(s),
    );
    // Registered before asking: the driver may announce images right after it answers.
    this.subscriptions.set(correlationId, subscription);
    const body = new Encoder()
      .long(this.clientId)
      .long(correlationId)
      .long(-1n)
      .int(streamId)
      .string(channel);
    try {
      await this.request(Command.ADD_SUBSCRIPTION, correlationId, body);
    } catch (e) {
      this.subscriptions.delete(correlationId);
      throw e;
    }
    return subscription;
  }

  /** Tells the driver this client is done; its publications and subscriptions go with it. */
  async close(): Promise<void> {
    if (this.failure) return;
    try {
      this.commands.write(Command.CLIENT_CLOSE, new Encoder().long(this.clientId).long(0n).bytes());
    } finally {
      this.fail(new AeronError("CLOSED", "the Aeron client is closed"), false);
    }
  }

  private async removePublication(publication: Publication): Promise<void> {
    this.publications.delete(publication);
    if (this.failure) return;
    const correlationId = this.commands.nextCorrelationId();
    const body = new Encoder()
      .long(this.clientId)
      .long(correlationId)
      .long(publication.registrationId)
      .long(0n);
    await this.request(Command.REMOVE_PUBLICATION, correlationId, body);
  }

  private async removeSubscription(subscription: Subscription): Promise<void> {
    this.subscriptions.delete(subscription.registrationId);
    if (this.failure) return;
    const correlationId = this.commands.nextCorrelationId();
    const body = new Encoder().long(this.clientId).long(correlationId).long(subscription.registrationId);
    await this.request(Command.REMOVE_SUBSCRIPTION, correlationId, body);
  }

  private request(
    typeId: number,
    correlationId: bigint,
    body: Encoder,
  ): Promise<{ typeId: number; body: AtomicBuffer }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, {
        resolve,
        reject,
        deadline: Date.now() + this.options.driverTimeoutMs,
      });
      try {
        this.commands.write(typeId, body.bytes());
      } catch (e) {
        this.pending.delete(correlationId);
        reject(e);
      }
    });
  }

  /**
   * One conductor cycle: answers, keepalive, driver liveness. A timer runs it; a caller that
   * busy-spins (and so starves timers) calls it from its loop now and then, as Aeron's agent
   * invoker does.
   */
  doWork(): void {
    try {
      while (this.responses.receive((typeId, body) => this.onResponse(typeId, body)) > 0) {}
      const now = Date.now();
      const age = now - this.commands.consumerHeartbeatMs();
      if (age > this.options.driverTimeoutMs) {
        throw new AeronError(
          "DRIVER_TIMEOUT",
          `the media driver in ${this.options.dir} stopped (no heartbeat for ${age} ms)`,
        );
      }
      if (now - this.lastKeepalive >= this.options.keepaliveIntervalMs) {
        this.commands.write(Command.CLIENT_KEEPALIVE, new Encoder().long(this.clientId).long(0n).bytes());
        this.lastKeepalive = now;
      }
      for (const [id, p] of this.pending) {
        if (now > p.deadline) {
          this.pending.delete(id);
          p.reject(new AeronError("DRIVER_TIMEOUT", `the media driver did not answer command ${id} in time`));
        }
      }
    } catch (e) {
      this.fail(e instanceof AeronError ? e : new AeronError("DRIVER_TIMEOUT", String(e)), true);
    }
  }

  private onResponse(typeId: number, body: AtomicBuffer): void {
    switch (typeId) {
      case Response.ON_PUBLICATION_READY:
      case Response.ON_EXCLUSIVE_PUBLICATION_READY:
      case Response.ON_SUBSCRIPTION_READY:
      case Response.ON_OPERATION_SUCCESS:
        this.settle(body.getInt64(0), (p) => p.resolve({ typeId, body }));
        break;
      case Response.ON_ERROR: {
        const error = AeronError.fromDriver(body.getInt32(8), body.getStringAscii(12));
        const offending = body.getInt64(0);
        if (this.pending.has(offending)) this.settle(offending, (p) => p.reject(error));
        else this.options.onError?.(error);
        break;
      }
      case Response.ON_AVAILABLE_IMAGE:
        this.onAvailableImage(body);
        break;
      case Response.ON_UNAVAILABLE_IMAGE:
        // correlation id of the image, registration id of the subscription
        this.subscriptions.get(body.getInt64(8))?.removeImage(body.getInt64(0));
        break;
      case Response.ON_CLIENT_TIMEOUT:
        if (body.getInt64(0) === this.clientId) {
          throw new AeronError(
            "CLIENT_TIMEOUT",
            "the media driver timed this client out: it missed its keepalives",
          );
        }
        break;
      default:
        break; // counters and other clients' events
    }
  }

  private onAvailableImage(body: AtomicBuffer): void {
    // correlation id, session id, stream id, subscription id, position counter id, log file, source
    const subscription = this.subscriptions.get(body.getInt64(16));
    if (!subscription) return;
    const logFileAt = 28;
    const logFile = body.getStringAscii(logFileAt);
    const sourceAt = logFileAt + 4 + ((body.getInt32(logFileAt) + 3) & ~3);
    subscription.addImage(
      new Image(
        body.getInt64(0),
        body.getInt32(8),
        body.getStringAscii(sourceAt),
        new LogBuffers(logFile),
        this.counters,
        body.getInt32(24) * COUNTER_LENGTH,
      ),
    );
  }

  private settle(correlationId: bigint, action: (p: Pending) => void): void {
    const p = this.pending.get(correlationId);
    if (!p) return;
    this.pending.delete(correlationId);
    action(p);
  }

  private fail(error: AeronError, report: boolean): void {
    if (this.failure) return;
    this.failure = error;
    clearInterval(this.timer);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    for (const s of this.subscriptions.values()) s.abandon();
    for (const p of this.publications) p.abandon();
    if (report) this.options.onError?.(error);
  }
}

/** Waits for the driver to create cnc.dat and mark it ready, then checks its version. */
async function openCnc(dir: string, timeoutMs: number): Promise<AtomicBuffer> {
  const path = join(dir, Cnc.FILE);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) {
      const memory = mapFile(path);
      const cnc = new AtomicBuffer(memory, 0, memory.byteLength);
      const version = cnc.getInt32Volatile(Cnc.VERSION_OFFSET);
      if (version !== 0) {
        if (version >> 16 !== Cnc.VERSION >> 16) {
          throw new AeronError(
            "CNC_VERSION",
            `the media driver's CnC version ${semver(version)} is incompatible with ${semver(Cnc.VERSION)}`,
          );
        }
        return cnc;
      }
    }
    if (Date.now() > deadline)
      throw new AeronError("NO_DRIVER", `no media driver in ${dir} (${path} not ready)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function semver(v: number): string {
  return `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`;
}

/** Little-endian command bodies, as the driver's flyweights read them. */
class Encoder {
  private readonly parts: Buffer[] = [];
  long(value: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(value);
    this.parts.push(b);
    return this;
  }
  int(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(value);
    this.parts.push(b);
    return this;
  }
  string(value: string): this {
    this.int(Buffer.byteLength(value, "latin1"));
    this.parts.push(Buffer.from(value, "latin1"));
    return this;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}
