import { type ChildProcess, fork } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { startMediaDriver } from "../../../../tests/infra/aeron.ts";
import { AeronClient } from "../src/client.ts";
import { Offer } from "../src/layout.ts";
import type { Publication } from "../src/publication.ts";
import { mapFile } from "../src/shared-memory.ts";

/**
 * npm run bench:aeron — two Node processes through the real Aeron media driver (IPC):
 * ping-pong round trips of 64-byte messages (p50/p99/p99.9) and one-way streaming throughput;
 * beside them, the same two measures over a bare shared-memory ring between two Node processes
 * (the floor: no protocol at all) and a TCP loopback ping-pong (what Aeron replaces).
 * ROUND_TRIPS (default 1,000,000) and STREAM_MESSAGES (default 20,000,000) size the runs.
 */
const ROUND_TRIPS = Number(process.env.ROUND_TRIPS ?? 1_000_000);
const WARMUP = Math.min(100_000, ROUND_TRIPS);
const STREAM_MESSAGES = Number(process.env.STREAM_MESSAGES ?? 20_000_000);
const SIZE = 64;
const [PING, PONG, STREAM] = [1001, 1002, 1003];

type Role = "aeron-pong" | "aeron-sink" | "ring-pong" | "ring-sink" | "tcp-echo";

// ---------------------------------------------------------------- bare shared-memory ring
/**
 * A single-producer single-consumer ring of 64-byte slots in a mapped file: head and tail are
 * Int32 counters on their own cache lines, written with Atomics. The least any cross-process
 * message passing in Node can cost.
 */
const RING_SLOTS = 4096;
const RING_BYTES = 128 + RING_SLOTS * SIZE;
class Ring {
  private readonly counters: Int32Array;
  private readonly slots: Uint8Array;
  private readonly mask = RING_SLOTS - 1;
  constructor(memory: SharedArrayBuffer, offset: number) {
    this.counters = new Int32Array(memory, offset, 32); // [0] tail, [16] head
    this.slots = new Uint8Array(memory, offset + 128, RING_SLOTS * SIZE);
  }
  offer(m: Uint8Array): boolean {
    const tail = Atomics.load(this.counters, 0);
    if (tail - Atomics.load(this.counters, 16) >= RING_SLOTS) return false;
    this.slots.set(m, (tail & this.mask) * SIZE);
    Atomics.store(this.counters, 0, tail + 1);
    return true;
  }
  poll(handler: (m: Uint8Array) => void): boolean {
    const head = Atomics.load(this.counters, 16);
    if (head === Atomics.load(this.counters, 0)) return false;
    const at = (head & this.mask) * SIZE;
    handler(this.slots.subarray(at, at + SIZE));
    Atomics.store(this.counters, 16, head + 1);
    return true;
  }
}
function rings(path: string): [Ring, Ring, Ring] {
  const memory = mapFile(path);
  return [new Ring(memory, 0), new Ring(memory, RING_BYTES), new Ring(memory, 2 * RING_BYTES)];
}

// ---------------------------------------------------------------- child roles (busy-spinning)
async function child(role: Role, arg: string): Promise<void> {
  if (role === "tcp-echo") return tcpEcho();
  if (role === "ring-pong" || role === "ring-sink") return ringChild(role, arg);
  const client = await AeronClient.connect({ dir: arg });
  if (role === "aeron-pong") return aeronPong(client);
  return aeronSink(client);
}

function tcpEcho(): void {
  const server = createServer((s) => s.on("data", (d) => s.write(d)));
  server.listen(0, "127.0.0.1", () => {
    const a = server.address();
    process.send!({ ready: typeof a === "object" && a ? a.port : 0 });
  });
}

/** Counts messages and times them from the first one on; `report` sends the count and the time. */
function streamCounter() {
  let n = 0;
  let first = 0n;
  return {
    count: () => {
      if (n++ === 0) first = process.hrtime.bigint();
    },
    get received() {
      return n;
    },
    report: () => process.send!({ received: n, ns: Number(process.hrtime.bigint() - first) }),
  };
}

function ringChild(role: "ring-pong" | "ring-sink", arg: string): void {
  const [ping, pong, stream] = rings(arg);
  process.send!({ ready: true });
  if (role === "ring-pong") {
    const echo = (m: Uint8Array) => {
      while (!pong.offer(m)) {}
    };
    for (;;) ping.poll(echo);
  }
  const counter = streamCounter();
  while (counter.received < STREAM_MESSAGES) stream.poll(counter.count);
  counter.report();
}

async function aeronPong(client: AeronClient): Promise<never> {
  const ping = await client.addSubscription("aeron:ipc", PING);
  const pong = await client.addPublication("aeron:ipc", PONG, true);
  await until(() => pong.isConnected && ping.imageCount > 0);
  process.send!({ ready: true });
  const echo = (m: Uint8Array) => {
    while (pong.offer(m) < 0) {}
  };
  for (let i = 0; ; i++) {
    ping.poll(echo, 16);
    if ((i & 0xfffff) === 0) client.doWork(); // keepalive while spinning
  }
}

async function aeronSink(client: AeronClient): Promise<void> {
  const stream = await client.addSubscription("aeron:ipc", STREAM);
  process.send!({ ready: true });
  const counter = streamCounter();
  for (let i = 0; counter.received < STREAM_MESSAGES; i++) {
    stream.poll(counter.count, 256);
    if ((i & 0xfffff) === 0) client.doWork();
  }
  counter.report();
}

// ---------------------------------------------------------------- parent: the measuring side
function spawnRole(role: Role, arg: string): Promise<{ proc: ChildProcess; ready: unknown }> {
  const proc = fork(import.meta.filename, [role, arg], { execArgv: ["--import", "tsx"] });
  return new Promise((resolve, reject) => {
    proc.once("message", (m: { ready: unknown }) => resolve({ proc, ready: m.ready }));
    proc.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

function result(proc: ChildProcess): Promise<{ received: number; ns: number }> {
  return new Promise((resolve) =>
    proc.on("message", (m: { received?: number; ns: number }) => m.received && resolve(m as never)),
  );
}

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
}

function percentiles(ns: Float64Array): string {
  ns.sort();
  const at = (q: number) => (ns[Math.min(ns.length - 1, Math.floor(q * ns.length))]! / 1000).toFixed(2);
  return `p50 ${at(0.5)} µs  p99 ${at(0.99)} µs  p99.9 ${at(0.999)} µs  max ${at(1)} µs`;
}

/** A poll that reads a message (the echo) is all the measuring side needs of it. */
const ignore = () => {};

/** Sends one 64-byte message and spins until its echo returns, ROUND_TRIPS times after warm-up. */
function pingPong(send: (m: Uint8Array) => void, receive: () => boolean, tick?: () => void): Float64Array {
  const m = new Uint8Array(SIZE).fill(7);
  const times = new Float64Array(ROUND_TRIPS);
  for (let i = -WARMUP; i < ROUND_TRIPS; i++) {
    const t0 = process.hrtime.bigint();
    send(m);
    while (!receive()) {}
    if (i >= 0) times[i] = Number(process.hrtime.bigint() - t0);
    if ((i & 0xffff) === 0) tick?.();
  }
  return times;
}

async function aeronFigures(dir: string) {
  const client = await AeronClient.connect({ dir });
  const ping = await client.addPublication("aeron:ipc", PING, true);
  const pong = await client.addSubscription("aeron:ipc", PONG);
  const ponger = await spawnRole("aeron-pong", dir);
  await until(() => ping.isConnected && pong.imageCount > 0);
  const rtt = pingPong(
    (m) => {
      while (ping.offer(m) < 0) {}
    },
    () => pong.poll(ignore, 1) > 0,
    () => client.doWork(),
  );
  ponger.proc.kill("SIGKILL");

  const stream = await client.addPublication("aeron:ipc", STREAM, true);
  const sink = await spawnRole("aeron-sink", dir);
  const done = result(sink.proc);
  await until(() => stream.isConnected);
  const m = new Uint8Array(SIZE).fill(9);
  const t0 = process.hrtime.bigint();
  await offerAll(stream, m, () => client.doWork());
  const sent = Number(process.hrtime.bigint() - t0);
  const { received, ns } = await done;
  sink.proc.kill("SIGKILL");
  await client.close();
  return { rtt, sendRate: STREAM_MESSAGES / (sent / 1e9), receiveRate: received / (ns / 1e9) };
}

async function offerAll(publication: Publication, m: Uint8Array, tick: () => void): Promise<void> {
  for (let i = 0; i < STREAM_MESSAGES; ) {
    const r = publication.offer(m);
    if (r >= 0) i++;
    else if (r === Offer.CLOSED) throw new Error("publication closed");
    if ((i & 0xfffff) === 0) tick();
  }
}

async function ringFigures() {
  const path = `/dev/shm/bourse-bench-ring-${process.pid}`;
  writeFileSync(path, Buffer.alloc(3 * RING_BYTES));
  const [ping, pong, stream] = rings(path);
  const ponger = await spawnRole("ring-pong", path);
  const rtt = pingPong(
    (m) => {
      while (!ping.offer(m)) {}
    },
    () => pong.poll(ignore),
  );
  ponger.proc.kill("SIGKILL");
  const sink = await spawnRole("ring-sink", path);
  const done = result(sink.proc);
  const m = new Uint8Array(SIZE).fill(9);
  for (let i = 0; i < STREAM_MESSAGES; ) if (stream.offer(m)) i++;
  const { received, ns } = await done;
  sink.proc.kill("SIGKILL");
  rmSync(path, { force: true });
  return { rtt, receiveRate: received / (ns / 1e9) };
}

async function tcpFigures(trips: number): Promise<Float64Array> {
  const echo = await spawnRole("tcp-echo", "");
  const socket: Socket = netConnect({ host: "127.0.0.1", port: echo.ready as number });
  socket.setNoDelay(true);
  await new Promise((r) => socket.once("connect", r));
  const m = Buffer.alloc(SIZE, 7);
  const times = new Float64Array(trips);
  for (let i = -1000; i < trips; i++) {
    const t0 = process.hrtime.bigint();
    let need = SIZE;
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        need -= d.length;
        if (need <= 0) {
          socket.off("data", onData);
          resolve();
        }
      };
      socket.on("data", onData);
      socket.write(m);
    });
    if (i >= 0) times[i] = Number(process.hrtime.bigint() - t0);
  }
  socket.destroy();
  echo.proc.kill("SIGKILL");
  return times;
}

async function main(): Promise<void> {
  const driver = await startMediaDriver({ clientLivenessTimeoutMs: 60_000 });
  try {
    const aeron = await aeronFigures(driver.dir);
    const ring = await ringFigures();
    const tcp = await tcpFigures(Math.min(ROUND_TRIPS, 100_000));
    const mps = (r: number) => `${(r / 1e6).toFixed(2)} M msgs/s`;
    console.log(
      `bench:aeron  ${SIZE}-byte messages, ${ROUND_TRIPS.toLocaleString()} round trips, ${STREAM_MESSAGES.toLocaleString()} streamed, node ${process.version}, Java media driver (SHARED threading)`,
    );
    console.log(`  Aeron IPC round trip      ${percentiles(aeron.rtt)}`);
    console.log(
      `  Aeron IPC streaming       ${mps(aeron.receiveRate)} received (${mps(aeron.sendRate)} offered)`,
    );
    console.log(`  bare shm ring round trip  ${percentiles(ring.rtt)}`);
    console.log(`  bare shm ring streaming   ${mps(ring.receiveRate)}`);
    console.log(`  TCP loopback round trip   ${percentiles(tcp)}`);
  } finally {
    await driver.stop();
  }
}

const [role, arg] = process.argv.slice(2) as [Role | undefined, string];
if (role) await child(role, arg);
else await main();
