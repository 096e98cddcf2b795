import type { LedgerPort } from "../../ledger/src/index.ts";
import type { Calls, RpcClient } from "../../transport/src/index.ts";

/**
 * The embedded ledger of a `bourse settlement` process, for the other processes: served by
 * `ledgerCalls`, reached through `remoteLedger`. It stands in for a TigerBeetle cluster where
 * there is none (on one machine); like TigerBeetle's client, calls wait while the server is away
 * and are sent again, which its idempotent ids make safe.
 */
export function ledgerCalls(ledger: LedgerPort): Calls {
  return {
    createAccounts: (batch: Parameters<LedgerPort["createAccounts"]>[0]) => ledger.createAccounts(batch),
    createTransfers: (batch: Parameters<LedgerPort["createTransfers"]>[0]) => ledger.createTransfers(batch),
    lookupAccounts: (ids: bigint[]) => ledger.lookupAccounts(ids),
    lookupTransfers: (ids: bigint[]) => ledger.lookupTransfers(ids),
  };
}

export function remoteLedger(client: RpcClient): LedgerPort {
  return {
    createAccounts: (batch) => client.call("createAccounts", batch),
    createTransfers: (batch) => client.call("createTransfers", batch),
    lookupAccounts: (ids) => client.call("lookupAccounts", ids),
    lookupTransfers: (ids) => client.call("lookupTransfers", ids),
    // The connection belongs to whoever opened it.
    close: async () => {},
  };
}
