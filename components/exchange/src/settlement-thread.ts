import { Worker } from "node:worker_threads";
import type { BourseConfig } from "../../config/src/index.ts";
import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError, type ErrorCode } from "../../domain/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import { ForwardedMetrics, type MetricFamily, log as processLog } from "../../observability/src/index.ts";
import type { SettlementPort } from "../../settlement/src/index.ts";
import { encodeEntries, settlementEntries } from "../../settlement/src/index.ts";
import type { HistoryStore } from "../../store/src/index.ts";
import type { CommandResult, UbsCommand, UbsCore } from "../../ubscore/src/index.ts";

/** What settlement's worker thread is started with (structured-cloned: plain data). */
export interface SettlementThreadData {
  readonly config: BourseConfig;
  readonly dataDir: string;
}

type WireError = { code: string; message: string };

export type ToSettlementThread =
  /** Encoded entries (encodeEntries) back to back, `ends[i]` the end of the i-th, in journal order. */
  { t: "entries"; bytes: Uint8Array; ends: Uint32Array } | { t: "call"; c: number; m: string; a: unknown[] };

export type FromSettlementThread =
  | { t: "ready"; settled: number; recorded: number }
  | { t: "failed"; e: WireError }
  | { t: "status"; settled: number; failure?: WireError; retrying?: string }
  | { t: "result"; c: number; r: unknown }
  | { t: "error"; c: number; e: WireError };

/**
 * Entries go to the worker at most this long after their command applied, or at once when this
 * many wait. A message costs UBSCore's thread ~5 µs whatever it holds (postMessage: serializing,
 * waking the worker): sent each turn of the event loop, with one or two commands in each at 5,000
 * orders/s, the messages alone cost 6% of the thread. A millisecond more of settlement lag is
 * nothing beside that (what waits for settlement waits for the ledger's journal anyway).
 */
const SEND_EVERY_MS = 1;
const SEND_AT_MOST = 512;

const asError = (e: WireError) => new BourseError(e.code as ErrorCode, e.message);

/**
 * Settlement in a worker thread of UBSCore's process (settlement.kind worker): UBSCore's thread
 * keeps what needs its state, working out each applied command's ledger entries and history from
 * the core right after the command (`settlementEntries`, as inline) and encoding them; the
 * worker (settlement-worker.ts) keeps settlement's queue journal, the ledger and the history
 * store, with their journals, and settles there. Everything else in the process reaches the
 * ledger and the store through `ledger` and `store`, calls answered by the worker.
 *
 * The guarantees are inline settlement's, message for message: entries cross in journal order
 * (one port, first in first out); the queue is written in the worker as inline, unsynced, and
 * `recordedDurably` (before a UBSCore snapshot drops journal) first sends what is pending and
 * then has the worker sync its queue, so a crash at any point leaves every entry either in the
 * queue or derivable again from UBSCore's journal (replayed at start: `record` skips what the
 * queue holds, from the `recorded` the worker reports when ready). The position is the worker's
 * (settled by the same Settlement), pushed here after each batch: `waitSettled` waits for the
 * push. A worker that dies stops settlement as a ledger conflict does: every wait and admission
 * is refused, and a restart settles from the queue and UBSCore's journal.
 */
export class SettlementThread implements SettlementPort {
  private position: number;
  private recorded: number;
  private failure: BourseError | undefined;
  private readonly waiters: { lsn: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly calls = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 1;
  /** Entries encoded since the last send: sent together within SEND_EVERY_MS. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private sendTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * The worker's metrics (settlement's, the ledger's, the store's) in this thread's registry, which
   * /metrics serves: read from the worker when scraped (one round trip per scrape).
   */
  private readonly metrics = new ForwardedMetrics(() => this.call("metrics", []) as Promise<MetricFamily[]>);
  readonly ledger: LedgerPort;
  readonly store: HistoryStore;

  private constructor(
    private readonly worker: Worker,
    private readonly exchange: ExchangeDefinition,
    ready: { settled: number; recorded: number },
  ) {
    this.position = ready.settled;
    this.recorded = ready.recorded;
    worker.on("message", (m: FromSettlementThread) => this.receive(m));
    worker.on("error", (e) => this.lose(`settlement's worker failed: ${e.message}`));
    worker.on("exit", (code) => {
      if (!this.closed) this.lose(`settlement's worker exited with ${code}`);
    });
    const call = <T>(m: string, ...a: unknown[]) => this.call(m, a) as Promise<T>;
    this.ledger = {
      createAccounts: (batch) => call("ledger.createAccounts", batch),
      createTransfers: (batch) => call("ledger.createTransfers", batch),
      lookupAccounts: (ids) => call("ledger.lookupAccounts", ids),
      lookupTransfers: (ids) => call("ledger.lookupTransfers", ids),
      // Settlement's worker owns it, and closes it with settlement.
      close: async () => {},
    };
    this.store = {
      write: (batch) => call("store.write", batch),
      order: (orderId) => call("store.order", orderId),
      orderByClientId: (userId, marketId, clientOrderId) =>
        call("store.orderByClientId", userId, marketId, clientOrderId),
      ordersByUser: (userId, marketId, page) => call("store.ordersByUser", userId, marketId, page),
      tradesByMarket: (marketId, limit) => call("store.tradesByMarket", marketId, limit),
      tradesFrom: (marketId, fromId, limit) => call("store.tradesFrom", marketId, fromId, limit),
      tradesByUser: (userId, marketId, page) => call("store.tradesByUser", userId, marketId, page),
      close: async () => {},
    };
  }

  /** Starts the worker, which opens the ledger, the store and settlement's queue under dataDir. */
  static async open(
    config: BourseConfig,
    exchange: ExchangeDefinition,
    dataDir: string,
  ): Promise<SettlementThread> {
    const worker = new Worker(new URL("./settlement-worker.mjs", import.meta.url), {
      workerData: { config, dataDir } satisfies SettlementThreadData,
    });
    // Only the listeners added here are taken off again: a Worker keeps its own on itself.
    let onMessage!: (m: FromSettlementThread) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<{ settled: number; recorded: number }>((resolve, reject) => {
      onMessage = (m) => {
        if (m.t === "ready") resolve(m);
        else reject(m.t === "failed" ? asError(m.e) : new Error(`settlement's worker said ${m.t} first`));
      };
      onError = reject;
      onExit = (code) => reject(new BourseError("UNAVAILABLE", `settlement's worker exited with ${code}`));
      worker.once("message", onMessage).once("error", onError).once("exit", onExit);
    })
      .catch(async (e: unknown) => {
        await worker.terminate();
        throw e;
      })
      .finally(() => worker.off("message", onMessage).off("error", onError).off("exit", onExit));
    const thread = new SettlementThread(worker, exchange, ready);
    await thread.metrics.register();
    return thread;
  }

  get settledLsn(): number {
    return this.position;
  }

  get recordedLsn(): number {
    return this.recorded;
  }

  record(cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore): void {
    if (lsn <= this.recorded) return;
    const entries = settlementEntries(this.exchange, cmd, result, lsn, core);
    if (!entries) return;
    this.recorded = lsn;
    const bytes = encodeEntries(entries);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pending.length >= SEND_AT_MOST) this.sendPending();
    else if (!this.sendTimer) this.sendTimer = setTimeout(() => this.sendPending(), SEND_EVERY_MS);
  }

  backpressure(maxLag: number): Promise<void> | undefined {
    if (this.recorded - this.position <= maxLag) return undefined;
    return this.waitSettled(this.recorded - Math.floor(maxLag * 0.9));
  }

  async recordedDurably(): Promise<void> {
    this.sendPending();
    await this.call("settlement.recordedDurably", []);
  }

  /**
   * Positions without entries are never sent: waits for the last one recorded up to `lsn`, which
   * the worker's position reaches once everything sent before is settled.
   */
  waitSettled(lsn: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const target = Math.min(lsn, this.recorded);
    if (this.position >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ lsn: target, resolve, reject }));
  }

  async close(): Promise<void> {
    this.metrics.close();
    if (this.closed) {
      // Lost already: nothing to close in it, though one that said something unasked still runs.
      await this.worker.terminate();
      return;
    }
    this.sendPending();
    try {
      await this.call("close", []);
    } finally {
      this.closed = true;
      // Its ledger, store and queue are closed: nothing is left in it to lose.
      await this.worker.terminate();
    }
  }

  /** One message for all entries pending (copied once into a buffer the worker takes over). */
  private sendPending(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    if (this.pending.length === 0) return;
    const bytes = new Uint8Array(this.pendingBytes);
    const ends = new Uint32Array(this.pending.length);
    let at = 0;
    this.pending.forEach((entries, i) => {
      bytes.set(entries, at);
      at += entries.length;
      ends[i] = at;
    });
    this.pending = [];
    this.pendingBytes = 0;
    const message: ToSettlementThread = { t: "entries", bytes, ends };
    this.worker.postMessage(message, [bytes.buffer, ends.buffer]);
  }

  private call(m: string, a: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new BourseError("UNAVAILABLE", "settlement's worker is closed"));
    const c = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(c, { resolve, reject });
      const message: ToSettlementThread = { t: "call", c, m, a };
      this.worker.postMessage(message);
    });
  }

  private receive(m: FromSettlementThread): void {
    switch (m.t) {
      case "status":
        this.position = Math.max(this.position, m.settled);
        if (m.failure) this.stop(asError(m.failure));
        this.notify();
        return;
      case "result":
      case "error": {
        const call = this.calls.get(m.c);
        this.calls.delete(m.c);
        if (m.t === "result") call?.resolve(m.r);
        else call?.reject(asError(m.e));
        return;
      }
      default:
        this.lose(`settlement's worker sent ${m.t} unasked`);
    }
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.position >= w.lsn) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private stop(failure: BourseError): void {
    this.failure ??= failure;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  /** The worker is gone: nothing settles or answers until the process restarts. */
  private lose(why: string): void {
    if (!this.failure) processLog().warn(`settlement stopped at position ${this.position}: ${why}`);
    this.stop(new BourseError("UNAVAILABLE", why));
    for (const call of this.calls.values()) call.reject(this.failure!);
    this.calls.clear();
    this.closed = true;
  }
}
