import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import type { EventLog, Subscription } from "../../eventlog/src/port.ts";
import type { LedgerPort } from "../../ledger/src/port.ts";
import type { HistoryStore } from "../../store/src/port.ts";
import type { Transport, TransportServer } from "../../transport/src/port.ts";
import { RpcServer } from "../../transport/src/rpc.ts";
import { SETTLEMENT_PARTITIONS, type SettlementStatus } from "./feed.ts";
import { ledgerCalls } from "./remote-ledger.ts";
import { decodeEntries, Settlement } from "./settlement.ts";

/**
 * `bourse settlement`: settlement in a process of its own. It consumes UBSCore's settlement feed
 * from the event log (one consumer group; a batch is committed only once settled, so a crash
 * re-delivers, and re-delivered positions are skipped or answered `exists`), settles into the
 * ledger and the store, and serves over the transport: status pushes (how far it has settled,
 * or why it stopped) and, when the ledger is the embedded one, the ledger itself.
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
  private constructor(
    readonly settlement: Settlement,
    private readonly server: RpcServer & TransportServer,
    private readonly subscription: Subscription,
    private readonly heartbeat: NodeJS.Timeout,
  ) {}

  /** Where clients connect. */
  get address(): string {
    return this.server.address;
  }

  static async start(o: SettlementServiceOptions): Promise<SettlementService> {
    let server: (RpcServer & TransportServer) | undefined;
    const status = (): SettlementStatus => {
      const failure = settlement.failure;
      return {
        settled: settlement.settledLsn,
        ...(failure && { failure: { code: failure.code, message: failure.message } }),
      };
    };
    const settlement: Settlement = await Settlement.open(o.dir, o.ledger, o.store, o.exchange, {
      source: "log",
      onSettled: () => server?.push(status()),
    });
    server = await RpcServer.listen(o.transport, o.listen, o.serveLedger ? ledgerCalls(o.ledger) : {});
    const heartbeat = setInterval(() => server.push(status()), STATUS_EVERY_MS);
    await o.log.createTopic(o.topic, SETTLEMENT_PARTITIONS);
    const subscription = await o.log.subscribe(SETTLEMENT_GROUP, o.topic, async (records) => {
      for (const r of records) settlement.append(decodeEntries(r.value));
      // Committed once settled; a stopped settlement rejects here and the batch stays uncommitted.
      await settlement.waitSettled(settlement.recordedLsn);
      server.push(status());
    });
    return new SettlementService(settlement, server, subscription, heartbeat);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.subscription.stop();
    await this.server.close();
    await this.settlement.close();
  }
}
