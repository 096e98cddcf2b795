import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError } from "../../domain/src/index.ts";
import type { LogPublisher } from "../../eventlog/src/index.ts";
import type { Transport } from "../../transport/src/index.ts";
import { RpcClient } from "../../transport/src/index.ts";
import type { CommandResult, UbsCommand, UbsCore } from "../../ubscore/src/index.ts";
import type { SettlementPort } from "./port.ts";
import { encodeEntries, settlementEntries } from "./settlement.ts";

/** What a settlement service tells its clients, after each batch and every so often. */
export interface SettlementStatus {
  readonly settled: number;
  /** Why settlement stopped (a ledger conflict): it moves nothing further. */
  readonly failure?: { readonly code: string; readonly message: string };
  /** The ledger or the store unreachable: settlement is retrying. */
  readonly retrying?: string;
}

/** The settlement feed's topic: one partition, so the ledger sees UBSCore's journal order. */
export const SETTLEMENT_PARTITIONS = 1;
export const SETTLEMENT_KEY = "settlement";

/**
 * UBSCore's side of a settlement in its own process: each command's entries go to the settlement
 * feed on the event log (one partition, journal order, at least once). The service's status
 * pushes say how far it has settled; to wait for a position, the feed makes sure its records are
 * in the event log and asks the service to catch up with the feed (which works even when the
 * service restarted without its position, and no record is left to tell it).
 */
export class SettlementFeed implements SettlementPort {
  private position = 0;
  private failure: BourseError | undefined;
  /** The round trip in flight, shared by everyone waiting meanwhile. */
  private round: Promise<void> | undefined;
  private pushWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly exchange: ExchangeDefinition,
    private readonly publisher: LogPublisher,
    private readonly service: Pick<RpcClient, "call">,
  ) {}

  /** A feed to the service at `address`, status pushes wired; the client also serves the ledger. */
  static async connect(
    exchange: ExchangeDefinition,
    publisher: LogPublisher,
    transport: Transport,
    address: string,
  ): Promise<{ feed: SettlementFeed; client: RpcClient }> {
    let feed: SettlementFeed | undefined;
    const client = await RpcClient.connect(transport, address, (s) => feed?.update(s as SettlementStatus));
    feed = new SettlementFeed(exchange, publisher, client);
    return { feed, client };
  }

  /** Takes a status push from the service. */
  update(status: SettlementStatus): void {
    this.position = Math.max(this.position, status.settled);
    if (status.failure) this.failure = new BourseError(status.failure.code as never, status.failure.message);
    for (const w of this.pushWaiters.splice(0)) w();
  }

  get settledLsn(): number {
    return this.position;
  }

  get recordedLsn(): number {
    return this.publisher.queuedLsn;
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

  /**
   * Positions without entries never reach the service: waits for the last one that had some.
   * Status pushes usually show it first (a short wait under admission control); the round trip
   * settles it when no push will (nothing new to settle after a restart).
   */
  async waitSettled(lsn: number): Promise<void> {
    const target = Math.min(lsn, this.publisher.queuedLsn);
    while (this.position < target) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new BourseError("UNAVAILABLE", "settlement feed closed");
      const pushed = new Promise<void>((resolve) => this.pushWaiters.push(resolve));
      await Promise.race([this.roundTrip(), pushed]);
    }
  }

  /** Everything queued by now into the event log, then the service caught up with it: settled. */
  private roundTrip(): Promise<void> {
    this.round ??= (async () => {
      const upTo = this.publisher.queuedLsn;
      await this.publisher.drained();
      await this.service.call("caughtUp");
      this.position = Math.max(this.position, upTo);
    })().finally(() => {
      this.round = undefined;
    });
    // A waiter a push released no longer awaits it; its failure still reaches those who do.
    this.round.catch(() => {});
    return this.round;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.pushWaiters.splice(0)) w();
    await this.publisher.close();
  }
}
