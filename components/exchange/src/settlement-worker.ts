import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { ExchangeDefinition } from "../../domain/src/index.ts";
import {
  familiesNamed,
  ledgerMetrics,
  settlementMetrics,
  storeMetrics,
} from "../../observability/src/index.ts";
import { decodeEntries, Settlement } from "../../settlement/src/index.ts";
import { type Calls, invoke, wireError } from "../../transport/src/index.ts";
import { openLedger, openStore } from "./backends.ts";
import { ClosingStack } from "./closing-stack.ts";
import type { FromSettlementThread, SettlementThreadData, ToSettlementThread } from "./settlement-thread.ts";

/**
 * Settlement's worker thread (settlement.kind worker): the ledger, the history store and
 * settlement's queue live here, off UBSCore's thread. It takes each applied command's entries,
 * already encoded, from UBSCore's thread (settlement-thread.ts) in journal order, and serves the
 * ledger's and the store's calls to it; it pushes its status after each settled batch and every
 * STATUS_EVERY_MS (which is how a stop for good is learnt).
 */
const STATUS_EVERY_MS = 200;

const port = parentPort!;
const { config, dataDir } = workerData as SettlementThreadData;
const send = (message: FromSettlementThread) => port.postMessage(message);

/** The metrics of what runs here, which UBSCore's thread exports as its own (settlement-thread.ts). */
const FORWARDED_METRICS = /^bourse_(settlement|ledger|store)_/;

const opened = new ClosingStack();
try {
  // Registered from the start, so that UBSCore's thread learns every family when the worker is ready.
  settlementMetrics();
  ledgerMetrics();
  storeMetrics();
  const exchange = new ExchangeDefinition(config.exchange);
  const store = await opened.open(
    () => openStore(config, dataDir),
    (s) => s.close(),
  );
  const ledger = await opened.open(
    () => openLedger(config, dataDir),
    (l) => l.close(),
  );
  let settlement: Settlement | undefined;
  const status = () => {
    if (!settlement) return;
    const { failure, lastError } = settlement;
    send({
      t: "status",
      settled: settlement.settledLsn,
      ...(failure && { failure: wireError(failure) }),
      ...(lastError && { retrying: lastError.message }),
    });
  };
  const settling = await opened.open(
    () => Settlement.open(join(dataDir, "settlement"), ledger, store, exchange, { onSettled: status }),
    (s) => s.close(),
  );
  settlement = settling;
  // Settlement closes the ledger and the store.
  opened.handedOver(ledger, store);
  const heartbeat = setInterval(status, STATUS_EVERY_MS);
  opened.defer(() => clearInterval(heartbeat));
  const calls: Calls = {
    "ledger.createAccounts": (batch: Parameters<typeof ledger.createAccounts>[0]) =>
      ledger.createAccounts(batch),
    "ledger.createTransfers": (batch: Parameters<typeof ledger.createTransfers>[0]) =>
      ledger.createTransfers(batch),
    "ledger.lookupAccounts": (ids: bigint[]) => ledger.lookupAccounts(ids),
    "ledger.lookupTransfers": (ids: bigint[]) => ledger.lookupTransfers(ids),
    "store.write": (batch: Parameters<typeof store.write>[0]) => store.write(batch),
    "store.order": (orderId: number) => store.order(orderId),
    "store.orderByClientId": (userId: number, marketId: number, clientOrderId: string) =>
      store.orderByClientId(userId, marketId, clientOrderId),
    "store.ordersByUser": (...a: Parameters<typeof store.ordersByUser>) => store.ordersByUser(...a),
    "store.tradesByMarket": (marketId: number, limit: number) => store.tradesByMarket(marketId, limit),
    "store.tradesFrom": (marketId: number, fromId: number, limit: number) =>
      store.tradesFrom(marketId, fromId, limit),
    "store.tradesByUser": (...a: Parameters<typeof store.tradesByUser>) => store.tradesByUser(...a),
    "settlement.recordedDurably": () => settling.recordedDurably(),
    metrics: () => familiesNamed(FORWARDED_METRICS),
    // UBSCore's thread terminates the worker once this answers.
    close: () => opened.close(),
  };
  port.on("message", (m: ToSettlementThread) => {
    if (m.t === "entries") {
      // Entries arrive in journal order, whole commands, as many as UBSCore applied in one turn.
      let from = 0;
      for (const end of m.ends) {
        const encoded = m.bytes.subarray(from, end);
        settling.append(decodeEntries(encoded), encoded);
        from = end;
      }
      return;
    }
    invoke(calls, m.m, m.a).then(
      (r) => send({ t: "result", c: m.c, r }),
      (e: unknown) => send({ t: "error", c: m.c, e: wireError(e) }),
    );
  });
  send({ t: "ready", settled: settling.settledLsn, recorded: settling.recordedLsn });
} catch (e) {
  await opened.close().catch(() => {
    // The start's own error is the one to report.
  });
  send({ t: "failed", e: wireError(e) });
  port.close();
}
