import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AeronClient } from "../../components/transport/src/index.ts";
import { mavenLibs } from "./maven.ts";
import { type ServerProcess, startProcess, waitUntil } from "./process.ts";

/**
 * The real Aeron Java media driver (io.aeron:aeron-all from Maven Central) with its directory in
 * a fresh folder under /dev/shm (memory-backed, as in production), so two runs never share one.
 * Ready when our own client finds its CnC file and a live heartbeat.
 */
export const AERON_VERSION = "1.51.0";

export interface MediaDriver {
  /** aeron.dir: where clients find cnc.dat. */
  readonly dir: string;
  readonly lib: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export function aeronLibs(): Promise<string> {
  return mavenLibs(`aeron-${AERON_VERSION}`, [`io.aeron:aeron-all:${AERON_VERSION}`]);
}

export async function startMediaDriver(
  options: { clientLivenessTimeoutMs?: number } = {},
): Promise<MediaDriver> {
  const lib = await aeronLibs();
  const liveness = options.clientLivenessTimeoutMs ?? 5_000;
  const work = await mkdtemp(join(tmpdir(), "bourse-aeron-"));
  const parent = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = await mkdtemp(join(parent, "bourse-aeron-"));
  const logFile = join(work, "media-driver.log");
  const server: ServerProcess = startProcess(
    "java",
    [
      "-Xms128m",
      "-Xmx256m",
      "--add-opens",
      "java.base/jdk.internal.misc=ALL-UNNAMED",
      `-Daeron.dir=${dir}`,
      "-Daeron.dir.delete.on.start=true",
      "-Daeron.dir.delete.on.shutdown=true",
      "-Daeron.threading.mode=SHARED",
      "-Daeron.ipc.term.buffer.length=16777216",
      `-Daeron.client.liveness.timeout=${liveness * 1_000_000}`,
      // The driver insists that a blocked publication is unblocked only after a client is dead.
      `-Daeron.publication.unblock.timeout=${(liveness + 10_000) * 1_000_000}`,
      "-Daeron.publication.linger.timeout=200000000",
      "-cp",
      `${lib}/*`,
      "io.aeron.driver.MediaDriver",
    ],
    logFile,
  );
  await waitUntil(
    "Aeron media driver",
    async () => {
      const client = await AeronClient.connect({ dir, driverTimeoutMs: 1_000 });
      await client.close();
      return true;
    },
    60_000,
    server,
  ).catch(async (error: unknown) => {
    // A JVM that never got ready says where it is stuck: SIGQUIT prints its threads to the log.
    server.child.kill("SIGQUIT");
    await new Promise((r) => setTimeout(r, 1_000));
    await server.stop();
    throw error;
  });
  return {
    dir,
    lib,
    logFile,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
