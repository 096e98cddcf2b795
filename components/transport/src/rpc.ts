import { BourseError, isBourseError, parseExact, stringifyExact } from "../../domain/src/index.ts";
import { dial } from "./dial.ts";
import type { Channel, Transport, TransportServer } from "./port.ts";

/**
 * Request and response over a transport channel, for the control paths between processes (not
 * the hot path, which has its own binary codecs). Messages are exact JSON (bigints kept):
 *   client -> server  {c: corr, m: method, a: args}
 *   server -> client  {c: corr, r: result} | {c: corr, e: {code, message}} | {p: pushed value}
 * Errors cross as BourseErrors with their code.
 */
export type Calls = Record<string, (...args: never[]) => Promise<unknown> | unknown>;

type Message =
  | { c: number; m: string; a: unknown[] }
  | { c: number; r: unknown }
  | { c: number; e: { code: string; message: string } }
  | { p: unknown };

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const encode = (m: Message) => utf8.encode(stringifyExact(m));
/** A message, or undefined for bytes that are not one (the peer is then dropped, not obeyed). */
function decode(bytes: Uint8Array): Message | undefined {
  try {
    const m = parseExact<Message>(fromUtf8.decode(bytes));
    return m !== null && typeof m === "object" ? m : undefined;
  } catch {
    return undefined;
  }
}

const isCall = (m: Message): m is { c: number; m: string; a: unknown[] } =>
  "m" in m && typeof m.m === "string" && typeof m.c === "number" && Array.isArray(m.a);

/** An error as it crosses the wire: its code when it is ours, else INTERNAL. */
export function wireError(e: unknown): { code: string; message: string } {
  return isBourseError(e) ? { code: e.code, message: e.message } : { code: "INTERNAL", message: String(e) };
}

/**
 * Runs call `method` of `calls` (only its own: not what every object inherits); a failure, even a
 * synchronous one, comes back as a rejection.
 */
export async function invoke(calls: Calls, method: string, args: unknown[]): Promise<unknown> {
  const fn = Object.hasOwn(calls, method) ? calls[method] : undefined;
  if (!fn) throw new BourseError("INTERNAL", `no call ${method}`);
  return (fn as (...a: unknown[]) => unknown)(...args);
}

/** Serves `calls` to every client of `transport` at `address`; `push` reaches them all. */
export class RpcServer implements TransportServer {
  private readonly clients = new Set<Channel>();
  private server!: TransportServer;

  private constructor(private readonly calls: Calls) {}

  static async listen(transport: Transport, address: string, calls: Calls): Promise<RpcServer> {
    const rpc = new RpcServer(calls);
    rpc.server = await transport.listen(address, (channel) => rpc.accept(channel));
    return rpc;
  }

  get address(): string {
    return this.server.address;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.server.close();
  }

  push(value: unknown): void {
    const message = encode({ p: value });
    for (const c of this.clients) c.send(message);
  }

  private accept(channel: Channel): void {
    this.clients.add(channel);
    channel.onClose(() => this.clients.delete(channel));
    channel.onMessage((bytes) => {
      const message = decode(bytes);
      if (!message || !isCall(message)) return channel.close();
      invoke(this.calls, message.m, message.a).then(
        (r) => channel.send(encode({ c: message.c, r: r ?? null })),
        (e) => channel.send(encode({ c: message.c, e: wireError(e) })),
      );
    });
  }
}

interface Pending {
  readonly method: string;
  readonly args: unknown[];
  resolve(value: unknown): void;
  reject(e: Error): void;
}

/**
 * The client side. It reconnects whenever the channel is lost (the server restarting, say) and
 * sends every unanswered call again, so the calls it carries must be idempotent; they wait
 * meanwhile, like TigerBeetle's client does while its cluster is away.
 */
export class RpcClient {
  private readonly pending = new Map<number, Pending>();
  private channel: Channel | undefined;
  private nextCorr = 1;
  private closed = false;
  /** The last failure to reach the server, while the client retries. */
  lastError: Error | undefined;

  private constructor(
    private readonly transport: Transport,
    private readonly address: string,
    private readonly onPush: (value: unknown) => void,
  ) {}

  /**
   * Resolves once connected the first time, trying again meanwhile (the server may be starting
   * too); rejects after `waitMs`.
   */
  static async connect(
    transport: Transport,
    address: string,
    onPush: (value: unknown) => void = () => {},
    waitMs = 60_000,
  ): Promise<RpcClient> {
    const client = new RpcClient(transport, address, onPush);
    client.attach((await dial(transport, address, { until: Date.now() + waitMs }))!);
    return client;
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new BourseError("UNAVAILABLE", `${this.address}: client closed`));
    return new Promise((resolve, reject) => {
      const corr = this.nextCorr++;
      this.pending.set(corr, { method, args, resolve: resolve as (v: unknown) => void, reject });
      this.channel?.send(encode({ c: corr, m: method, a: args }));
    });
  }

  close(): void {
    this.closed = true;
    this.channel?.close();
    const error = new BourseError("UNAVAILABLE", `${this.address}: client closed`);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private attach(channel: Channel): void {
    if (this.closed) {
      channel.close();
      return;
    }
    this.channel = channel;
    this.lastError = undefined;
    channel.onMessage((bytes) => {
      const message = decode(bytes);
      if (message) this.receive(message);
      else channel.close();
    });
    channel.onClose((e) => {
      this.channel = undefined;
      if (this.closed) return;
      this.lastError = e ?? new BourseError("UNAVAILABLE", `${this.address} closed the connection`);
      void this.reconnect();
    });
    for (const [c, p] of this.pending) channel.send(encode({ c, m: p.method, a: p.args }));
  }

  private async reconnect(): Promise<void> {
    const channel = await dial(this.transport, this.address, {
      stopped: () => this.closed,
      onError: (e) => {
        this.lastError = e;
      },
    });
    if (channel) this.attach(channel);
  }

  private receive(message: Message): void {
    if ("p" in message) {
      this.onPush(message.p);
      return;
    }
    if (!("c" in message) || "m" in message) return;
    const p = this.pending.get(message.c);
    if (!p) return;
    this.pending.delete(message.c);
    if ("e" in message) p.reject(new BourseError(message.e.code as never, message.e.message));
    else p.resolve(message.r);
  }
}
