import { BourseError } from "../../domain/src/errors.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import type { LogPublisher } from "../../eventlog/src/publisher.ts";
import type { CommandResult, UbsCore } from "../../ubscore/src/core.ts";
import type { UbsCommand } from "../../ubscore/src/types.ts";
import type { SettlementPort } from "./port.ts";
import { encodeEntries, settlementEntries } from "./settlement.ts";

/** What a settlement service tells its clients, after each batch and every so often. */
export interface SettlementStatus {
  readonly settled: number;
  readonly failure?: { readonly code: string; readonly message: string };
}

/** The settlement feed's topic: one partition, so the ledger sees UBSCore's journal order. */
export const SETTLEMENT_PARTITIONS = 1;
export const SETTLEMENT_KEY = "settlement";

/**
 * UBSCore's side of a settlement in its own process: each command's entries go to the settlement
 * feed on the event log (one partition, journal order, at least once), and the service's status
 * pushes say how far it has settled.
 */
export class SettlementFeed implements SettlementPort {
  private position = 0;
  private failure: BourseError | undefined;
  private waiters: { lsn: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly exchange: ExchangeDefinition,
    private readonly publisher: LogPublisher,
  ) {}

  /** Takes a status push from the service (wire it to the service's RpcClient). */
  update(status: SettlementStatus): void {
    this.position = Math.max(this.position, status.settled);
    if (status.failure) this.failure = new BourseError(status.failure.code as never, status.failure.message);
    this.waiters = this.waiters.filter((w) => {
      if (this.failure) w.reject(this.failure);
      else if (this.position >= w.lsn) w.resolve();
      else return true;
      return false;
    });
  }

  get settledLsn(): number {
    return this.position;
  }

  record(cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore): void {
    if (lsn <= this.publisher.queuedLsn) return;
    const entries = settlementEntries(this.exchange, cmd, result, lsn, core);
    if (entries) this.publisher.publish(lsn, SETTLEMENT_KEY, encodeEntries(entries));
  }

  backpressure(maxLag: number): Promise<void> | undefined {
    const owed = this.publisher.queuedLsn;
    if (owed - this.position <= maxLag) return undefined;
    return this.waitSettled(owed - Math.floor(maxLag * 0.9));
  }

  recordedDurably(): Promise<void> {
    return this.publisher.drained();
  }

  /** Positions without entries never reach the service: wait for the last one that had some. */
  waitSettled(lsn: number): Promise<void> {
    const target = Math.min(lsn, this.publisher.queuedLsn);
    if (this.failure) return Promise.reject(this.failure);
    if (this.position >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ lsn: target, resolve, reject }));
  }

  async close(): Promise<void> {
    await this.publisher.close();
    const closed = new BourseError("UNAVAILABLE", "settlement feed closed");
    for (const w of this.waiters.splice(0)) w.reject(closed);
  }
}
