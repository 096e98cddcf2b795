import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError, isBourseError, parseExact, stringifyExact } from "../../domain/src/index.ts";
import type { Channel } from "../../transport/src/index.ts";
import { type Calls, invoke, wireError } from "../../transport/src/index.ts";
import { decodeCommand, encodeCommand } from "./codec.ts";
import { type CommandResult, UbsCore } from "./core.ts";
import type { CommandListener, UbsCoreService, UbsCoreView } from "./service.ts";
import { ORDER_COMMAND_KINDS, type UbsCommand } from "./types.ts";

/**
 * UBSCore over the transport, by state-machine replication. UBSCore is deterministic, so a process
 * that starts from a snapshot and applies the same journaled commands in the same order holds the
 * same state: a gateway keeps such a replica to answer reads locally, and sends commands to the
 * primary, which journals and applies them and streams every applied command to its replicas.
 *
 * Messages (first byte = type; numbers little-endian; lsn and ids as doubles, exact integers):
 *   replica -> primary  SUBSCRIBE [features]           | SUBMIT corr:u32 command
 *                       CALL corr:u32 json{method,args}
 *   primary -> replica  SNAPSHOT lsn core-snapshot     | APPLIED lsn command
 *                       SUBMITTED corr lsn             | REJECTED corr json{code,message}
 *                       RETURNED corr json             | FAILED corr json{code,message}
 *                       EVENT json (side state, e.g. API keys)
 *                       BATCH count (length:u32 message)*   (messages of the kinds above)
 * The primary sends APPLIED(lsn) before SUBMITTED(..., lsn) on the same ordered channel, so when
 * a replica learns its command's position it has applied it already: it answers from its own
 * state, which equals the primary's at that position.
 *
 * A message costs the primary's thread a fixed amount whatever it holds (framing, the link's
 * encryption, a syscall, or a MessagePort's clone), so the commands applied in one turn go to
 * the replicas as one BATCH, built once for all of them, and each replica's answers of a turn
 * as one BATCH too (a single message goes as it is). Only to a replica whose SUBSCRIBE says it
 * reads BATCH (`features`, TAKES_BATCHES): a gateway of an earlier release, still running while a
 * rolling update replaces it, subscribes without it and gets every message alone, as before.
 */
/** The SUBSCRIBE feature flag of a replica that reads BATCH messages. */
const TAKES_BATCHES = 1;

enum Msg {
  Subscribe = 1,
  Snapshot = 2,
  Applied = 3,
  Submit = 4,
  Submitted = 5,
  Rejected = 6,
  Call = 7,
  Returned = 8,
  Failed = 9,
  Event = 10,
  Batch = 11,
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function frame(type: Msg, numbers: number[], body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + numbers.length * 8 + body.length);
  const view = new DataView(out.buffer);
  out[0] = type;
  numbers.forEach((n, i) => {
    view.setFloat64(1 + i * 8, n, true);
  });
  out.set(body, 1 + numbers.length * 8);
  return out;
}

function parse(message: Uint8Array, count: number): { type: Msg; numbers: number[]; body: Uint8Array } {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const numbers = Array.from({ length: count }, (_, i) => view.getFloat64(1 + i * 8, true));
  return { type: message[0] as Msg, numbers, body: message.subarray(1 + count * 8) };
}

/** `messages` to one peer as one: a BATCH of them, or the message itself when it is alone. */
function joined(messages: readonly Uint8Array[]): Uint8Array {
  if (messages.length === 1) return messages[0]!;
  let size = 9;
  for (const m of messages) size += 4 + m.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = Msg.Batch;
  view.setFloat64(1, messages.length, true);
  let at = 9;
  for (const m of messages) {
    view.setUint32(at, m.length, true);
    out.set(m, at + 4);
    at += 4 + m.length;
  }
  return out;
}

/** A BATCH's messages; throws unless its lengths and count account for every byte. */
function split(batch: Uint8Array): Uint8Array[] {
  const { numbers, body } = parse(batch, 1);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const messages: Uint8Array[] = [];
  for (let at = 0; at < body.length; ) {
    const length = view.getUint32(at, true);
    const message = body.subarray(at + 4, at + 4 + length);
    if (message.length !== length || message[0] === Msg.Batch) throw new Error("malformed BATCH");
    messages.push(message);
    at += 4 + length;
  }
  if (messages.length !== numbers[0]) throw new Error("malformed BATCH");
  return messages;
}

const json = (value: unknown) => utf8.encode(stringifyExact(value));
const unjson = <T>(bytes: Uint8Array) => parseExact<T>(fromUtf8.decode(bytes));

/**
 * What a replica (a gateway) may submit: the commands a trading client can ask for (orders, user
 * data streams' listen keys, and taking a WebSocket API logon's signature). Users, deposits, withdrawals, halts and transfers' ledger
 * steps come from the operator API and the transfer saga inside UBSCore's own process, and
 * outcomes only from the matching link.
 */
const REPLICA_COMMANDS = new Set<UbsCommand["kind"]>([...ORDER_COMMAND_KINDS, "listenKey", "takeSignature"]);

/**
 * The primary's side: serves every channel from a replica. `events()` are the side-state
 * messages (e.g. API keys) a new replica needs; `broadcast` sends later ones to every replica.
 */
export class ReplicationServer {
  private readonly replicas = new Set<Channel>();
  /** The replicas that subscribed without TAKES_BATCHES: each message goes to them alone. */
  private readonly unbatched = new Set<Channel>();
  /** The commands applied since the last flush, as APPLIED messages, for every replica. */
  private applied: Uint8Array[] = [];
  /** Each replica's answers since the last flush. */
  private readonly answers = new Map<Channel, Uint8Array[]>();
  private flushQueued = false;

  constructor(
    private readonly service: UbsCoreService,
    private readonly calls: Calls,
    private readonly events: () => unknown[],
  ) {
    service.onCommand((cmd, _result, lsn) => {
      if (this.replicas.size === 0) return;
      this.applied.push(frame(Msg.Applied, [lsn], encodeCommand(cmd)));
      this.flushLater();
    });
  }

  broadcast(event: unknown): void {
    // After every command applied and answer given so far, as if each had gone at once.
    this.flush();
    const message = frame(Msg.Event, [], json(event));
    for (const r of this.replicas) r.send(message);
  }

  accept(channel: Channel): void {
    channel.onClose(() => {
      this.replicas.delete(channel);
      this.unbatched.delete(channel);
      this.answers.delete(channel);
    });
    channel.onMessage((message) => {
      // A peer whose message does not decode is dropped, never obeyed (nor allowed to crash us).
      try {
        this.receive(channel, message);
      } catch {
        channel.close();
      }
    });
  }

  /**
   * At the end of the turn: the service calls its listeners for a group commit's commands in one
   * synchronous loop, so a microtask queued at the first runs once the whole group is applied, and
   * before the reactions of its submitters (queued later, as each is resolved), hence before
   * anyone can be told a command of it happened. A macrotask (setImmediate) would batch no more
   * (the next group commit is the journal's next write, a later callback) and would hold the
   * commands past those acknowledgements.
   */
  private flushLater(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Sends what waits: the applied commands to every replica, then each replica its answers. */
  private flush(): void {
    this.sendApplied();
    for (const [channel, answers] of this.answers) this.sendTo(channel, answers);
    this.answers.clear();
  }

  private sendApplied(): void {
    if (this.applied.length === 0) return;
    const applied = this.applied;
    this.applied = [];
    // Built once for every replica that reads batches, and only if one does.
    let batch: Uint8Array | undefined;
    for (const r of this.replicas) {
      if (this.unbatched.has(r)) {
        this.sendTo(r, applied);
        continue;
      }
      batch ??= joined(applied);
      r.send(batch);
    }
  }

  /** `messages` to one replica: as one, or each alone to a replica that does not read BATCH. */
  private sendTo(channel: Channel, messages: readonly Uint8Array[]): void {
    if (!this.unbatched.has(channel)) channel.send(joined(messages));
    else for (const m of messages) channel.send(m);
  }

  /**
   * Queues an answer to a replica's request, after every command applied so far (sent first if
   * they wait): a SUBMITTED names a position the replica must have applied when it reads it.
   */
  private answer(channel: Channel, message: Uint8Array): void {
    this.sendApplied();
    const answers = this.answers.get(channel);
    if (answers) answers.push(message);
    else this.answers.set(channel, [message]);
    this.flushLater();
  }

  private receive(channel: Channel, message: Uint8Array): void {
    switch (message[0]) {
      case Msg.Subscribe: {
        // Synchronous: the snapshot is the state exactly at appliedLsn, and every command after
        // it reaches this replica through the listener above. Those applied before it and not
        // yet sent (the turn's batch, when this runs within one) go to the other replicas first.
        this.flush();
        for (const e of this.events()) channel.send(frame(Msg.Event, [], json(e)));
        channel.send(frame(Msg.Snapshot, [this.service.appliedLsn], this.service.core.snapshot()));
        const features = message.length > 1 ? parse(message, 1).numbers[0]! : 0;
        if (!(features & TAKES_BATCHES)) this.unbatched.add(channel);
        this.replicas.add(channel);
        return;
      }
      case Msg.Submit: {
        const { numbers, body } = parse(message, 1);
        const corr = numbers[0]!;
        const cmd = decodeCommand(body);
        if (!REPLICA_COMMANDS.has(cmd.kind)) {
          const refused = new BourseError("FORBIDDEN", `a gateway may not submit ${cmd.kind}`);
          this.answer(channel, frame(Msg.Rejected, [corr], json(wireError(refused))));
          return;
        }
        this.service.submitAt(cmd).then(
          ({ lsn }) => this.answer(channel, frame(Msg.Submitted, [corr, lsn])),
          (e) => this.answer(channel, frame(Msg.Rejected, [corr], json(wireError(e)))),
        );
        return;
      }
      case Msg.Call: {
        const { numbers, body } = parse(message, 1);
        const corr = numbers[0]!;
        const { method, args } = unjson<{ method: string; args: unknown[] }>(body);
        invoke(this.calls, method, args).then(
          (result) => this.answer(channel, frame(Msg.Returned, [corr], json(result ?? null))),
          (e) => this.answer(channel, frame(Msg.Failed, [corr], json(wireError(e)))),
        );
        return;
      }
      default:
        channel.close();
    }
  }
}

/** A message from the primary, decoded whole before a replica acts on any of it. */
type FromPrimary =
  | { type: Msg.Snapshot; lsn: number; snapshot: Uint8Array }
  | { type: Msg.Applied; lsn: number; cmd: UbsCommand }
  | { type: Msg.Submitted; corr: number; lsn: number }
  | { type: Msg.Returned; corr: number; value: unknown }
  | { type: Msg.Rejected | Msg.Failed; corr: number; error: BourseError }
  | { type: Msg.Event; event: unknown };

/** The messages of one from the primary (a BATCH's, in order); throws on one that does not decode. */
function decodeFromPrimary(message: Uint8Array): FromPrimary[] {
  return message[0] === Msg.Batch ? split(message).map(decodeOne) : [decodeOne(message)];
}

function decodeOne(message: Uint8Array): FromPrimary {
  const type = message[0];
  switch (type) {
    case Msg.Snapshot:
    case Msg.Applied: {
      const { numbers, body } = parse(message, 1);
      if (type === Msg.Snapshot) return { type, lsn: numbers[0]!, snapshot: body };
      return { type, lsn: numbers[0]!, cmd: decodeCommand(body) };
    }
    case Msg.Submitted: {
      const { numbers } = parse(message, 2);
      return { type, corr: numbers[0]!, lsn: numbers[1]! };
    }
    case Msg.Returned: {
      const { numbers, body } = parse(message, 1);
      return { type, corr: numbers[0]!, value: unjson(body) };
    }
    case Msg.Rejected:
    case Msg.Failed: {
      const { numbers, body } = parse(message, 1);
      const { code, message: text } = unjson<{ code: string; message: string }>(body);
      return { type, corr: numbers[0]!, error: new BourseError(code as never, text) };
    }
    case Msg.Event:
      return { type, event: unjson(parse(message, 0).body) };
    default:
      throw new Error(`unknown message type ${type}`);
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * A replica of UBSCore in another process, kept current by the primary's stream. It ends when the
 * channel does (`closed` resolves): a replica that missed commands must not answer, so its process
 * restarts and subscribes afresh (crash-only; the gateway holds no state of its own).
 */
export class UbsCoreReplica implements UbsCoreView {
  private readonly listeners: CommandListener[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Results of recently applied commands by position, for the submits waiting on them. */
  private readonly results = new Map<number, CommandResult | BourseError>();
  private nextCorr = 1;
  private lastLsn = 0;
  private ended: BourseError | undefined;
  readonly closed: Promise<Error | undefined>;

  private constructor(
    private readonly channel: Channel,
    private current: UbsCore,
    private readonly onEvent: (event: unknown) => void,
  ) {
    this.closed = new Promise((resolve) =>
      channel.onClose((e) => {
        const error = new BourseError(
          "UNAVAILABLE",
          `lost the connection to UBSCore${e ? `: ${e.message}` : ""}`,
        );
        this.ended = error;
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
        resolve(e);
      }),
    );
  }

  /** Subscribes and resolves once the replica holds the primary's state (snapshot applied). */
  static open(
    channel: Channel,
    exchange: ExchangeDefinition,
    onEvent: (event: unknown) => void,
  ): Promise<UbsCoreReplica> {
    return new Promise((resolve, reject) => {
      let replica: UbsCoreReplica | undefined;
      channel.onClose((e) => {
        if (!replica) reject(e ?? new BourseError("UNAVAILABLE", "UBSCore closed the connection"));
      });
      // Until the snapshot: the events before it, and the snapshot itself.
      const beforeSnapshot = (m: FromPrimary) => {
        if (m.type === Msg.Event) return onEvent(m.event);
        if (m.type !== Msg.Snapshot) return;
        replica = new UbsCoreReplica(channel, UbsCore.restore(exchange, m.snapshot), onEvent);
        replica.lastLsn = m.lsn;
        resolve(replica);
      };
      channel.onMessage((message) => {
        let received: FromPrimary[];
        try {
          received = decodeFromPrimary(message);
        } catch {
          // A primary whose message does not decode is left (the replica ends), never half-obeyed.
          channel.close();
          return;
        }
        for (const m of received) {
          if (replica) replica.receive(m);
          else beforeSnapshot(m);
        }
      });
      channel.send(frame(Msg.Subscribe, [TAKES_BATCHES]));
    });
  }

  get core(): UbsCore {
    return this.current;
  }

  /** The journal position this replica's state reflects. */
  get appliedLsn(): number {
    return this.lastLsn;
  }

  onCommand(listener: CommandListener): void {
    this.listeners.push(listener);
  }

  async submit(cmd: UbsCommand): Promise<CommandResult> {
    const lsn = (await this.request(Msg.Submit, encodeCommand(cmd))) as number;
    const result = this.results.get(lsn);
    if (result === undefined) throw new BourseError("INTERNAL", `replica has no result for position ${lsn}`);
    if (result instanceof BourseError) throw result;
    return result;
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.request(Msg.Call, json({ method, args })) as Promise<T>;
  }

  close(): void {
    this.channel.close();
  }

  private request(type: Msg.Submit | Msg.Call, body: Uint8Array): Promise<unknown> {
    const corr = this.nextCorr++;
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.pending.set(corr, { resolve, reject });
      this.channel.send(frame(type, [corr], body));
    });
  }

  private receive(m: FromPrimary): void {
    if (m.type === Msg.Applied) this.apply(m.lsn, m.cmd);
    else if (m.type === Msg.Submitted) this.settle(m.corr)?.resolve(m.lsn);
    else if (m.type === Msg.Returned) this.settle(m.corr)?.resolve(m.value);
    else if (m.type === Msg.Rejected || m.type === Msg.Failed) this.settle(m.corr)?.reject(m.error);
    else if (m.type === Msg.Event) this.onEvent(m.event);
  }

  private settle(corr: number): Pending | undefined {
    const p = this.pending.get(corr);
    this.pending.delete(corr);
    return p;
  }

  private apply(lsn: number, cmd: UbsCommand): void {
    this.lastLsn = lsn;
    let result: CommandResult;
    try {
      result = this.current.apply(cmd);
    } catch (e) {
      // The primary rejected it the same way (its submit answers REJECTED, not SUBMITTED).
      this.remember(lsn, isBourseError(e) ? e : new BourseError("INTERNAL", String(e)));
      return;
    }
    this.remember(lsn, result);
    for (const listener of this.listeners) listener(cmd, result, lsn, this.current);
  }

  private remember(lsn: number, result: CommandResult | BourseError): void {
    this.results.set(lsn, result);
    // Keep the recent past only: a submit's answer follows its APPLIED closely.
    if (this.results.size > 65_536) this.results.delete(this.results.keys().next().value as number);
  }
}
