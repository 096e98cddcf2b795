import { type ChildProcess, spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { createInterface } from "node:readline";
import { sign } from "../src/keys.ts";

/**
 * npm run bench:gateway — signed order placements over HTTP keep-alive against the embedded
 * exchange in a separate process (journal fsync included), and the same load generator against a
 * bare fastify route for the ceiling. Phases: closed loop with CONCURRENCY connections for the
 * maximum rate; then an open loop at 70% of that rate (latency measured from each request's
 * scheduled start, so queueing is counted).
 */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Key {
  apiKey: string;
  secretKey: string;
  label: string;
}

async function startServer(
  mode: "exchange" | "processes" | "bare",
): Promise<{ child: ChildProcess; url: string; keys: Key[] }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", new URL("./server.ts", import.meta.url).pathname, mode],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const info = JSON.parse(line) as { url: string; keys?: Key[] };
  return { child, url: info.url, keys: info.keys ?? [] };
}

type Send = () => Promise<number>;

function sender(
  url: string,
  agent: Agent,
  makeRequest: () => { method: string; path: string; headers: Record<string, string>; body?: string },
): Send {
  const { hostname, port } = new URL(url);
  return () =>
    new Promise((resolve, reject) => {
      const r = makeRequest();
      const req = request(
        { hostname, port, agent, method: r.method, path: r.path, headers: r.headers },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(r.body);
    });
}

async function closedLoop(
  send: Send,
  seconds: number,
): Promise<{ rate: number; latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const status = await send();
      latencies.push(performance.now() - t0);
      if (status !== 200) errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { rate: latencies.length / ((performance.now() - t0) / 1000), latencies, errors };
}

async function openLoop(
  send: Send,
  rate: number,
  seconds: number,
): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.floor(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      send().then((status) => {
        latencies.push(performance.now() - scheduled);
        if (status !== 200) errors++;
      }),
    );
  }
  await Promise.all(inflight);
  return { latencies, errors };
}

function pct(values: number[], p: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2)} ms`;
}

const agent = () => new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** Signed order placements: alice bids below, bob offers above, so orders rest (and are journaled). */
function orders(url: string, keys: Key[]): Send {
  let n = 0;
  return sender(url, agent(), () => {
    const k = keys[n % 2]!;
    const side = n % 2 === 0 ? "BUY" : "SELL";
    const price = side === "BUY" ? 50000 + (n % 500) : 70000 + (n % 500);
    n++;
    const payload = `symbol=BTCUSDT&side=${side}&type=LIMIT&timeInForce=GTC&quantity=0.0001&price=${price}&newOrderRespType=ACK&recvWindow=60000&timestamp=${Date.now()}&newClientOrderId=b${n}`;
    return {
      method: "POST",
      path: "/api/v3/order",
      headers: { "x-mbx-apikey": k.apiKey, "content-type": "application/x-www-form-urlencoded" },
      body: `${payload}&signature=${sign(k.secretKey, payload)}`,
    };
  });
}

// Ceiling: the same generator and requests against a bare fastify route.
const bare = await startServer("bare");
const bareSend = orders(bare.url, [
  { apiKey: "bench", secretKey: "bench", label: "a" },
  { apiKey: "bench", secretKey: "bench", label: "b" },
]);
await closedLoop(bareSend, 2);
const ceiling = await closedLoop(bareSend, SECONDS);

// BENCH_MODE=processes: the gateway in its own process on a replica of UBSCore (bourse gateway).
const ex = await startServer(process.env.BENCH_MODE === "processes" ? "processes" : "exchange");
const placeOrder = orders(ex.url, ex.keys);
await closedLoop(placeOrder, 2);
const max = await closedLoop(placeOrder, SECONDS);
const target = Math.floor(max.rate * 0.7);
const at70 = await openLoop(placeOrder, target, SECONDS);
ex.child.kill();
// The same offered rate against the bare route: what the load generator itself adds to the tail.
const bareAt70 = await openLoop(bareSend, target, SECONDS);
bare.child.kill();

console.log(
  `bench:gateway  ${process.env.BENCH_MODE === "processes" ? "bourse gateway + bourse ubscore processes" : "embedded exchange (one process)"}, ${CONCURRENCY} keep-alive connections, ${SECONDS} s per phase, node ${process.version}`,
);
console.log(
  `  bare fastify route     ${ceiling.rate.toFixed(0)} req/s (same signed form POST)  p50 ${pct(ceiling.latencies, 0.5)}  p99 ${pct(ceiling.latencies, 0.99)}`,
);
console.log(
  `  signed order (max)     ${max.rate.toFixed(0)} orders/s  p50 ${pct(max.latencies, 0.5)}  p99 ${pct(max.latencies, 0.99)}  errors ${max.errors}  (${((max.rate / ceiling.rate) * 100).toFixed(0)}% of the bare route)`,
);
console.log(
  `  signed order at 70%    ${target} orders/s offered  p50 ${pct(at70.latencies, 0.5)}  p99 ${pct(at70.latencies, 0.99)}  errors ${at70.errors}`,
);
console.log(
  `  bare route, same rate  ${target} req/s offered  p50 ${pct(bareAt70.latencies, 0.5)}  p99 ${pct(bareAt70.latencies, 0.99)}`,
);
