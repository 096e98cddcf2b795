import { join } from "node:path";
import type { BourseConfig } from "../../config/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import { EmbeddedLedger, measuredLedger, TigerBeetleLedger } from "../../ledger/src/index.ts";
import type { HistoryStore } from "../../store/src/index.ts";
import { CassandraStore, EmbeddedStore } from "../../store/src/index.ts";

/**
 * The ledger and the history store the config names. Apart from embedded.ts so that settlement's
 * worker thread (settlement-worker.ts) opens them without loading the rest of the exchange.
 */

/** The ledger the config names: embedded (journal under dataDir) or a TigerBeetle cluster. */
export async function openLedger(config: BourseConfig, dataDir: string): Promise<LedgerPort> {
  const ledger = config.ledger;
  return measuredLedger(
    ledger.kind === "tigerbeetle"
      ? new TigerBeetleLedger(BigInt(ledger.clusterId), [...ledger.addresses])
      : await EmbeddedLedger.open(join(dataDir, "ledger")),
  );
}

/** The history store the config names: embedded (journal under dataDir) or ScyllaDB/Cassandra. */
export function openStore(config: BourseConfig, dataDir: string): Promise<HistoryStore> {
  const store = config.store;
  if (store.kind === "cassandra") {
    return CassandraStore.connect({
      contactPoints: store.contactPoints,
      localDataCenter: store.localDataCenter,
      keyspace: store.keyspace,
      replicationFactor: store.replicationFactor,
    });
  }
  return EmbeddedStore.open(join(dataDir, "store"));
}
