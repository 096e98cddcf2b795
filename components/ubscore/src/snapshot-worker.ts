import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { BourseError } from "../../domain/src/errors.ts";
import { ExchangeDefinition, type ExchangeSpec } from "../../domain/src/exchange.ts";
import { readJournal } from "../../journal/src/journal.ts";
import { SnapshotStore } from "../../journal/src/snapshot.ts";
import { decodeCommand } from "./codec.ts";
import { applyJournaled, type MatchingMode, type Retention, UbsCore } from "./core.ts";

/**
 * UBSCore's snapshots are built off the event loop: a worker thread restores the previous
 * snapshot, replays the journal up to the new snapshot's position and writes the result. The
 * state at a position is a function of the journal (that is how a restart recovers), so the
 * worker needs nothing from the live core, which never stops for it. (Capturing the live core
 * instead stopped the process for 100 - 230 ms with a large book, the exchange's worst stall.)
 */
export interface SnapshotJob {
  readonly dataDir: string;
  readonly exchange: ExchangeSpec;
  readonly retention: Retention;
  readonly matching: MatchingMode;
  /** The journal position the snapshot is taken at: durable, and applied by the live core. */
  readonly lsn: number;
}

export function snapshotDirs(dataDir: string): { journal: string; snapshots: string } {
  return { journal: join(dataDir, "ubscore", "journal"), snapshots: join(dataDir, "ubscore", "snapshots") };
}

/** Runs `job` in a worker thread; resolves once the snapshot is on disk. */
export function snapshotInWorker(job: SnapshotJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("../../../bin/ts-worker.mjs", import.meta.url), {
      workerData: { module: import.meta.url, job },
    });
    let error: Error | undefined;
    worker.once("message", (m: { error?: string }) => {
      if (m.error) error = new BourseError("UNAVAILABLE", `snapshot at ${job.lsn} failed: ${m.error}`);
    });
    worker.once("error", (e) => {
      error = e;
    });
    worker.once("exit", (code) => {
      if (!error && code !== 0) error = new BourseError("UNAVAILABLE", `snapshot worker exited with ${code}`);
      if (error) reject(error);
      else resolve();
    });
  });
}

/** The worker's work: the previous snapshot plus the journal after it, up to job.lsn, saved. */
export async function buildSnapshot(job: SnapshotJob): Promise<void> {
  const dirs = snapshotDirs(job.dataDir);
  const snapshots = new SnapshotStore(dirs.snapshots);
  const exchange = new ExchangeDefinition(job.exchange);
  const latest = await snapshots.loadLatest();
  if (latest && latest.lsn >= job.lsn) return;
  const core = latest
    ? UbsCore.restore(exchange, latest.bytes, job.retention, job.matching)
    : new UbsCore(exchange, job.retention, job.matching);
  await readJournal(dirs.journal, (latest?.lsn ?? 0) + 1, job.lsn, (payload) => {
    applyJournaled(core, decodeCommand(payload));
  });
  await snapshots.saveChunks(job.lsn, core.snapshotChunks());
}

if (!isMainThread && workerData?.job) {
  await buildSnapshot(workerData.job as SnapshotJob).then(
    () => parentPort!.postMessage({}),
    (e: Error) => parentPort!.postMessage({ error: e.stack ?? String(e) }),
  );
}
