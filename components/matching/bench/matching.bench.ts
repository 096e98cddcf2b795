import { cpus } from "node:os";
import { MatchingEngine } from "../src/engine.ts";
import { type Command, EventType } from "../src/protocol.ts";
import { generateWorkload } from "./workload.ts";

/**
 * npm run bench:matching — the standard workload (see workload.ts), 1,000,000 commands on one
 * market. Pass 1 warms the JIT on a throwaway engine; pass 2 times the whole stream on a fresh
 * engine (throughput, events produced and drained per command); pass 3 times every command on
 * another fresh engine with performance.now() for the latency percentiles (the timer's own cost,
 * measured separately, is printed and subtracted).
 */
const COUNT = Number(process.env.BENCH_COMMANDS ?? 1_000_000);
const SEED = Number(process.env.BENCH_SEED ?? 42);

function run(
  commands: Command[],
  perCommand?: Float64Array,
): { events: number; trades: number; engine: MatchingEngine } {
  const engine = new MatchingEngine({ quotePerTickLot: 1 });
  const buf = engine.events;
  let events = 0;
  let trades = 0;
  for (let i = 0; i < commands.length; i++) {
    const t0 = perCommand ? performance.now() : 0;
    engine.execute(commands[i]!);
    if (perCommand) perCommand[i] = performance.now() - t0;
    // Drain: a consumer reads every event (here: counts trades) before the buffer is reused.
    const d = buf.data;
    for (let e = 0; e < buf.count; e++) if (d[e * 12] === EventType.Trade) trades++;
    events += buf.count;
    buf.clear();
  }
  return { events, trades, engine };
}

function timerOverheadMs(): number {
  const n = 1_000_000;
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < n; i++) x += performance.now() - performance.now();
  return (performance.now() - t0 - x * 0) / n / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const tGen = performance.now();
const commands = generateWorkload(COUNT, SEED);
const genMs = performance.now() - tGen;

run(commands);
const t0 = performance.now();
const result = run(commands);
const elapsedMs = performance.now() - t0;

const latencies = new Float64Array(commands.length);
run(commands, latencies);
const overhead = timerOverheadMs();
latencies.sort();
const us = (ms: number) => ((ms - overhead) * 1000).toFixed(3);

console.log(
  `bench:matching  ${COUNT.toLocaleString("en")} commands, seed ${SEED}, ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`,
);
console.log(`  generated in ${genMs.toFixed(0)} ms (untimed)`);
console.log(
  `  throughput     ${(((COUNT / elapsedMs) * 1000) / 1e6).toFixed(2)} M commands/s (${elapsedMs.toFixed(1)} ms)`,
);
console.log(
  `  events         ${result.events.toLocaleString("en")} (${(result.events / COUNT).toFixed(2)}/command), trades ${result.trades.toLocaleString("en")}`,
);
console.log(`  resting at end ${result.engine.restingOrderCount.toLocaleString("en")} orders`);
console.log(
  `  latency/command (timer overhead ${(overhead * 1e6).toFixed(0)} ns subtracted): p50 ${us(percentile(latencies, 0.5))} µs  p99 ${us(percentile(latencies, 0.99))} µs  p99.9 ${us(percentile(latencies, 0.999))} µs  max ${us(latencies[latencies.length - 1]!)} µs`,
);
