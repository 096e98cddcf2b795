/** The load generator shared by bench:gateway and bench:soak: signed order placements over HTTP keep-alive. */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { sign } from "../../gateway/src/index.ts";
import { watchStalls } from "./stalls.ts";

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
    [
      ...(process.env.BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      new URL("./server.ts", import.meta.url).pathname,
      mode,
    ],
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

const generatorStalls = process.env.BENCH_STALLS
  ? watchStalls(`${process.env.BENCH_STALLS}.generator`, "load generator")
  : undefined;
let phases = 0;

/**
 * With BENCH_STALLS set, reports the event-loop stalls of the phase that just ended (stalls.ts):
 * the exchange server's (asked by a signal) and the load generator's own.
 */
export function endPhase(server: { child: ChildProcess }): void {
  if (!generatorStalls) return;
  server.child.kill("SIGUSR2");
  generatorStalls.report(`phase ${++phases}`);
}

export type Send = () => Promise<number>;

/**
 * A lean HTTP/1.1 keep-alive client: CONCURRENCY sockets, one request in flight on each, requests
 * written as one buffer and responses framed by Content-Length. Node's http client spends tens of
 * microseconds per request; on a 2-vCPU machine that shares its cores with the server, the
 * generator's own cost showed up as the tail it was supposed to measure.
 */
export function sender(
  url: string,
  makeRequest: () => { method: string; path: string; headers: Record<string, string>; body?: string },
): Send {
  const { hostname, port } = new URL(url);
  const idle: Connection[] = [];
  const waiting: (() => void)[] = [];
  let opened = 0;
  const acquire = async (): Promise<Connection> => {
    const ready = idle.pop();
    if (ready) return ready;
    if (opened < CONCURRENCY) {
      opened++;
      return Connection.open(hostname, Number(port));
    }
    await new Promise<void>((r) => waiting.push(r));
    return acquire();
  };
  const release = (c: Connection) => {
    idle.push(c);
    waiting.shift()?.();
  };
  return async () => {
    const r = makeRequest();
    const head = [`${r.method} ${r.path} HTTP/1.1`, `host: ${hostname}:${port}`];
    for (const [k, v] of Object.entries(r.headers)) head.push(`${k}: ${v}`);
    head.push(`content-length: ${Buffer.byteLength(r.body ?? "")}`, "", r.body ?? "");
    const connection = await acquire();
    try {
      return await connection.send(head.join("\r\n"));
    } finally {
      release(connection);
    }
  };
}

class Connection {
  private pending: ((status: number) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  private buffered: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("error", (e) => this.failed?.(e));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  send(request: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      this.failed = reject;
      this.socket.write(request);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buffered.toString("latin1", 0, end);
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffered.length < end + 4 + length) return;
    this.buffered = this.buffered.subarray(end + 4 + length);
    const done = this.pending!;
    this.pending = undefined;
    done(Number(head.slice(9, 12)));
  }
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
    // Late (queued behind the generator): counted from when it was due; early: from when sent.
    const from = Math.min(scheduled, performance.now());
    inflight.push(
      send().then((status) => {
        latencies.push(performance.now() - from);
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

/**
 * Signed order placements from alice (bids) and bob (offers). Resting: bids below, offers above, so
 * every order rests and changes the book. Crossing: both at one price, so each pair trades.
 */
export function orders(url: string, keys: Key[], crossing = false): Send {
  let n = 0;
  return sender(url, () => {
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

/**
 * CPU seconds (user + system, every thread) used so far by process `pid` alone (`own`) and with
 * every process below it (`tree`: the processes layout's gateway under UBSCore's), from /proc:
 * the server's own accounting, so a figure per request survives a machine whose speed drifts.
 * `mainThread`: the JavaScript thread of process `pid` alone (its event loop; the rest of `own` is
 * its worker threads, libuv's pool and V8's helpers). Linux only; 0 elsewhere.
 */
export function cpuSecondsOf(pid: number): { own: number; tree: number; mainThread: number } {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return { own: 0, tree: 0, mainThread: 0 };
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) in parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // Gone between the listing and the read.
    }
  }
  const inTree = (p: number): boolean => p === pid || (p > 1 && stats.has(p) && inTree(stats.get(p)!.ppid));
  let ticks = 0;
  for (const [p, s] of stats) if (inTree(p)) ticks += s.ticks;
  return {
    own: (stats.get(pid)?.ticks ?? 0) / CLOCK_TICKS_PER_SECOND,
    tree: ticks / CLOCK_TICKS_PER_SECOND,
    mainThread: threadTicks(pid, pid) / CLOCK_TICKS_PER_SECOND,
  };
}

/** CPU ticks of one thread of `pid` (its main thread's id is the pid); 0 once gone. */
function threadTicks(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** USER_HZ: the unit of /proc's times on Linux (100 on every architecture it runs here). */
const CLOCK_TICKS_PER_SECOND = 100;
