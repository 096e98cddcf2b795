import { BourseError, crashOnViolation } from "../../domain/src/errors.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { Journal } from "../../journal/src/journal.ts";
import { SnapshotStore } from "../../journal/src/snapshot.ts";
import { secondsSince, ubscoreMetrics } from "../../observability/src/metrics.ts";
import { LabelledCounts } from "../../observability/src/registry.ts";
import { type SnapshotJob, snapshotDirs, snapshotInBackground } from "./background-snapshot.ts";
import { decodeCommand, encodeCommand } from "./codec.ts";
import {
  applyJournaled,
  type CommandResult,
  type Forwarded,
  type MatchingMode,
  type Retention,
  UbsCore,
} from "./core.ts";
import { OrderAdmission, type OrderLimits } from "./order-counts.ts";
import type { MatchedOutcome, UbsCommand } from "./types.ts";

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
const ORDER_COMMANDS = new Set<UbsCommand["kind"]>(["place", "placeOco", "cancel", "cancelAll", "amend"]);

/**
 * The new orders a user's signed command places, as the order limits count them (an OCO's two
 * legs); the operator's and the tests' orders, unsigned, are not limited.
 */
function newOrders(cmd: UbsCommand): { userId: number; time: number; count: number } | undefined {
  if ((cmd.kind !== "place" && cmd.kind !== "placeOco") || cmd.signature === undefined) return undefined;
  return { userId: cmd.userId, time: cmd.time, count: cmd.kind === "placeOco" ? 2 : 1 };
}

interface Applied {
  readonly result: CommandResult;
  readonly lsn: number;
}

interface Awaiting {
  resolve(applied: Applied): void;
  reject(e: Error): void;
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
  async submit(cmd: UbsCommand): Promise<CommandResult> {
    return (await this.submitAt(cmd)).result;
  }

  /**
   * submit, also telling the journal position the command got (replicas wait for it). An order
   * command run by the matching service resolves with its outcome's result and position.
   */
  async submitAt(cmd: UbsCommand): Promise<Applied> {
    while (this.gate) await this.gate;
    const held = this.admit();
    if (held) await held;
    if (ORDER_COMMANDS.has(cmd.kind) && this.core.forwardedWaiting() >= this.maxInFlight) {
      throw new BourseError("OVERLOADED", `${this.maxInFlight} order commands are waiting for matching`);
    }
    // A user's new orders within the order limits.
    const orders = newOrders(cmd);
    const order = orders && this.orderAdmission?.hold(orders.userId, orders.time, orders.count);
    let applied: Applied;
    try {
      applied = await this.record(cmd);
    } finally {
      order?.release();
    }
    const f = applied.result.forwarded;
    if (!f) return applied;
    // Registered before any message can arrive: the outcome comes in a later turn.
    return new Promise((resolve, reject) => this.awaiting.set(`${f.marketId}:${f.seq}`, { resolve, reject }));
  }

  /** Journals the command, then applies it (in journal order) and tells the listeners. */
  private async record(cmd: UbsCommand): Promise<Applied> {
    this.inflight++;
    try {
      const lsn = await this.journal.append(encodeCommand(cmd));
      try {
        const result = this.applyMeasured(cmd);
        this.appliedLsn = lsn;
        // Before the listeners: one that throws must not keep the command from matching.
        if (result.forwarded) this.forward?.(result.forwarded);
        for (const listener of this.listeners) listener(cmd, result, lsn, this.core);
        return { result, lsn };
      } catch (e) {
        crashOnViolation(e);
        throw e;
      } finally {
        if (lsn % this.snapshotEvery === 0) this.snapshotAt(lsn);
      }
    } finally {
      if (--this.inflight === 0) this.drained?.();
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
      return this.record(outcome);
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
