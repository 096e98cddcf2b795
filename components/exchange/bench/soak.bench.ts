import { readFile } from "node:fs/promises";
import { closedLoop, endPhase, openLoop, orders, startServer } from "./load.ts";

/**
 * npm run bench:soak — the embedded exchange under signed orders at 70% of its measured maximum
 * for SOAK_MINUTES (default 10): bids and offers at one price, so orders trade in pairs and every
 * fill is journaled, settled into the ledger and recorded. Each minute prints the latency
 * (p50/p99/max, measured from each request's scheduled start) and the server's resident memory,
 * to show whether either grows.
 */
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const ex = await startServer("exchange");
const send = orders(ex.url, ex.keys, true);
await closedLoop(send, 3);
endPhase(ex);
// A minute, not seconds: settlement runs behind the acknowledgements, so a short burst measures
// a rate that the exchange cannot hold once settlement's share of the work catches up.
const max = await closedLoop(send, Number(process.env.SOAK_MAX_SECONDS ?? 60));
endPhase(ex);
const rate = Math.floor(max.rate * 0.7);
console.log(
  `bench:soak  embedded exchange, crossing signed orders, max ${max.rate.toFixed(0)} orders/s, offered ${rate}/s (70%) for ${MINUTES} min, node ${process.version}`,
);
console.log("  minute  orders   errors  p50 ms  p99 ms  max ms  server RSS MiB");
for (let minute = 1; minute <= MINUTES; minute++) {
  const { latencies, errors } = await openLoop(send, rate, 60);
  endPhase(ex);
  const sorted = latencies.sort((a, b) => a - b);
  const rss = await rssMiB(ex.child.pid!);
  console.log(
    `  ${String(minute).padStart(6)}  ${String(sorted.length).padStart(7)}  ${String(errors).padStart(6)}  ${quantile(sorted, 0.5).toFixed(2).padStart(6)}  ${quantile(sorted, 0.99).toFixed(2).padStart(6)}  ${sorted.at(-1)!.toFixed(1).padStart(6)}  ${rss.toFixed(0).padStart(14)}`,
  );
}
ex.child.kill("SIGTERM");
