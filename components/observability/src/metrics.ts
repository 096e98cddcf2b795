import { counter, histogram, SECONDS, SIZES, sampledCounter, sampledGauge } from "./registry.ts";

/**
 * Every metric Bourse exports, by component (docs/operability.md lists them). Each group is
 * registered on first use, so a process exports the groups of the components it runs. Label
 * values come from closed sets (routes, command kinds, Binance error codes, ledger result names,
 * journal and stream names), never from a request's own data.
 */
function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

export const gatewayMetrics = lazy(() => ({
  requests: histogram(
    "bourse_gateway_request_duration_seconds",
    "Trading API requests: latency by route, method and outcome (ok, rejected: 4xx, error: 5xx)",
    SECONDS,
    ["route", "method", "outcome"],
  ),
  rejections: counter("bourse_gateway_rejections_total", "Requests refused, by Binance error code", ["code"]),
  // With gateway threads (gateway.threads) each has a replica: the process reports the one furthest
  // behind, whose lag (against bourse_ubscore_journal_position) is what a client may read, and 0
  // for connected if any thread's replica lost UBSCore, as a gateway process whose replica did.
  replicaPosition: sampledGauge(
    "bourse_gateway_replica_position",
    "The UBSCore journal position this gateway's replica has applied",
    [],
    "min",
  ),
  replicaConnected: sampledGauge(
    "bourse_gateway_replica_connected",
    "1 while this gateway's replica is subscribed to UBSCore",
    [],
    "min",
  ),
  websocketConnections: sampledGauge(
    "bourse_gateway_websocket_connections",
    "Open WebSocket stream connections",
  ),
  websocketSubscriptions: sampledGauge(
    "bourse_gateway_websocket_subscriptions",
    "Streams subscribed over all open WebSocket connections",
  ),
  websocketDropped: counter(
    "bourse_gateway_websocket_dropped_total",
    "WebSocket connections dropped for reading too slowly (send buffer over its bound)",
  ),
}));

export const ubscoreMetrics = lazy(() => ({
  commands: sampledCounter(
    "bourse_ubscore_commands_total",
    "Commands journaled and applied, by kind and outcome (applied, or rejected: refused by the state machine)",
    ["command", "outcome"],
  ),
  apply: histogram(
    "bourse_ubscore_apply_seconds",
    "Time to apply one journaled command to UBSCore's state",
    SECONDS,
  ),
  queueDepth: sampledGauge(
    "bourse_ubscore_queue_depth",
    "Commands accepted by UBSCore and not yet applied (waiting for the journal)",
  ),
  journalPosition: sampledGauge(
    "bourse_ubscore_journal_position",
    "The journal position of the last command appended",
  ),
  replayed: sampledGauge(
    "bourse_ubscore_replayed_commands",
    "Journaled commands replayed at start (after the snapshot it started from)",
  ),
  matchingInFlight: sampledGauge(
    "bourse_ubscore_matching_in_flight",
    "Order commands sent to the matching service and not yet answered",
  ),
  settlementLagPositions: sampledGauge(
    "bourse_settlement_lag_positions",
    "Journal positions UBSCore has applied that settlement has not yet settled",
  ),
  settlementLagSeconds: sampledGauge(
    "bourse_settlement_lag_seconds",
    "Age of the oldest applied command not yet settled (0 when settlement has caught up)",
  ),
  reconciles: counter(
    "bourse_reconcile_runs_total",
    "Reconcile runs, by result (clean, differences, failed)",
    ["result"],
  ),
  reconcileDifferences: sampledGauge(
    "bourse_reconcile_differences",
    "Accounts whose balances differed between UBSCore and the ledger at the last reconcile",
  ),
  reconcileLast: sampledGauge(
    "bourse_reconcile_last_run_timestamp_seconds",
    "When the last reconcile finished (Unix time; 0 before the first)",
  ),
}));

export const journalMetrics = lazy(() => ({
  commitRecords: histogram(
    "bourse_journal_commit_records",
    "Records written per group commit, by journal",
    SIZES,
    ["journal"],
  ),
  fsync: histogram(
    "bourse_journal_fsync_seconds",
    "Time to make one group commit durable (an O_DSYNC write, or an fdatasync), by journal",
    SECONDS,
    ["journal"],
  ),
}));

export const matchingMetrics = lazy(() => ({
  commands: sampledCounter("bourse_matching_commands_total", "Order commands matched"),
  handovers: sampledCounter("bourse_matching_handovers_total", "Books handed over by UBSCore (connections)"),
  connected: sampledGauge("bourse_matching_session_connected", "1 while UBSCore is connected and served"),
  execute: histogram("bourse_matching_execute_seconds", "Time to match one order command", SECONDS),
}));

export const settlementMetrics = lazy(() => ({
  settledPosition: sampledGauge(
    "bourse_settlement_settled_position",
    "The last UBSCore journal position whose entries are in the ledger and the store",
  ),
  queued: sampledGauge("bourse_settlement_queue_records", "Records received and not yet settled"),
  batchRecords: histogram("bourse_settlement_batch_records", "Records settled per batch", SIZES),
  batchTransfers: histogram("bourse_settlement_batch_transfers", "Ledger transfers per settled batch", [
    0,
    ...SIZES,
  ]),
  errors: counter(
    "bourse_settlement_errors_total",
    "Settlement failures: retry (ledger or store unreachable, retried) or stopped (refused for good)",
    ["kind"],
  ),
}));

export const ledgerMetrics = lazy(() => ({
  requests: histogram("bourse_ledger_request_seconds", "Ledger requests: latency by operation", SECONDS, [
    "operation",
  ]),
  results: counter(
    "bourse_ledger_results_total",
    "Events the ledger answered, by operation and result (TigerBeetle's result names)",
    ["operation", "result"],
  ),
  errors: counter("bourse_ledger_request_errors_total", "Ledger requests that failed whole, by operation", [
    "operation",
  ]),
}));

export const storeMetrics = lazy(() => ({
  writes: histogram("bourse_store_write_seconds", "History store writes (one per settled batch)", SECONDS),
  errors: counter("bourse_store_write_errors_total", "History store writes that failed (and are retried)"),
}));

export const eventLogMetrics = lazy(() => ({
  appends: histogram(
    "bourse_eventlog_append_seconds",
    "Event log (Kafka or file) appends: latency by stream (events, settlement)",
    SECONDS,
    ["stream"],
  ),
  retries: counter(
    "bourse_eventlog_append_retries_total",
    "Event log appends that failed and are retried, by stream",
    ["stream"],
  ),
  backlog: sampledGauge(
    "bourse_eventlog_backlog_records",
    "Records waiting to be appended to the event log, by stream",
    ["stream"],
  ),
}));

/** Seconds since `start` (a `performance.now()` reading): the one clock every latency here uses. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
