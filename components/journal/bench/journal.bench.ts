import { write } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal } from "../src/journal.ts";

/**
 * npm run bench:journal — the journal's group commit on this machine's disk: CONCURRENCY appenders
 * of RECORD_BYTES records, each waiting for its record to be on disk, for SECONDS; then the same
 * beside what the exchange also writes (a growing scratch file never synced, 2 MiB every 100 ms,
 * and a 30 MB snapshot written and fsynced every 2 s). Prints records and commits per second and
 * the append latency. Also: what handing one fs call to libuv's thread pool costs the caller.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const RECORD_BYTES = 200;

const dir = await mkdtemp(join(tmpdir(), "bourse-bench-journal-"));
try {
  console.log(
    `bench:journal  ${CONCURRENCY} appenders, ${RECORD_BYTES}-byte records, ${SECONDS} s per phase, ${dir}`,
  );
  console.log(
    `  thread-pool call (fs.write returning)  ${(await poolCallUs(join(dir, "pool"))).toFixed(1)} us (p50)`,
  );
  console.log(`  alone                  ${await appendPhase(join(dir, "alone"))}`);
  const stop = backgroundWrites(dir);
  console.log(`  with background writes ${await appendPhase(join(dir, "busy"))}`);
  await stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function appendPhase(journalDir: string): Promise<string> {
  const journal = await Journal.open(journalDir);
  const payload = new Uint8Array(RECORD_BYTES).fill(7);
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const first = journal.nextLsn;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await journal.append(payload);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const records = journal.nextLsn - first;
  await journal.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
  return (
    `${(records / seconds).toFixed(0)} records/s; append latency p50 ${q(0.5)} p99 ${q(0.99)} ` +
    `p99.9 ${q(0.999)} max ${latencies.at(-1)!.toFixed(1)} ms`
  );
}

/** The synchronous part of fs.write: what the event loop pays per call before the pool runs it. */
async function poolCallUs(path: string): Promise<number> {
  const handle = await open(path, "w");
  const buf = Buffer.alloc(RECORD_BYTES);
  const costs: number[] = [];
  for (let i = 0; i < 2000; i++) {
    await new Promise<void>((resolve, reject) => {
      const t = performance.now();
      write(handle.fd, buf, 0, buf.length, null, (e) => (e ? reject(e) : resolve()));
      costs.push((performance.now() - t) * 1000);
    });
  }
  await handle.close();
  return costs.sort((a, b) => a - b)[costs.length >> 1]!;
}

function backgroundWrites(dir: string): () => Promise<void> {
  let running = true;
  const scratch = (async () => {
    const handle = await open(join(dir, "scratch"), "w");
    const chunk = Buffer.alloc(2 << 20, 1);
    for (let at = 0; running; at += chunk.length) {
      await handle.write(chunk, 0, chunk.length, at);
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.close();
  })();
  const snapshots = (async () => {
    const snapshot = Buffer.alloc(30 << 20, 3);
    while (running) {
      await new Promise((r) => setTimeout(r, 2000));
      const path = join(dir, "snapshot");
      await writeFile(path, snapshot);
      const handle = await open(path, "r+");
      await handle.sync();
      await handle.close();
    }
  })();
  return async () => {
    running = false;
    await Promise.all([scratch, snapshots]);
  };
}
