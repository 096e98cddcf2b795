import { readFile, writeFile } from "node:fs/promises";
import { parseExact, stringifyExact } from "../../domain/src/json.ts";
import { type EventLog, partitionOf } from "../../eventlog/src/port.ts";
import { historyFor } from "../../settlement/src/settlement.ts";
import type { StoredOrder, StoredTrade } from "../../store/src/port.ts";
import type { CommandResult, UbsCore } from "../../ubscore/src/core.ts";
import type { UbsCommand } from "../../ubscore/src/types.ts";

/**
 * UBSCore's event stream on the event log (Kafka in a cluster): for every applied command that
 * touched a market, one record keyed by the market's symbol with the journal position, the orders
 * as they stand after the command and the trades it made. A market's records share a partition,
 * so they keep their order. Records are published behind the acknowledgement, from a queue, in
 * journal order; while the broker is away they wait and are retried, never skipped.
 *
 * Delivery is at least once: the position published so far is kept in a small file, and after a
 * restart the journal's replayed commands above it are published again. A crash between the
 * broker's acknowledgement and that file's update repeats a few records; consumers drop any
 * record whose `lsn` is not above the last they saw in its partition (it only ever increases).
 */
export interface MarketEvent {
  readonly lsn: number;
  readonly market: string;
  readonly orders: readonly StoredOrder[];
  readonly trades: readonly StoredTrade[];
}

/** Fixed, so a market's partition does not move when markets are added. */
export const EVENT_PARTITIONS = 8;

export class EventPublisher {
  private queue: { lsn: number; key: string; value: Uint8Array }[] = [];
  private draining = false;
  private waiters: (() => void)[] = [];
  private backlogWaiters: { target: number; resolve: () => void }[] = [];
  private retryMs = 0;
  private closed = false;
  /** The last failure to reach the event log, while the publisher retries. */
  lastError: Error | undefined;

  private constructor(
    private readonly log: EventLog,
    readonly topic: string,
    private readonly positionFile: string,
    private published: number,
  ) {}

  static async open(log: EventLog, topic: string, positionFile: string): Promise<EventPublisher> {
    await log.createTopic(topic, EVENT_PARTITIONS);
    const saved = await readFile(positionFile, "utf8").catch(() => "0");
    return new EventPublisher(log, topic, positionFile, Number(saved) || 0);
  }

  /** The last journal position known to be in the event log. */
  get publishedLsn(): number {
    return this.published;
  }

  /** A UBSCore command listener: live commands and those replayed at start alike. */
  record(_cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore): void {
    if (lsn <= this.published || result.marketId === undefined) return;
    const { orders, trades } = historyFor(core, result);
    if (orders.length === 0 && trades.length === 0) return;
    const market = core.exchange.marketById(result.marketId)!.symbol;
    const event: MarketEvent = { lsn, market, orders, trades };
    this.queue.push({ lsn, key: market, value: Buffer.from(stringifyExact(event)) });
    this.kick();
  }

  /**
   * Admission control for UBSCore: undefined while fewer than `maxBacklog` records wait; else a
   * promise that resolves once the backlog is a tenth below that. While the broker is away
   * records wait in memory; past the bound new commands wait too, rather than the process
   * growing until it dies.
   */
  backpressure(maxBacklog: number): Promise<void> | undefined {
    if (this.queue.length < maxBacklog) return undefined;
    const target = Math.floor(maxBacklog * 0.9);
    return new Promise((resolve) => this.backlogWaiters.push({ target, resolve }));
  }

  /** Resolves once everything recorded so far is in the event log (before a UBSCore snapshot). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
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
      try {
        await this.log.append(
          this.topic,
          batch.map(({ key, value }) => ({ key, value })),
        );
      } catch (e) {
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
      await writeFile(this.positionFile, String(this.published));
    }
    this.draining = false;
    if (this.queue.length === 0) for (const w of this.waiters.splice(0)) w();
  }
}

/** Reads an event record's value. */
export function decodeMarketEvent(value: Uint8Array): MarketEvent {
  return parseExact<MarketEvent>(Buffer.from(value).toString("utf8"));
}

/** Where a market's events go (the same function the event log places records with). */
export function eventPartition(market: string): number {
  return partitionOf(market, EVENT_PARTITIONS);
}
