import type { BourseConfig } from "../../config/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import type { LagClock } from "../../observability/src/index.ts";
import {
  gatewayMetrics,
  Health,
  type ObservabilityServer,
  serveObservability,
  ubscoreMetrics,
} from "../../observability/src/index.ts";
import type { Reconciliation, SettlementPort, SettlementService } from "../../settlement/src/index.ts";
import type { UbsCoreReplica, UbsCoreService } from "../../ubscore/src/index.ts";

export type Component = "gateway" | "ubscore" | "matching" | "settlement";

/**
 * A component's health and its observability listener (observability.<component> in the config;
 * none when unset), started before anything else so that `/livez` answers during a long replay
 * while `/readyz` says why it is not ready yet. The component replaces the `starting` check with
 * its own once it serves.
 */
export interface Observability {
  readonly health: Health;
  /** Where /metrics, /livez and /readyz are served, if anywhere. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

export async function observe(config: BourseConfig, component: Component): Promise<Observability> {
  const health = new Health();
  health.ready(component, () => "starting");
  const listen = config.observability[component];
  const server: ObservabilityServer | undefined = listen
    ? await serveObservability(listen, health)
    : undefined;
  return {
    health,
    url: server?.url,
    close: async () => server?.close(),
  };
}

/** A journal write stuck this long (a hung disk) means the process cannot make progress. */
export const JOURNAL_STALL_MS = 30_000;

/**
 * UBSCore's node in its health and metrics: live while its journal's writes complete (its
 * process says when it is ready: once everything it serves listens), settlement's lag as UBSCore sees it (positions
 * handed over and not yet settled, and for how long). Returns the function that stops it all.
 */
export function observeUbsCore(
  health: Health,
  service: Pick<UbsCoreService, "journalStalledMs">,
  settlement: Pick<SettlementPort, "settledLsn" | "recordedLsn">,
  lag: LagClock,
): () => void {
  health.live("journal", () => {
    const stalled = service.journalStalledMs();
    return stalled > JOURNAL_STALL_MS
      ? `a journal write has not completed in ${Math.round(stalled)} ms`
      : undefined;
  });
  const metrics = ubscoreMetrics();
  const untrack = [
    metrics.settlementLagPositions.track(() => Math.max(0, settlement.recordedLsn - settlement.settledLsn)),
    metrics.settlementLagSeconds.track(() =>
      lag.secondsBehind(settlement.settledLsn, settlement.recordedLsn),
    ),
    metrics.reconcileDifferences.track(() => lastReconcile.differences),
    metrics.reconcileLast.track(() => lastReconcile.at),
  ];
  return () => {
    for (const stop of untrack) stop();
  };
}

/** The last reconcile's outcome, for its gauges (one UBSCore per process). */
const lastReconcile = { differences: 0, at: 0 };

/** A reconcile, counted by result (clean, differences, failed), its differences kept for the gauge. */
export async function measuredReconcile(run: () => Promise<Reconciliation>): Promise<Reconciliation> {
  const { reconciles } = ubscoreMetrics();
  try {
    const result = await run();
    lastReconcile.differences = result.differences.length;
    lastReconcile.at = Date.now() / 1000;
    reconciles.inc({ result: result.differences.length === 0 ? "clean" : "differences" });
    return result;
  } catch (e) {
    reconciles.inc({ result: "failed" });
    throw e;
  }
}

/** A gateway's replica: ready while subscribed to UBSCore (it applies every command as it comes). */
export function observeReplica(
  health: Health,
  replica: Pick<UbsCoreReplica, "closed" | "appliedLsn">,
): () => void {
  const connected = subscribed(replica);
  health.ready("gateway", () => (connected() ? undefined : "the replica lost UBSCore"));
  return measureReplica(replica, connected);
}

/**
 * A replica's position and connection in the gateway's gauges (a gateway process's, or a gateway
 * thread's: gateway-thread.ts). Returns the function that stops them.
 */
export function measureReplica(
  replica: Pick<UbsCoreReplica, "closed" | "appliedLsn">,
  connected = subscribed(replica),
): () => void {
  const metrics = gatewayMetrics();
  const untrack = [
    metrics.replicaPosition.track(() => replica.appliedLsn),
    metrics.replicaConnected.track(() => (connected() ? 1 : 0)),
  ];
  return () => {
    for (const stop of untrack) stop();
  };
}

/** Whether the replica is still subscribed to UBSCore. */
function subscribed(replica: Pick<UbsCoreReplica, "closed">): () => boolean {
  let connected = true;
  void replica.closed.then(() => {
    connected = false;
  });
  return () => connected;
}

/** How often settlement asks its ledger whether it answers, for readiness while nothing settles. */
const LEDGER_PING_MS = 5_000;

/**
 * `bourse settlement`: ready while its feed is read, its ledger answers, and nothing stops it
 * (a refused entry) or holds it back (the ledger or the store unreachable, retried).
 */
export function observeSettlement(
  health: Health,
  service: Pick<SettlementService, "lost" | "settlement">,
  ledger: LedgerPort,
): () => void {
  let feedLost: string | undefined;
  void service.lost.then((e) => {
    feedLost = `the event log cannot be read: ${e.message}`;
  });
  let ledgerDown: string | undefined;
  const ping = setInterval(() => {
    ledger.lookupAccounts([1n]).then(
      () => {
        ledgerDown = undefined;
      },
      (e: Error) => {
        ledgerDown = `the ledger does not answer: ${e.message}`;
      },
    );
  }, LEDGER_PING_MS);
  ping.unref();
  health.ready("settlement", () => {
    const { failure, lastError } = service.settlement;
    if (failure) return `stopped: ${failure.code}`;
    if (feedLost) return feedLost;
    if (ledgerDown) return ledgerDown;
    if (lastError) return "retrying: the ledger or the store is unreachable";
    return undefined;
  });
  return () => clearInterval(ping);
}
