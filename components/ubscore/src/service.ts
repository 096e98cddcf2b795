import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError, crashOnViolation } from "../../domain/src/index.ts";
import { Journal, type RecordWriter, SnapshotStore } from "../../journal/src/index.ts";
import { LabelledCounts, secondsSince, ubscoreMetrics } from "../../observability/src/index.ts";
import { type SnapshotJob, snapshotDirs, snapshotInBackground } from "./background-snapshot.ts";
import { commandSize, decodeCommand, writeCommand } from "./codec.ts";
import {
  applyJournaled,
  type CommandResult,
  type Forwarded,
  type MatchingMode,
  type Retention,
  UbsCore,
} from "./core.ts";
import { OrderAdmission, type OrderLimits } from "./order-counts.ts";
import { listOrderCount } from "./order-lists.ts";
import { type MatchedOutcome, ORDER_COMMAND_KINDS, type UbsCommand } from "./types.ts";

/** Called with every applied command, its result, its journal position and the core right after it. */
export type CommandListener = (cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore) => void;

/**
 * UBSCore with durability: every command is appended to the journal and runs only once the
 * journal has fsynced it (group commit), in journal order, so whatever a caller was told has
 * happened survives a crash. Every `snapshotEvery` commands the core is snapshotted (atomically)
 * and the journal segments the snapshot covers are dropped; restart = latest snapshot + replay of
 * the journal after it.
 */
export interface UbsCoreServiceOptions {
  readonly snapshotEvery?: number;
  readonly journalSegmentBytes?: number;
  /** How much closed history the core keeps in memory (the store keeps all of it). */
  readonly retention?: Retention;
  /** Sees the commands replayed at open (after the snapshot), e.g. so settlement misses none. */
  readonly onReplay?: CommandListener;
  /** Awaited before a snapshot lets the journal segments it covers be dropped. */
  readonly beforeSnapshot?: () => Promise<void>;
  /** Asked before each command is journaled; a promise holds the command until it resolves. */
  readonly admit?: () => Promise<void> | undefined;
  /** Checks the core's invariants after every command, replayed or new (slow; for finding bugs). */
  readonly verify?: boolean;
  /** Where the books run: here, or in `bourse matching` (see `connectMatching`). */
  readonly matching?: MatchingMode;
  /** With a matching service: how many order commands may wait for it before new ones are refused. */
  readonly maxInFlight?: number;
  /** Binance's order limits on users' signed orders, from every gateway together (none: unlimited). */
  readonly orderLimits?: OrderLimits;
}

/** The commands a matching service runs (forwarded with matching.kind service). */
const ORDER_COMMANDS = new Set(ORDER_COMMAND_KINDS);

/**
 * The new orders a user's signed command places, as the order limits count them (an OCO's two
 * legs); the operator's and the tests' orders, unsigned, are not limited.
 */
function newOrders(cmd: UbsCommand): { userId: number; time: number; count: number } | undefined {
  const lists = cmd.kind === "placeOco" || cmd.kind === "placeOto";
  if ((cmd.kind !== "place" && !lists) || cmd.signature === undefined) return undefined;
  return { userId: cmd.userId, time: cmd.time, count: lists ? listOrderCount(cmd) : 1 };
}

interface Applied {
  readonly result: CommandResult;
  readonly lsn: number;
}

interface Awaiting {
  resolve(applied: Applied): void;
  reject(e: Error): void;
}

/** Commands go into the journal's write as they are encoded: no buffer of their own. */
const COMMAND_RECORD: RecordWriter<UbsCommand> = { size: commandSize, write: writeCommand };

/** A command journaled, waiting for its group commit to be durable to be applied. */
interface Queued {
  readonly cmd: UbsCommand;
  readonly lsn: number;
  /** With the result alone (`submit`) or with its position too (`submitAt`, outcomes). */
  readonly withLsn: boolean;
  /** A forwarded order command answers its submitter with its outcome, not when it is applied. */
  readonly awaitsOutcome: boolean;
  /** The order limits' hold on a user's new order, released once it is applied or refused. */
  readonly order: { release(): void } | undefined;
  readonly resolve: (value: Applied | CommandResult) => void;
  readonly reject: (e: Error) => void;
}
/**
 * What the gateway needs of UBSCore: its state to read, a way to submit commands, and the stream
 * of applied commands. The service itself in one process; a replica over the transport otherwise.
 */
export interface UbsCoreView {
  readonly core: UbsCore;
  submit(cmd: UbsCommand): Promise<CommandResult>;
  onCommand(listener: CommandListener): void;
}

export class UbsCoreService implements UbsCoreView {
  private readonly listeners: CommandListener[] = [];
  /** The journal position the core's state reflects (commands rejected after it changed nothing). */
  appliedLsn = 0;
  private snapshotting: Promise<void> = Promise.resolve();
  private gate: Promise<void> | undefined;
  private inflight = 0;
  private drained: (() => void) | undefined;
  /** A failed snapshot loses nothing (the journal still holds every command) but is reported here. */
  lastSnapshotError: Error | undefined;
  /** Where forwarded order commands go (matching.kind service): the link to `bourse matching`. */
  private forward: ((f: Forwarded) => void) | undefined;
  /** Drops the link's connection, so that the next one hands over afresh. */
  private resync: () => void = () => {};
  /** Submitters of forwarded commands, by market and sequence, waiting for the outcome. */
  private readonly awaiting = new Map<string, Awaiting>();
  /** Per market, the last sequence whose outcome is journaled or on its way to the journal. */
  private readonly outcomeSeq: number[] = [];
  /** The journal's group commit the latest commands joined, and those commands, in journal order. */
  private commit: Promise<void> | undefined;
  private queued: Queued[] = [];

  private constructor(
    readonly core: UbsCore,
    private readonly journal: Journal,
    private readonly dataDir: string,
    private readonly snapshotEvery: number,
    private readonly beforeSnapshot: () => Promise<void>,
    /** How many journaled commands the last open replayed (after the snapshot it started from). */
    readonly replayedCommands: number,
    private readonly admit: () => Promise<void> | undefined,
    private readonly maxInFlight: number,
    private readonly orderAdmission: OrderAdmission | undefined,
  ) {
    const m = this.metrics;
    this.untrack = [
      m.queueDepth.track(() => this.inflight),
      m.journalPosition.track(() => this.lastLsn),
      m.replayed.track(() => this.replayedCommands),
      m.matchingInFlight.track(() => this.core.forwardedWaiting()),
    ];
  }

  private readonly metrics = ubscoreMetrics();
  private readonly untrack: (() => void)[];
  private readonly applied = new LabelledCounts<"command" | "outcome">(this.metrics.commands, "command", {
    outcome: "applied",
  });
  private readonly rejected = new LabelledCounts<"command" | "outcome">(this.metrics.commands, "command", {
    outcome: "rejected",
  });

  static async open(
    dataDir: string,
    exchange: ExchangeDefinition,
    options: UbsCoreServiceOptions = {},
  ): Promise<UbsCoreService> {
    const dirs = snapshotDirs(dataDir);
    const journal = await Journal.open(dirs.journal, {
      segmentBytes: options.journalSegmentBytes,
      name: "ubscore",
    });
    const snapshots = new SnapshotStore(dirs.snapshots);
    const latest = await snapshots.loadLatest();
    const matching = options.matching ?? "local";
    // Restored and replayed in the mode the data was written in (local unless a snapshot says
    // otherwise: see the switch below), since a record's effect depends on it.
    let core = latest
      ? UbsCore.restore(exchange, latest.bytes, options.retention)
      : new UbsCore(exchange, options.retention);
    core.verify = options.verify ?? false;
    const from = (latest?.lsn ?? 0) + 1;
    await journal.replay(from, (payload, lsn) => {
      const cmd = decodeCommand(payload);
      const result = applyJournaled(core, cmd);
      if (result) options.onReplay?.(cmd, result, lsn, core);
    });
    if (core.matching !== matching) {
      // Local books handed to a matching service (the way back is refused, in restore): a
      // snapshot marks the switch, so every record after it is read in the new mode.
      core = UbsCore.restore(exchange, core.snapshot(), options.retention, matching);
      core.verify = options.verify ?? false;
      await snapshots.save(journal.nextLsn - 1, core.snapshot());
    }
    const service = new UbsCoreService(
      core,
      journal,
      dataDir,
      options.snapshotEvery ?? 100_000,
      options.beforeSnapshot ?? (async () => {}),
      journal.nextLsn - from,
      options.admit ?? (() => undefined),
      options.maxInFlight ?? 10_000,
      options.orderLimits && new OrderAdmission(options.orderLimits, core.orderCounts),
    );
    service.appliedLsn = journal.nextLsn - 1;
    return service;
  }

  /** Journals the command, then applies it; resolves with its result or rejects with its error. */
  submit(cmd: UbsCommand): Promise<CommandResult> {
    return this.submitWith(cmd, false) as Promise<CommandResult>;
  }

  /**
   * submit, also telling the journal position the command got (replicas wait for it). An order
   * command run by the matching service resolves with its outcome's result and position.
   */
  submitAt(cmd: UbsCommand): Promise<Applied> {
    return this.submitWith(cmd, true) as Promise<Applied>;
  }

  /** The common case (nothing gated, nothing held) reaches the journal without a promise hop. */
  private submitWith(cmd: UbsCommand, withLsn: boolean): Promise<Applied | CommandResult> {
    if (this.gate) return this.afterGate(cmd, withLsn);
    let held: Promise<void> | undefined;
    try {
      held = this.admit();
    } catch (e) {
      // Refused as the async submit refused: with a rejected promise, never a throw.
      return Promise.reject(e);
    }
    return held ? held.then(() => this.admitted(cmd, withLsn)) : this.admitted(cmd, withLsn);
  }

  private async afterGate(cmd: UbsCommand, withLsn: boolean): Promise<Applied | CommandResult> {
    while (this.gate) await this.gate;
    const held = this.admit();
    if (held) await held;
    return this.admitted(cmd, withLsn);
  }

  private admitted(cmd: UbsCommand, withLsn: boolean): Promise<Applied | CommandResult> {
    if (ORDER_COMMANDS.has(cmd.kind) && this.core.forwardedWaiting() >= this.maxInFlight) {
      return Promise.reject(
        new BourseError("OVERLOADED", `${this.maxInFlight} order commands are waiting for matching`),
      );
    }
    // A user's new orders within the order limits.
    const orders = newOrders(cmd);
    let order: { release(): void } | undefined;
    try {
      order = orders && this.orderAdmission?.hold(orders.userId, orders.time, orders.count);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.record(cmd, withLsn, true, order);
  }

  /**
   * Journals the command; it is applied (in journal order) with the rest of its group commit
   * once that is durable, and the listeners told.
   */
  private record(
    cmd: UbsCommand,
    withLsn: boolean,
    awaitsOutcome: boolean,
    order?: { release(): void },
  ): Promise<Applied | CommandResult> {
    let lsn: number;
    try {
      lsn = this.journal.appendValue(cmd, COMMAND_RECORD);
    } catch (e) {
      order?.release();
      return Promise.reject(e);
    }
    this.inflight++;
    const commit = this.journal.committed();
    if (commit !== this.commit) {
      // The first command of a new group commit: the whole group is applied at once.
      const queued: Queued[] = [];
      this.commit = commit;
      this.queued = queued;
      commit.then(
        () => this.applyCommitted(queued),
        (e: Error) => this.failCommitted(queued, e),
      );
    }
    const queued = this.queued;
    return new Promise((resolve, reject) =>
      queued.push({ cmd, lsn, withLsn, awaitsOutcome, order, resolve, reject }),
    );
  }

  /** Applies a durable group commit's commands in journal order, answering each submitter. */
  private applyCommitted(queued: readonly Queued[]): void {
    for (const q of queued) {
      let result: CommandResult;
      try {
        result = this.applyMeasured(q.cmd);
        this.appliedLsn = q.lsn;
        // Before the listeners: one that throws must not keep the command from matching.
        if (result.forwarded) this.forward?.(result.forwarded);
        for (const f of result.activated ?? []) this.forward?.(f);
        for (const listener of this.listeners) listener(q.cmd, result, q.lsn, this.core);
      } catch (e) {
        crashOnViolation(e);
        q.reject(e as Error);
        continue;
      } finally {
        if (q.lsn % this.snapshotEvery === 0) this.snapshotAt(q.lsn);
        q.order?.release();
        if (--this.inflight === 0) this.drained?.();
      }
      this.answer(q, result);
    }
  }

  /** Tells the submitter, or registers it for the outcome of the command it forwarded. */
  private answer(q: Queued, result: CommandResult): void {
    const f = result.forwarded;
    if (f && q.awaitsOutcome) {
      // Registered before any message can arrive: the outcome comes in a later turn.
      const resolve = q.withLsn ? q.resolve : (a: Applied) => q.resolve(a.result);
      this.awaiting.set(`${f.marketId}:${f.seq}`, { resolve, reject: q.reject });
    } else q.resolve(q.withLsn ? { result, lsn: q.lsn } : result);
  }

  /** The group commit's write failed: nothing of it is applied, and every submitter is told. */
  private failCommitted(queued: readonly Queued[], e: Error): void {
    for (const q of queued) {
      q.order?.release();
      if (--this.inflight === 0) this.drained?.();
      q.reject(e);
    }
  }

  /** core.apply, timed and counted by kind and outcome (applied, or rejected: it threw). */
  private applyMeasured(cmd: UbsCommand): CommandResult {
    const start = performance.now();
    let counts = this.rejected;
    try {
      const result = this.core.apply(cmd);
      counts = this.applied;
      return result;
    } finally {
      this.metrics.apply.observe(secondsSince(start));
      counts.inc(cmd.kind);
    }
  }

  /**
   * Sends every command forwarded from now on to `forward` (the link to `bourse matching`);
   * `resync` drops the link's connection when an outcome is refused.
   */
  connectMatching(forward: (f: Forwarded) => void, resync: () => void): void {
    this.forward = forward;
    this.resync = resync;
  }

  /**
   * For a matching service that (re)connects: the books as of the last applied outcomes, and
   * every command forwarded since. Outcomes it sends again for commands whose outcome is already
   * on its way to the journal are journaled twice; the second changes nothing.
   */
  handover(): ReturnType<UbsCore["matchingHandover"]> {
    const handover = this.core.matchingHandover();
    for (const b of handover.books) this.outcomeSeq[b.marketId] = b.matched;
    return handover;
  }

  /**
   * An outcome from the matching service: journaled and applied in turn, then its submitter
   * answered. One already journaled (or on its way) is dropped; one out of sequence, or for a
   * market not handed over, is refused (false), never journaled: the link then drops the
   * connection, and the next handover puts both sides back in step.
   */
  receiveOutcome(outcome: MatchedOutcome): boolean {
    const { marketId, seq } = outcome;
    const last = this.outcomeSeq[marketId];
    if (last === undefined || seq > last + 1) return false;
    if (seq <= last) return true;
    this.outcomeSeq[marketId] = seq;
    const take = () => {
      const waiting = this.awaiting.get(`${marketId}:${seq}`);
      this.awaiting.delete(`${marketId}:${seq}`);
      return waiting;
    };
    const inTurn = async () => {
      while (this.gate) await this.gate;
      return (await this.record(outcome, true, false)) as Applied;
    };
    inTurn().then(
      (applied) => {
        if (applied.result.repeated) return;
        const waiting = take();
        if (applied.result.error) waiting?.reject(applied.result.error);
        else waiting?.resolve(applied);
      },
      // Refused (not the outcome of its command): its submitter waits for the real one, which
      // the next connection's handover asks for again.
      () => this.resync(),
    );
    return true;
  }

  /** How long the journal's write in progress has taken so far (ms; 0 when none is): for liveness. */
  journalStalledMs(): number {
    return this.journal.writeStalledMs();
  }

  /** The journal position of the last command appended (applied once its submit resolves). */
  get lastLsn(): number {
    return this.journal.nextLsn - 1;
  }

  /**
   * Runs `fn` while no command is in flight and new ones wait: a consistent point, e.g. for
   * reconciling UBSCore with the ledger at one journal position.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    let release!: () => void;
    this.gate = new Promise((r) => {
      release = r;
    });
    try {
      if (this.inflight > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.gate = undefined;
      release();
    }
  }

  /**
   * Snapshots the state after `lsn` in a background process (see background-snapshot.ts), from the journal,
   * so commands keep flowing meanwhile; then drops the journal segments it covers.
   */
  private snapshotAt(lsn: number): void {
    const { exchange, retention, matching } = this.core;
    const job: SnapshotJob = { dataDir: this.dataDir, exchange: exchange.spec, retention, matching, lsn };
    this.snapshotting = this.snapshotting
      .then(() => this.beforeSnapshot())
      .then(() => snapshotInBackground(job))
      .then(() => this.journal.truncateBefore(lsn + 1))
      .then(
        () => {
          this.lastSnapshotError = undefined;
        },
        (e: Error) => {
          this.lastSnapshotError = e;
        },
      );
  }

  onCommand(listener: CommandListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    for (const stop of this.untrack) stop();
    this.applied.close();
    this.rejected.close();
    const closing = new BourseError("UNAVAILABLE", "UBSCore is shutting down");
    for (const waiting of this.awaiting.values()) waiting.reject(closing);
    this.awaiting.clear();
    await this.snapshotting;
    await this.journal.close();
  }
}
