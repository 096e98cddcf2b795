import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { join } from "node:path";
import {
  BourseError,
  ExchangeDefinition,
  type ExchangeSpec,
  parseExact,
  stringifyExact,
} from "../../domain/src/index.ts";
import { readJournal, SnapshotStore } from "../../journal/src/index.ts";
import { decodeCommand } from "./codec.ts";
import { applyJournaled, type MatchingMode, type Retention, UbsCore } from "./core.ts";

/**
 * UBSCore's snapshots are built in the background: a child process at the lowest CPU priority
 * restores the previous snapshot, replays the journal up to the new snapshot's position and writes
 * the result. The state at a position is a function of the journal (that is how a restart
 * recovers), so it needs nothing from the live core, which never stops for it. (Capturing the live
 * core instead stopped the process for 100 - 230 ms with a large book, the exchange's worst stall;
 * a worker thread at normal priority took CPU from the live core on a busy machine.)
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

/** Runs `job` in a low-priority child process; resolves once the snapshot is on disk. */
export function snapshotInBackground(job: SnapshotJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [new URL("../../../bin/background.mjs", import.meta.url).pathname, import.meta.url],
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    // The job on stdin: an exchange's definition can outgrow what an environment variable holds.
    child.stdin!.on("error", () => {}); // a child that died early: its exit reports it
    child.stdin!.end(stringifyExact(job));
    // Only idle CPU: on a busy machine the live core comes first; the snapshot waits.
    if (child.pid !== undefined) setPriority(child.pid, 19);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new BourseError("UNAVAILABLE", `snapshot at ${job.lsn} failed (exit ${code}): ${stderr.trim()}`),
        );
    });
  });
}

/** The background process's entry (bin/background.mjs). */
export function runInBackground(job: string): Promise<void> {
  return buildSnapshot(parseExact<SnapshotJob>(job));
}

/** The previous snapshot plus the journal after it, up to job.lsn, saved. */
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
