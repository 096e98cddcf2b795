import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { BourseError } from "../../domain/src/index.ts";

/**
 * Fencing between UBSCores that could reach one journal from different hosts (on Kubernetes: a
 * pod on a partitioned node and its replacement). The data-dir lock is per host; this is a lease
 * held in a shared record (a coordination.k8s.io Lease) that a UBSCore must hold before it opens
 * the journal and for as long as it writes.
 *
 * Safety rests on two durations measured on each process's own monotonic clock (never by
 * comparing wall clocks between hosts):
 * - the holder writes only until `renewDeadlineMs` after the start of its last successful
 *   renewal; past that it is fenced (`lost` resolves, and the process exits without another write);
 * - a contender takes the lease only after it has seen the same record (same version) unchanged for
 *   `durationMs`, counted from when it first saw it, which is after the holder's write of it.
 * So the holder stops at least `durationMs - renewDeadlineMs` before anyone else may start, as long
 * as the two clocks run at about the same rate. Every write carries the record's version: of two
 * contenders racing for an expired lease, one wins.
 */
export interface LeaseRecord {
  /** Who holds it ("" when released). */
  readonly holder: string;
  readonly durationMs: number;
  /** Opaque version: any write changes it (Kubernetes' resourceVersion). */
  readonly version: string;
}

/**
 * Where the lease lives: a record read, created and replaced under its version (the store keeps
 * in its records whatever else it needs, such as when the holder took the lease).
 */
export interface LeaseStore<R extends LeaseRecord = LeaseRecord> {
  read(): Promise<R | undefined>;
  /** false when someone created it first. */
  create(holder: string, durationMs: number): Promise<boolean>;
  /** Writes `holder` over `record`; false when the record is no longer at its version. */
  replace(record: R, holder: string, durationMs: number): Promise<boolean>;
}

export interface LeaseTimings {
  readonly durationMs: number;
  /** Less than durationMs: the margin between them absorbs a stalled event loop and clock rates. */
  readonly renewDeadlineMs: number;
  readonly retryMs: number;
}

const now = () => performance.now();

export class WriterLease {
  /** The monotonic time until which this process may write. */
  private validUntil = 0;
  private seen: { version: string; at: number } | undefined;
  private stopped = false;
  private deadline: NodeJS.Timeout | undefined;
  private fence!: (e: Error) => void;
  /** Resolves when this process may no longer write: it must stop at once. */
  readonly lost = new Promise<Error>((resolve) => {
    this.fence = resolve;
  });

  private constructor(
    private readonly store: LeaseStore,
    readonly identity: string,
    private readonly timings: LeaseTimings,
  ) {
    if (!(timings.renewDeadlineMs < timings.durationMs)) {
      throw new BourseError("INVALID_CONFIG", "the lease's renew deadline must be shorter than its duration");
    }
  }

  /**
   * Waits until `identity` holds the lease (`waiting` is told each time someone else does), then
   * keeps renewing it in the background.
   */
  static async acquire(
    store: LeaseStore,
    identity: string,
    timings: LeaseTimings,
    waiting: (holder: string) => void = () => {},
  ): Promise<WriterLease> {
    const lease = new WriterLease(store, identity, timings);
    for (;;) {
      const held = await lease.attempt();
      if (held === true) break;
      if (held !== false) waiting(held);
      await sleep(timings.retryMs);
    }
    lease.armDeadline();
    void lease.keepRenewing();
    return lease;
  }

  /** Whether this process may write now. */
  get held(): boolean {
    return !this.stopped && now() < this.validUntil;
  }

  /** Stops renewing and hands the lease back, so that a successor need not wait for it to run out. */
  async release(): Promise<void> {
    const held = this.held;
    this.stop();
    if (!held) return;
    const record = await this.store.read().catch(() => undefined);
    if (record?.holder === this.identity) {
      await this.store.replace(record, "", record.durationMs).catch(() => false);
    }
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.deadline);
  }

  /** true: held (until validUntil); false: failed (the store unreachable, a lost race); else who holds it. */
  private async attempt(): Promise<boolean | string> {
    const started = now();
    try {
      const record = await this.store.read();
      let won: boolean;
      if (!record) {
        won = await this.store.create(this.identity, this.timings.durationMs);
      } else {
        const other = record.holder !== "" && record.holder !== this.identity;
        if (other && !this.expired(record)) return record.holder;
        won = await this.store.replace(record, this.identity, this.timings.durationMs);
      }
      if (won) this.validUntil = started + this.timings.renewDeadlineMs;
      return won;
    } catch {
      return false;
    }
  }

  /** Another's record has run out once this process has seen it unchanged for its whole duration. */
  private expired(record: LeaseRecord): boolean {
    if (this.seen?.version !== record.version) {
      this.seen = { version: record.version, at: now() };
      return false;
    }
    return now() - this.seen.at >= Math.max(record.durationMs, this.timings.durationMs);
  }

  private async keepRenewing(): Promise<void> {
    while (!this.stopped) {
      await sleep(this.timings.retryMs);
      if (this.stopped) return;
      if ((await this.attempt()) === true) this.armDeadline();
    }
  }

  /** Fences this process the moment its last renewal's deadline passes. */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => {
        if (this.stopped || this.held) return this.armDeadline();
        this.stop();
        this.fence(
          new BourseError(
            "LEASE_LOST",
            `lease not renewed within ${this.timings.renewDeadlineMs} ms: another UBSCore may take over`,
          ),
        );
      },
      Math.max(0, this.validUntil - now()),
    );
  }
}
