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
 *   replica -> primary  SUBSCRIBE                      | SUBMIT corr:u32 command
 *                       CALL corr:u32 json{method,args}
 *   primary -> replica  SNAPSHOT lsn core-snapshot     | APPLIED lsn command
 *                       SUBMITTED corr lsn             | REJECTED corr json{code,message}
 *                       RETURNED corr json             | FAILED corr json{code,message}
 *                       EVENT json (side state, e.g. API keys)
 * The primary sends APPLIED(lsn) before SUBMITTED(..., lsn) on the same ordered channel, so when
 * a replica learns its command's position it has applied it already: it answers from its own
 * state, which equals the primary's at that position.
 */
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

  constructor(
    private readonly service: UbsCoreService,
    private readonly calls: Calls,
    private readonly events: () => unknown[],
  ) {
    service.onCommand((cmd, _result, lsn) => {
      if (this.replicas.size === 0) return;
      const message = frame(Msg.Applied, [lsn], encodeCommand(cmd));
      for (const r of this.replicas) r.send(message);
    });
  }

  broadcast(event: unknown): void {
    const message = frame(Msg.Event, [], json(event));
    for (const r of this.replicas) r.send(message);
  }

  accept(channel: Channel): void {
    channel.onClose(() => this.replicas.delete(channel));
    channel.onMessage((message) => {
      // A peer whose message does not decode is dropped, never obeyed (nor allowed to crash us).
      try {
        this.receive(channel, message);
      } catch {
        channel.close();
      }
    });
  }

  private receive(channel: Channel, message: Uint8Array): void {
    switch (message[0]) {
      case Msg.Subscribe: {
        // Synchronous: the snapshot is the state exactly at appliedLsn, and every command after
        // it reaches this replica through the listener above.
        for (const e of this.events()) channel.send(frame(Msg.Event, [], json(e)));
        channel.send(frame(Msg.Snapshot, [this.service.appliedLsn], this.service.core.snapshot()));
        this.replicas.add(channel);
        return;
      }
      case Msg.Submit: {
        const { numbers, body } = parse(message, 1);
        const corr = numbers[0]!;
        const cmd = decodeCommand(body);
        if (!REPLICA_COMMANDS.has(cmd.kind)) {
          const refused = new BourseError("FORBIDDEN", `a gateway may not submit ${cmd.kind}`);
          channel.send(frame(Msg.Rejected, [corr], json(wireError(refused))));
          return;
        }
        this.service.submitAt(cmd).then(
          ({ lsn }) => channel.send(frame(Msg.Submitted, [corr, lsn])),
          (e) => channel.send(frame(Msg.Rejected, [corr], json(wireError(e)))),
        );
        return;
      }
      case Msg.Call: {
        const { numbers, body } = parse(message, 1);
        const corr = numbers[0]!;
        const { method, args } = unjson<{ method: string; args: unknown[] }>(body);
        invoke(this.calls, method, args).then(
          (result) => channel.send(frame(Msg.Returned, [corr], json(result ?? null))),
          (e) => channel.send(frame(Msg.Failed, [corr], json(wireError(e)))),
        );
        return;
      }
      default:
        channel.close();
    }
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
      channel.onMessage((message) => {
        if (replica) return replica.receive(message);
        if (message[0] === Msg.Event) return onEvent(unjson(parse(message, 0).body));
        if (message[0] !== Msg.Snapshot) return;
        const { numbers, body } = parse(message, 1);
        replica = new UbsCoreReplica(channel, UbsCore.restore(exchange, body), onEvent);
        replica.lastLsn = numbers[0]!;
        resolve(replica);
      });
      channel.send(frame(Msg.Subscribe, []));
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

  private receive(message: Uint8Array): void {
    switch (message[0]) {
      case Msg.Applied: {
        const { numbers, body } = parse(message, 1);
        this.apply(numbers[0]!, decodeCommand(body));
        return;
      }
      case Msg.Submitted:
      case Msg.Returned: {
        const submitted = message[0] === Msg.Submitted;
        const { numbers, body } = parse(message, submitted ? 2 : 1);
        const p = this.settle(numbers[0]!);
        p?.resolve(submitted ? numbers[1] : unjson(body));
        return;
      }
      case Msg.Rejected:
      case Msg.Failed: {
        const { numbers, body } = parse(message, 1);
        const { code, message: text } = unjson<{ code: string; message: string }>(body);
        this.settle(numbers[0]!)?.reject(new BourseError(code as never, text));
        return;
      }
      case Msg.Event:
        this.onEvent(unjson(parse(message, 0).body));
        return;
    }
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
