import {
  CONCURRENCY,
  closedLoop,
  cpuSecondsOf,
  endPhase,
  openLoop,
  orders,
  pct,
  SECONDS,
  startServer,
} from "./load.ts";

/**
 * Runs `phase` and tells the server's CPU microseconds per request it answered: all of its
 * processes (`cpuUs`), its first process alone (`ownUs`: UBSCore's in the processes layout) and
 * the processes below it (`childrenUs`: the gateway's).
 */
async function withCpu<T extends { latencies: number[] }>(pid: number, phase: () => Promise<T>) {
  const before = cpuSecondsOf(pid);
  const result = await phase();
  const after = cpuSecondsOf(pid);
  const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, result.latencies.length);
  return {
    ...result,
    cpuUs: perRequest(after.tree - before.tree),
    ownUs: perRequest(after.own - before.own),
    childrenUs: perRequest(after.tree - after.own - (before.tree - before.own)),
    mainThreadUs: perRequest(after.mainThread - before.mainThread),
  };
}

/**
 * npm run bench:gateway — signed order placements over HTTP keep-alive against the embedded
 * exchange in a separate process (journal fsync included), and the same load generator against a
 * bare fastify route for the ceiling. Phases: closed loop with CONCURRENCY connections for the
 * maximum rate; then an open loop at 70% of that rate (latency measured from each request's
 * scheduled start, so queueing is counted).
 */
// Ceiling: the same generator and requests against a bare fastify route.
const bare = await startServer("bare");
const bareSend = orders(bare.url, [
  { apiKey: "bench", secretKey: "bench", label: "a" },
  { apiKey: "bench", secretKey: "bench", label: "b" },
]);
await closedLoop(bareSend, 2);
const ceiling = await withCpu(bare.child.pid!, () => closedLoop(bareSend, SECONDS));

// BENCH_MODE=processes: the gateway in its own process on a replica of UBSCore (bourse gateway).
const ex = await startServer(process.env.BENCH_MODE === "processes" ? "processes" : "exchange");
const placeOrder = orders(ex.url, ex.keys);
await closedLoop(placeOrder, 2);
endPhase(ex);
const max = await withCpu(ex.child.pid!, () => closedLoop(placeOrder, SECONDS));
endPhase(ex);
const target = Math.floor(max.rate * 0.7);
const at70 = await openLoop(placeOrder, target, SECONDS);
endPhase(ex);
ex.child.kill();
// The same offered rate against the bare route: what the load generator itself adds to the tail.
const bareAt70 = await openLoop(bareSend, target, SECONDS);
bare.child.kill();

// gateway.threads, as the server reads it (BOURSE_* variables set its config: bench/server.ts).
const gatewayThreads = Number(process.env.BOURSE_GATEWAY_THREADS ?? 0);
console.log(
  `bench:gateway  ${process.env.BENCH_MODE === "processes" ? "bourse gateway + bourse ubscore processes" : `embedded exchange (one process, trading API ${gatewayThreads ? `on ${gatewayThreads} gateway thread(s)` : "on UBSCore's thread"})`}, books ${process.env.BENCH_MATCHING ? `in bourse matching (${process.env.BENCH_MATCHING === "aeron" ? "Aeron IPC" : "TCP"})` : "in UBSCore"}, ${CONCURRENCY} keep-alive connections, ${SECONDS} s per phase, node ${process.version}`,
);
console.log(
  `  bare fastify route     ${ceiling.rate.toFixed(0)} req/s (same signed form POST)  p50 ${pct(ceiling.latencies, 0.5)}  p99 ${pct(ceiling.latencies, 0.99)}  server CPU ${ceiling.cpuUs.toFixed(1)} µs/request`,
);
console.log(
  `  signed order (max)     ${max.rate.toFixed(0)} orders/s  p50 ${pct(max.latencies, 0.5)}  p99 ${pct(max.latencies, 0.99)}  errors ${max.errors}  (${((max.rate / ceiling.rate) * 100).toFixed(0)}% of the bare route)  server CPU ${max.cpuUs.toFixed(1)} µs/order (${(max.cpuUs / ceiling.cpuUs).toFixed(1)}x a bare request)`,
);
console.log(
  `  threads at max         ${process.env.BENCH_MODE === "processes" ? "bourse ubscore's " : ""}main thread ${max.mainThreadUs.toFixed(1)} µs/order  other threads ${(max.ownUs - max.mainThreadUs).toFixed(1)} µs/order  (settlement.kind ${process.env.BOURSE_SETTLEMENT_KIND ?? "from the config's default"})`,
);
if (process.env.BENCH_MODE === "processes") {
  console.log(
    `  per process at max     bourse ubscore (UBSCore, settlement, ledger, history) ${max.ownUs.toFixed(1)} µs/order  bourse gateway ${max.childrenUs.toFixed(1)} µs/order`,
  );
}
console.log(
  `  signed order at 70%    ${target} orders/s offered  p50 ${pct(at70.latencies, 0.5)}  p99 ${pct(at70.latencies, 0.99)}  errors ${at70.errors}`,
);
console.log(
  `  bare route, same rate  ${target} req/s offered  p50 ${pct(bareAt70.latencies, 0.5)}  p99 ${pct(bareAt70.latencies, 0.99)}`,
);
