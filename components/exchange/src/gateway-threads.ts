import { type MessagePort, Worker } from "node:worker_threads";
import type { BourseConfig } from "../../config/src/index.ts";
import { BourseError } from "../../domain/src/index.ts";
import { clearCapCounts, sharedCapMemory } from "../../gateway/src/index.ts";
import { gatewayMetrics, type MetricFamily, log as processLog } from "../../observability/src/index.ts";
import { MessagePortTransport, type TransportServer } from "../../transport/src/index.ts";
import type { ReplicationServer } from "../../ubscore/src/index.ts";
import type { TradingListen } from "./embedded.ts";
import { GatewayThreadMetrics } from "./gateway-thread-metrics.ts";

/** What a gateway thread is started with (gateway-thread.ts). */
export interface GatewayThreadData {
  readonly config: BourseConfig;
  /** Its channel to UBSCore's replication server, on the main thread. */
  readonly ubscore: MessagePort;
  readonly listen: TradingListen;
  /** Where every thread counts its WebSocket caps (cap-counter.ts), and which part is its own. */
  readonly caps: SharedArrayBuffer;
  readonly thread: number;
  /** A request log of its own (stdout), none, or lines sent to the main thread's log stream. */
  readonly log: boolean | "forward";
}

export type ToGatewayThread = { kind: "close" } | { kind: "metrics"; id: number };
export type FromGatewayThread =
  | { kind: "ready"; tradingUrl: string }
  | { kind: "failed"; message: string; code?: string }
  | { kind: "lost"; message: string }
  | { kind: "log"; chunk: string }
  | { kind: "metrics"; id: number; families: MetricFamily[] }
  | { kind: "closed" };

const REPLICAS = "gateways";
/** How long a lost gateway thread's replacement waits, so that a thread failing at once does not spin. */
const RESTART_DELAY_MS = 1_000;
/** How long a closing thread has to close its connections before it is terminated. */
const CLOSE_GRACE_MARGIN_MS = 2_000;

/**
 * Node shares a listening port between threads with SO_REUSEPORT (`reusePort`) from 22.12 and
 * 23.1; before that a second thread's listen fails with EADDRINUSE.
 */
export function runtimeSharesPorts(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/**
 * The embedded exchange's trading API on `gateway.threads` worker threads, so that HTTP, the
 * signature checks, parameters and stream fan-out run beside UBSCore's single writer rather than
 * on its thread. Each thread serves from a replica of UBSCore fed by `replication` (as a gateway
 * process does, over a MessagePort instead of the network); a thread that loses its replica or
 * dies is replaced.
 */
export class GatewayThreads {
  private readonly running = new Set<Worker>();
  private readonly metrics = new GatewayThreadMetrics();
  private closing = false;

  private constructor(
    private readonly config: BourseConfig,
    private readonly transport: MessagePortTransport,
    private readonly server: TransportServer,
    private readonly log: boolean | NodeJS.WritableStream,
    private listen: TradingListen,
    private readonly caps: SharedArrayBuffer,
  ) {}

  /** Where the threads serve the trading API. */
  tradingUrl = "";

  /** The threads serving now. */
  get workers(): readonly Worker[] {
    return [...this.running];
  }

  static async start(
    config: BourseConfig,
    replication: ReplicationServer,
    log: boolean | NodeJS.WritableStream,
  ): Promise<GatewayThreads> {
    const count = config.gateway.threads ?? 0;
    if (count > 1 && !runtimeSharesPorts()) {
      throw new BourseError(
        "INVALID_CONFIG",
        `gateway.threads ${count} needs Node 22.12 or later to share the trading port between threads (SO_REUSEPORT); this is Node ${process.versions.node}: use 1`,
      );
    }
    const transport = new MessagePortTransport();
    const server = await transport.listen(REPLICAS, (channel) => replication.accept(channel));
    const { host, port } = config.gateway;
    const listen = { host, port, reusePort: count > 1 };
    const threads = new GatewayThreads(config, transport, server, log, listen, sharedCapMemory(count));
    try {
      for (let i = 0; i < count; i++) await threads.startThread(i);
      // Made here first, so that the threads' families take this thread's over, adding in the
      // rejections the operator API (served here) counts: made later, they would clash.
      gatewayMetrics();
      await threads.metrics.forwarded.register();
    } catch (e) {
      await threads.close();
      throw e;
    }
    return threads;
  }

  /**
   * Starts the thread numbered `thread` (its part of the caps' memory) and waits until it serves;
   * the first fixes the port the others share.
   */
  private async startThread(thread: number): Promise<void> {
    const ubscore = this.transport.openPort(REPLICAS);
    const data: GatewayThreadData = {
      config: this.config,
      ubscore,
      listen: this.listen,
      log: typeof this.log === "boolean" ? this.log : "forward",
      caps: this.caps,
      thread,
    };
    const worker = new Worker(new URL("./gateway-thread.mjs", import.meta.url), {
      workerData: data,
      transferList: [ubscore],
    });
    this.running.add(worker);
    const url = await this.ready(worker, thread);
    this.tradingUrl ||= url;
    this.listen = { ...this.listen, port: Number(new URL(url).port) };
  }

  private ready(worker: Worker, thread: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on("message", (message: FromGatewayThread) => {
        if (message.kind === "ready") {
          started = true;
          this.metrics.add(worker);
          resolve(message.tradingUrl);
        } else if (message.kind === "failed") {
          reject(new BourseError((message.code as never) ?? "UNAVAILABLE", message.message));
        } else {
          this.received(worker, message);
        }
      });
      worker.on("error", (e) => {
        if (!started) reject(e);
      });
      worker.on("exit", () => {
        this.running.delete(worker);
        this.metrics.retire(worker);
        // Its connections ended with it, whether or not their close handlers ran.
        clearCapCounts(this.caps, thread);
        if (!started) reject(new BourseError("UNAVAILABLE", "a gateway thread exited before it served"));
        else if (!this.closing) this.replace(thread);
      });
    });
  }

  /** What a serving thread says unasked, or answers. */
  private received(worker: Worker, message: FromGatewayThread): void {
    if (message.kind === "metrics") this.metrics.answered(message.id, message.families);
    else if (message.kind === "log" && typeof this.log !== "boolean") this.log.write(message.chunk);
    else if (message.kind === "lost") void worker.terminate();
  }

  /** A thread that lost its replica or died: its connections are gone, a new one takes its place. */
  private replace(thread: number): void {
    processLog().warn("a gateway thread ended; starting another");
    setTimeout(() => {
      if (this.closing) return;
      this.startThread(thread).catch((e: Error) => {
        processLog().warn(`a gateway thread failed to start: ${e.message}`);
        if (!this.closing) this.replace(thread);
      });
    }, RESTART_DELAY_MS).unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    const grace = this.config.gateway.connections.shutdownGraceMs + CLOSE_GRACE_MARGIN_MS;
    await Promise.all([...this.running].map((worker) => closeThread(worker, grace)));
    this.metrics.forwarded.close();
    await this.server.close();
  }
}

/** Asks a thread to close its servers and replica; terminates it if it has not within `graceMs`. */
function closeThread(worker: Worker, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), graceMs);
    worker.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ kind: "close" } satisfies ToGatewayThread);
  });
}
