import { appendFileSync } from "node:fs";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

/**
 * An opt-in event-loop stall monitor for the benchmark server and the load generator
 * (BENCH_STALLS=<file>; the generator's go to <file>.generator): the loop's delay histogram,
 * every stall of at least STALL_MS and every GC pause of at least GC_MS, each with when it ended
 * on the monotonic clock (the same in both processes, and in a `--cpu-prof` profile's samples).
 * `report(phase)` prints a summary of what was seen since the last report to stderr, appends
 * those pauses to the file (a JSON line) and starts anew.
 */
const STALL_MS = 20;
const GC_MS = 5;
const TICK_MS = 5;

export interface Pause {
  /** When it ended: microseconds on the monotonic clock (process.hrtime). */
  readonly endUs: number;
  readonly ms: number;
  readonly kind: string;
}

export function watchStalls(file: string, who: string): { report(phase: string): void } {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  let pauses: Pause[] = [];
  let last = nowUs();
  setInterval(() => {
    const now = nowUs();
    const late = (now - last) / 1000 - TICK_MS;
    if (late >= STALL_MS) pauses.push({ endUs: now, ms: late, kind: "stall" });
    last = now;
  }, TICK_MS).unref();
  // GC entries are stamped in performance time; the offset turns them into process.hrtime.
  const offsetUs = nowUs() - performance.now() * 1000;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration < GC_MS) continue;
      pauses.push({ endUs: offsetUs + (e.startTime + e.duration) * 1000, ms: e.duration, kind: "gc" });
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  return {
    report(phase) {
      const ms = (ns: number) => (ns / 1e6).toFixed(1);
      const stalls = pauses.filter((p) => p.kind === "stall").sort((a, b) => b.ms - a.ms);
      const gcs = pauses.filter((p) => p.kind === "gc");
      process.stderr.write(
        `  ${who}, ${phase}: event loop delay p50 ${ms(delay.percentile(50))} p99 ${ms(delay.percentile(99))} p99.9 ${ms(delay.percentile(99.9))} max ${ms(delay.max)} ms; ` +
          `${stalls.length} stalls >= ${STALL_MS} ms (total ${sum(stalls).toFixed(0)} ms, longest ${stalls
            .slice(0, 8)
            .map((p) => p.ms.toFixed(0))
            .join(", ")}); ` +
          `${gcs.length} GC pauses >= ${GC_MS} ms (total ${sum(gcs).toFixed(0)} ms, longest ${Math.max(0, ...gcs.map((p) => p.ms)).toFixed(0)})\n`,
      );
      appendFileSync(file, `${JSON.stringify({ phase, pauses })}\n`);
      pauses = [];
      delay.reset();
    },
  };
}

function sum(pauses: Pause[]): number {
  return pauses.reduce((total, p) => total + p.ms, 0);
}
