import type { ExchangeDefinition } from "../../domain/src/index.ts";
import type { EventLog, ReadRecord, Subscription } from "../../eventlog/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import type { HistoryStore } from "../../store/src/index.ts";
import type { Transport } from "../../transport/src/index.ts";
import { RpcServer } from "../../transport/src/index.ts";
import { SETTLEMENT_PARTITIONS, type SettlementStatus } from "./feed.ts";
import { ledgerCalls } from "./remote-ledger.ts";
import { decodeEntries, Settlement } from "./settlement.ts";

/**
 * `bourse settlement`: settlement in a process of its own. It consumes UBSCore's settlement feed
 * from the event log (one consumer group; a batch is committed only once settled, so a crash
 * re-delivers, and re-delivered positions are skipped or answered `exists`), settles into the
 * ledger and the store, and serves over the transport: status pushes (how far it has settled,
 * or why it stopped), `caughtUp` (resolves once everything in the feed when it was called is
 * settled: what UBSCore waits on, and true even for a service that just started with no memory of
 * positions) and, when the ledger is the embedded one, the ledger itself.
 */
export const SETTLEMENT_GROUP = "bourse-settlement";

export interface SettlementServiceOptions {
  readonly dir: string;
  readonly exchange: ExchangeDefinition;
  readonly ledger: LedgerPort;
  readonly store: HistoryStore;
  readonly log: EventLog;
  readonly topic: string;
  readonly transport: Transport;
  readonly listen: string;
  /** Serve the ledger to the other processes (it is this process's embedded one). */
  readonly serveLedger: boolean;
}

/** How often the status is pushed even when nothing settles (a client that just connected learns it). */
const STATUS_EVERY_MS = 200;

export class SettlementService {
  private offsetWaiters: { offset: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private resolveLost!: (e: Error) => void;
  /** Resolves if the feed subscription stops for good (the event log cannot be read). */
  readonly lost = new Promise<Error>((resolve) => {
    this.resolveLost = resolve;
  });
  private server: RpcServer | undefined;
  private subscription!: Subscription;
  private heartbeat!: NodeJS.Timeout;
  settlement!: Settlement;

  /** `settledOffset`: the feed's offset up to which everything is settled. */
  private constructor(
    private readonly o: SettlementServiceOptions,
    private settledOffset: number,
  ) {}

  /** Where clients connect. */
  get address(): string {
    return this.server!.address;
  }

  static async start(o: SettlementServiceOptions): Promise<SettlementService> {
    await o.log.createTopic(o.topic, SETTLEMENT_PARTITIONS);
    const service = new SettlementService(o, await o.log.committed(SETTLEMENT_GROUP, o.topic, 0));
    await service.open();
    return service;
  }

  private async open(): Promise<void> {
    const o = this.o;
    this.settlement = await Settlement.open(o.dir, o.ledger, o.store, o.exchange, {
      source: "log",
      onSettled: () => this.server?.push(this.status()),
    });
    const server = await RpcServer.listen(o.transport, o.listen, {
      ...(o.serveLedger ? ledgerCalls(o.ledger) : {}),
      caughtUp: () => this.caughtUp(),
    });
    this.server = server;
    this.subscription = await o.log.subscribe(
      SETTLEMENT_GROUP,
      o.topic,
      (records) => this.settle(records),
      (e) => this.loseFeed(e),
    );
    this.heartbeat = setInterval(() => server.push(this.status()), STATUS_EVERY_MS);
  }

  /** One batch of the feed: committed (by the caller, once this resolves) only when settled. */
  private async settle(records: readonly ReadRecord[]): Promise<void> {
    for (const r of records) this.settlement.append(decodeEntries(r.value));
    try {
      await this.settlement.waitSettled(this.settlement.recordedLsn);
    } catch (e) {
      for (const w of this.offsetWaiters.splice(0)) w.reject(e as Error);
      throw e;
    }
    this.settledOffset = Math.max(this.settledOffset, records.at(-1)!.offset + 1);
    this.offsetWaiters = this.offsetWaiters.filter((w) => {
      if (this.settledOffset < w.offset) return true;
      w.resolve();
      return false;
    });
  }

  /** The feed can no longer be read: nothing settles from here; the process's supervisor restarts it. */
  private loseFeed(e: Error): void {
    for (const w of this.offsetWaiters.splice(0)) w.reject(e);
    this.resolveLost(e);
  }

  /** Resolves with the settled position once everything now in the feed is settled. */
  private async caughtUp(): Promise<number> {
    const end = await this.o.log.endOffset(this.o.topic, 0);
    const failure = this.settlement.failure;
    if (failure) throw failure;
    if (this.settledOffset < end) {
      await new Promise<void>((resolve, reject) => this.offsetWaiters.push({ offset: end, resolve, reject }));
    }
    return this.settlement.settledLsn;
  }

  private status(): SettlementStatus {
    const { failure, lastError: retrying } = this.settlement;
    return {
      settled: this.settlement.settledLsn,
      ...(failure && { failure: { code: failure.code, message: failure.message } }),
      ...(retrying && { retrying: retrying.message }),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.subscription.stop();
    await this.server!.close();
    await this.settlement.close();
  }
}
