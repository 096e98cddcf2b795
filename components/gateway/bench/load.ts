/** The load generator shared by bench:gateway and bench:soak: signed order placements over HTTP keep-alive. */
import { type ChildProcess, spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { createInterface } from "node:readline";
import { sign } from "../src/keys.ts";

export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

export interface Key {
  apiKey: string;
  secretKey: string;
  label: string;
}

export async function startServer(
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

export type Send = () => Promise<number>;

export function sender(
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

export async function closedLoop(
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

export async function openLoop(
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

export function pct(values: number[], p: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2)} ms`;
}

const agent = () => new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/**
 * Signed order placements from alice (bids) and bob (offers). Resting: bids below, offers above, so
 * every order rests and changes the book. Crossing: both at one price, so each pair trades.
 */
export function orders(url: string, keys: Key[], crossing = false): Send {
  let n = 0;
  return sender(url, agent(), () => {
    const k = keys[n % 2]!;
    const side = n % 2 === 0 ? "BUY" : "SELL";
    const price = crossing ? 60000 : side === "BUY" ? 50000 + (n % 500) : 70000 + (n % 500);
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
