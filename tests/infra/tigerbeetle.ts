import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "tigerbeetle-node";
import { freePort } from "./ports.ts";
import { type ServerProcess, startProcess, waitUntil } from "./process.ts";

/**
 * A real TigerBeetle: one replica (a cluster of one) on a loopback port chosen by the kernel, its
 * data file formatted in a fresh temporary directory. The server binary is `TIGERBEETLE_BIN`, or
 * `../shared/tigerbeetle/tigerbeetle` beside the repository (where CI lays it). Ready when a client
 * gets an answer. Runs as in production (direct I/O, no `--development`, whose smaller messages
 * would cut requests to 253 events); only the grid cache is small, to keep a test server's memory
 * near TigerBeetle's static minimum (about 2.2 GB resident).
 */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);
const CACHE_GRID = "64MiB";
const START_TIMEOUT_MS = 120_000;

export interface TigerBeetleServer {
  readonly address: string;
  readonly clusterId: bigint;
  readonly dir: string;
  /** Kills the replica (SIGKILL, a crash) and starts it again on the same data file and port. */
  restart(): Promise<void>;
  /** Freezes the replica (SIGSTOP): it holds its connections and answers nothing until `resume`. */
  pause(): void;
  resume(): void;
  /** Stops the replica and removes its data. */
  stop(): Promise<void>;
}

export function tigerBeetleBinary(): string {
  const binary = process.env.TIGERBEETLE_BIN ?? join(REPO_ROOT, "../shared/tigerbeetle/tigerbeetle");
  if (!existsSync(binary)) {
    throw new Error(`no TigerBeetle server at ${binary}: set TIGERBEETLE_BIN to a tigerbeetle 0.17 binary`);
  }
  return binary;
}

export async function startTigerBeetle(): Promise<TigerBeetleServer> {
  const binary = tigerBeetleBinary();
  const dir = await mkdtemp(join(await directIoDir(), "bourse-tigerbeetle-"));
  const dataFile = join(dir, "0_0.tigerbeetle");
  // A gigabyte a replica: removed however the test run ends (stop() removes it sooner).
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const clusterId = randomBytes(8).readBigUInt64LE(0) + 1n;
  await run(binary, ["format", `--cluster=${clusterId}`, "--replica=0", "--replica-count=1", dataFile]);
  const address = `127.0.0.1:${await freePort()}`;
  const launch = async (): Promise<ServerProcess> => {
    const server = startProcess(
      binary,
      ["start", `--addresses=${address}`, `--cache-grid=${CACHE_GRID}`, dataFile],
      join(dir, "tigerbeetle.log"),
    );
    await answers(clusterId, address, server);
    return server;
  };
  let server = await launch();
  return {
    address,
    clusterId,
    dir,
    restart: async () => {
      await kill(server);
      server = await launch();
    },
    pause: () => server.child.kill("SIGSTOP"),
    resume: () => server.child.kill("SIGCONT"),
    stop: async () => {
      server.child.kill("SIGCONT");
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The temporary directory, if its filesystem takes direct I/O (ext4, xfs do; tmpfs does not);
 * otherwise `.cache/tigerbeetle` in the repository (a disk). TigerBeetle refuses to start without direct I/O
 * unless run with `--development`, which would change the request size under test.
 */
async function directIoDir(): Promise<string> {
  const tmp = tmpdir();
  if (await takesDirectIo(tmp)) return tmp;
  const fallback = join(REPO_ROOT, ".cache", "tigerbeetle");
  await mkdir(fallback, { recursive: true });
  if (await takesDirectIo(fallback)) return fallback;
  throw new Error(
    `neither ${tmp} nor ${fallback} supports direct I/O (O_DIRECT), which TigerBeetle needs; set TMPDIR to a directory on ext4 or xfs`,
  );
}

async function takesDirectIo(dir: string): Promise<boolean> {
  const probe = join(dir, `.bourse-odirect-${process.pid}`);
  try {
    const file = await open(probe, constants.O_CREAT | constants.O_RDWR | constants.O_DIRECT);
    await file.close();
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * Waits until the replica answers a client's request (a lookup), or fails with its log's tail.
 * The port is polled first: a client started before it listens logs every refused connection.
 */
async function answers(clusterId: bigint, address: string, server: ServerProcess): Promise<void> {
  const [host, port] = address.split(":") as [string, string];
  await waitUntil("TigerBeetle", () => accepts(host, Number(port)), START_TIMEOUT_MS, server);
  const client = createClient({ cluster_id: clusterId, replica_addresses: [address] });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.lookupAccounts([1n]),
      new Promise((_, reject) => {
        server.child.once("exit", (code) =>
          reject(new Error(`TigerBeetle exited with ${code}; see ${server.logFile}`)),
        );
        timer = setTimeout(
          () =>
            reject(new Error(`TigerBeetle not ready after ${START_TIMEOUT_MS} ms; see ${server.logFile}`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function kill(server: ServerProcess): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once("exit", () => resolve());
    server.child.kill("SIGKILL");
  });
}
