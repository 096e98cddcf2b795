import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { decodeCommand, encodeCommand } from "../src/codec.ts";
import { applyJournaled, UbsCore } from "../src/core.ts";
import { UbsCoreService } from "../src/service.ts";
import type { PlaceOrder } from "../src/types.ts";

/**
 * npm run bench:ubscore — the single writer's ceiling: UBSCore's service alone (journal with group
 * commit and fsync, risk check and freeze, matching, fills), fed decoded order commands as fast as
 * it takes them, with WINDOW submissions outstanding (what many gateways keep in flight). No HTTP,
 * no codec, no settlement or history: what is left is the cost of ordering and applying a command
 * durably, the bound of the whole exchange on any machine. Two workloads: orders that rest (the
 * book grows) and orders that cross (every second order trades); each on the disk (tmpdir) and on
 * tmpfs (/dev/shm), to tell the disk's share from the code's. CPU is the process's own accounting
 * (every thread: the fsyncs run on libuv's pool), so the per-order figure survives a noisy VM.
 * Last, the same orders decoded from their journal bytes and applied to a bare UbsCore: what a
 * replica (each gateway's) spends per command, and the core's share of the service's figure.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 4_096);
const USERS = 64;
const exchange = new ExchangeDefinition(DEMO_EXCHANGE);

type Workload = "resting" | "crossing";

function order(n: number, workload: Workload): PlaceOrder {
  const side = n % 2 === 0 ? Side.Buy : Side.Sell;
  const spread = n % 500;
  const priceTicks =
    workload === "crossing" ? 6_000_000 : side === Side.Buy ? 5_000_000 + spread : 7_000_000 + spread;
  return {
    kind: "place",
    userId: 1 + (n % USERS),
    symbol: "BTCUSDT",
    clientOrderId: `b${n}`,
    side,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks,
    qtyLots: 10,
    quoteUnits: 0n,
    stp: 0,
    time: 1_700_000_000_000 + n,
  };
}

function percentile(sorted: Float64Array, p: number): string {
  return `${(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 1_000).toFixed(0)} µs`;
}

async function run(where: string, workload: Workload): Promise<void> {
  const dir = await mkdtemp(join(where, "bourse-bench-ubscore-"));
  const service = await UbsCoreService.open(dir, exchange, { snapshotEvery: 1_000_000_000 });
  try {
    for (let userId = 1; userId <= USERS; userId++) {
      await service.submit({ kind: "createUser", userId });
      await service.submit({ kind: "credit", userId, asset: "USDT", amount: 10n ** 22n });
      await service.submit({ kind: "credit", userId, asset: "BTC", amount: 10n ** 18n });
    }
    const latencies: number[] = [];
    let n = 0;
    let stopAt = 0;
    const worker = async () => {
      while (performance.now() < stopAt) {
        const sent = performance.now();
        await service.submit(order(n++, workload));
        latencies.push(performance.now() - sent);
      }
    };
    // Warm-up (JIT, journal segment), then the measured phase.
    stopAt = performance.now() + 1_000;
    await Promise.all(Array.from({ length: WINDOW }, worker));
    latencies.length = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    stopAt = started + SECONDS * 1_000;
    await Promise.all(Array.from({ length: WINDOW }, worker));
    const wallS = (performance.now() - started) / 1_000;
    const used = process.cpuUsage(cpu);
    const count = latencies.length;
    const sorted = Float64Array.from(latencies).sort();
    const cpuUs = (used.user + used.system) / count;
    console.log(
      `  ${workload.padEnd(8)} on ${where.padEnd(8)} ${Math.round(count / wallS).toLocaleString("en-US")} orders/s` +
        `  CPU ${cpuUs.toFixed(2)} µs/order (user ${(used.user / count).toFixed(2)}, system ${(used.system / count).toFixed(2)})` +
        `  ack p50 ${percentile(sorted, 0.5)}  p99 ${percentile(sorted, 0.99)}  p99.9 ${percentile(sorted, 0.999)}`,
    );
  } finally {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Decodes and applies 200,000 journaled orders to a core with the benchmark's users: CPU per command. */
function replica(workload: Workload): void {
  const core = new UbsCore(exchange);
  for (let userId = 1; userId <= USERS; userId++) {
    core.apply({ kind: "createUser", userId });
    core.apply({ kind: "credit", userId, asset: "USDT", amount: 10n ** 22n });
    core.apply({ kind: "credit", userId, asset: "BTC", amount: 10n ** 18n });
  }
  const count = 200_000;
  const records = Array.from({ length: count }, (_, n) => encodeCommand(order(n, workload)));
  const cpu = process.cpuUsage();
  for (const record of records) applyJournaled(core, decodeCommand(record));
  const used = process.cpuUsage(cpu);
  console.log(
    `  ${workload.padEnd(8)} replica: decode + apply, no journal  CPU ${((used.user + used.system) / count).toFixed(2)} µs/command`,
  );
}

console.log(
  `bench:ubscore  UBSCore service alone (journal fsync + group commit, risk, matching), ${WINDOW} submissions in flight, ${SECONDS} s per run, ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
);
for (const where of [tmpdir(), "/dev/shm"])
  for (const workload of ["resting", "crossing"] as const) await run(where, workload);
for (const workload of ["resting", "crossing"] as const) replica(workload);
