import { type Client, createClient } from "tigerbeetle-node";
import { BourseError } from "../../domain/src/index.ts";
import type { Account, CreateAccountResult, CreateTransferResult, LedgerPort, Transfer } from "./port.ts";

/**
 * The real ledger: a TigerBeetle cluster through its official Node client. The client waits
 * while the cluster is away and sends again, so it never fails for that; what it throws is a
 * request that can never pass as it is (too many events, a field out of range), or a client
 * the cluster evicted (too many clients), which is replaced for the next call. Both come out as
 * typed errors: INVALID_ARGUMENT (permanent) and UNAVAILABLE (send again).
 */
export class TigerBeetleLedger implements LedgerPort {
  private client: Client;

  constructor(
    private readonly clusterId: bigint,
    private readonly addresses: string[],
  ) {
    this.client = this.connect();
  }

  createAccounts(batch: Account[]): Promise<CreateAccountResult[]> {
    return this.call(() => this.client.createAccounts(batch));
  }

  createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    return this.call(() => this.client.createTransfers(batch));
  }

  lookupAccounts(ids: bigint[]): Promise<Account[]> {
    return this.call(() => this.client.lookupAccounts(ids));
  }

  lookupTransfers(ids: bigint[]): Promise<Transfer[]> {
    return this.call(() => this.client.lookupTransfers(ids));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private connect(): Client {
    return createClient({ cluster_id: this.clusterId, replica_addresses: this.addresses });
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (e) {
      const code = (e as { code?: string }).code;
      const message = `TigerBeetle: ${(e as Error).message}`;
      if (code === "ERR_CLIENT_EVICTED") {
        this.client.destroy();
        this.client = this.connect();
        throw new BourseError("UNAVAILABLE", message);
      }
      if (code === "ERR_CLIENT_CLOSED") throw new BourseError("INTERNAL", message);
      throw new BourseError("INVALID_ARGUMENT", message, code ? { code } : undefined);
    }
  }
}
