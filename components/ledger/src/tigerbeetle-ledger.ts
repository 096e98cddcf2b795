import { type Client, createClient } from "tigerbeetle-node";
import type { Account, CreateAccountResult, CreateTransferResult, LedgerPort, Transfer } from "./port.ts";

/** The real ledger: a TigerBeetle cluster through its official Node client. */
export class TigerBeetleLedger implements LedgerPort {
  private readonly client: Client;

  constructor(clusterId: bigint, addresses: string[]) {
    this.client = createClient({ cluster_id: clusterId, replica_addresses: addresses });
  }

  createAccounts(batch: Account[]): Promise<CreateAccountResult[]> {
    return this.client.createAccounts(batch);
  }

  createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    return this.client.createTransfers(batch);
  }

  lookupAccounts(ids: bigint[]): Promise<Account[]> {
    return this.client.lookupAccounts(ids);
  }

  lookupTransfers(ids: bigint[]): Promise<Transfer[]> {
    return this.client.lookupTransfers(ids);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
