import { readFile, writeFile } from "node:fs/promises";
import { eventLogMetrics, secondsSince } from "../../observability/src/index.ts";
import { PRIVATE_FILE } from "../../storage/src/index.ts";
import type { EventLog } from "./port.ts";

/**
 * Publishes records that follow a journal (UBSCore's) to a topic of the event log, behind the
 * journal's acknowledgement: from a queue, in journal order; while the broker is away they wait
 * and are retried, never skipped.
 *
 * Delivery is at least once: the journal position published so far is kept in a small file, and
 * after a restart records for the replayed positions above it are published again. A crash
 * between the broker's acknowledgement and that file's update repeats a few records; consumers
 * drop any record whose position is not above the last they saw in its partition (it only ever
 * increases).
 */
export class LogPublisher {
  private queue: { lsn: number; key: string; value: Uint8Array }[] = [];
  private draining = false;
  private waiters: (() => void)[] = [];
  private backlogWaiters: { target: number; resolve: () => void }[] = [];
  private retryMs = 0;
  private closed = false;
  private queued: number;
  /** The last failure to reach the event log, while the publisher retries. */
  lastError: Error | undefined;

  private constructor(
    private readonly log: EventLog,
    readonly topic: string,
    private readonly positionFile: string,
    private published: number,
  ) {
    this.queued = published;
    // The stream's name (events, settlement): the topic without its configured prefix.
    this.stream = topic.slice(topic.lastIndexOf(".") + 1);
    this.untrack = eventLogMetrics().backlog.track(() => this.queue.length, { stream: this.stream });
  }

  private readonly stream: string;
  private readonly untrack: () => void;

  /** Opens the publisher, creating the topic with `partitions` if it is new. */
  static async open(
    log: EventLog,
    topic: string,
    partitions: number,
    positionFile: string,
  ): Promise<LogPublisher> {
    await log.createTopic(topic, partitions);
    const saved = await readFile(positionFile, "utf8").catch(() => "0");
    return new LogPublisher(log, topic, positionFile, Number(saved) || 0);
  }

  /** The last journal position known to be in the event log. */
  get publishedLsn(): number {
    return this.published;
  }

  /** The last journal position given a record (published or waiting). */
  get queuedLsn(): number {
    return this.queued;
  }

  /** Queues the record of journal position `lsn`; positions already published are skipped. */
  publish(lsn: number, key: string, value: Uint8Array): void {
    if (lsn <= this.published) return;
    this.queued = lsn;
    this.queue.push({ lsn, key, value });
    this.kick();
  }

  /**
   * Admission control for the journal's writer: undefined while fewer than `maxBacklog` records
   * wait; else a promise that resolves once the backlog is a tenth below that. While the broker is
   * away records wait in memory; past the bound new commands wait too, rather than the process
   * growing until it dies.
   */
  backpressure(maxBacklog: number): Promise<void> | undefined {
    if (this.queue.length < maxBacklog) return undefined;
    const target = Math.floor(maxBacklog * 0.9);
    return new Promise((resolve) => this.backlogWaiters.push({ target, resolve }));
  }

  /** Resolves once everything queued so far is in the event log (before a journal snapshot). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.untrack();
    this.closed = true;
    for (const w of this.backlogWaiters.splice(0)) w.resolve();
    while (this.draining) await new Promise((r) => setTimeout(r, 10));
  }

  private kick(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, 1_000);
      const start = performance.now();
      try {
        await this.log.append(
          this.topic,
          batch.map(({ key, value }) => ({ key, value })),
        );
        eventLogMetrics().appends.observe({ stream: this.stream }, secondsSince(start));
      } catch (e) {
        eventLogMetrics().retries.inc({ stream: this.stream });
        // The broker is away: keep everything, wait, try again (longer each time, up to 5 s).
        this.lastError = e as Error;
        this.retryMs = Math.min(5_000, Math.max(100, this.retryMs * 2));
        await new Promise((r) => setTimeout(r, this.retryMs));
        continue;
      }
      this.retryMs = 0;
      this.lastError = undefined;
      this.queue = this.queue.slice(batch.length);
      this.published = batch.at(-1)!.lsn;
      this.backlogWaiters = this.backlogWaiters.filter((w) => {
        if (this.queue.length > w.target) return true;
        w.resolve();
        return false;
      });
      await writeFile(this.positionFile, String(this.published), { mode: PRIVATE_FILE });
    }
    this.draining = false;
    if (this.queue.length === 0) for (const w of this.waiters.splice(0)) w();
  }
}
