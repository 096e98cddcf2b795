import { CreateAccountStatus, CreateTransferStatus } from "tigerbeetle-node";
import { ledgerMetrics, secondsSince } from "../../observability/src/index.ts";
import type { LedgerPort } from "./port.ts";

/**
 * A ledger whose every request is measured: latency by operation, the result of every event
 * created (TigerBeetle's result names: created, exists, exceeds_credits, ...), and requests that
 * failed whole. Wraps either adapter, so the embedded ledger and TigerBeetle report alike.
 */
export function measuredLedger(ledger: LedgerPort): LedgerPort {
  const metrics = ledgerMetrics();
  const timed = async <T>(operation: string, request: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await request();
    } catch (e) {
      metrics.errors.inc({ operation });
      throw e;
    } finally {
      metrics.requests.observe({ operation }, secondsSince(start));
    }
  };
  const countResults = (operation: string, names: Record<number, string>, results: { status: number }[]) => {
    const counts = new Map<number, number>();
    for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    for (const [status, n] of counts)
      metrics.results.inc({ operation, result: names[status] ?? "unknown" }, n);
  };
  return {
    async createAccounts(batch) {
      const results = await timed("create_accounts", () => ledger.createAccounts(batch));
      countResults("create_accounts", CreateAccountStatus, results);
      return results;
    },
    async createTransfers(batch) {
      const results = await timed("create_transfers", () => ledger.createTransfers(batch));
      countResults("create_transfers", CreateTransferStatus, results);
      return results;
    },
    lookupAccounts: (ids) => timed("lookup_accounts", () => ledger.lookupAccounts(ids)),
    lookupTransfers: (ids) => timed("lookup_transfers", () => ledger.lookupTransfers(ids)),
    close: () => ledger.close(),
  };
}
