import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../infra/ports.ts";
import { TOKEN } from "./harness.ts";

/**
 * `bourse` subcommands as real processes, on loopback, for the attacks that need them: two
 * gateways on one UBSCore (the multi-process layout over TCP, embedded adapters), or two
 * exchanges on one data directory. Every process started here is killed when the suite ends.
 */
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface Bourse {
  readonly child: ChildProcess;
  /** The first line it printed (it prints one once it serves). */
  readonly ready: Promise<string>;
  /** Its exit code, and everything it wrote to stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  /** SIGTERM, then its exit. */
  stop(): Promise<{ code: number | null; stderr: string }>;
}

export function bourse(command: string, env: NodeJS.ProcessEnv): Bourse {
  // Demo users off unless the caller says otherwise (BOURSE_DEMO: undefined leaves it unset).
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    BOURSE_ADMIN_TOKEN: TOKEN,
    BOURSE_DEMO: "false",
    ...env,
  };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  const child = spawn(process.execPath, [bin, command], {
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve({ code, stderr });
    }),
  );
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    void exited.then(({ code }) => reject(new Error(`bourse ${command} exited with ${code}: ${stderr}`)));
  });
  ready.catch(() => {}); // a process expected to fail is awaited through `exited`
  return {
    child,
    ready,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** `bourse ubscore` and gateways over TCP on loopback, state in `dataDir`. */
export class Layout {
  private constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly ubscore: Bourse,
    readonly adminUrl: string,
  ) {}

  static async start(dataDir: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Layout> {
    const [transport, admin] = [await freePort(), await freePort()];
    const env = {
      ...extraEnv,
      BOURSE_DATA_DIR: dataDir,
      BOURSE_ADMIN_PORT: String(admin),
      BOURSE_UBSCORE_LISTEN: `127.0.0.1:${transport}`,
      BOURSE_UBSCORE_ADDRESS: `127.0.0.1:${transport}`,
    };
    const ubscore = bourse("ubscore", env);
    await ubscore.ready;
    return new Layout(env, ubscore, `http://127.0.0.1:${admin}`);
  }

  /**
   * A UBSCore process in a fresh data directory with two gateways on it; `stops` gets what ends
   * them (to be run last first).
   */
  static async withTwoGateways(dataDir: string, stops: (() => Promise<unknown>)[]) {
    const layout = await Layout.start(dataDir);
    stops.push(() => layout.ubscore.stop());
    const [a, b] = [await layout.gateway(), await layout.gateway()];
    stops.push(
      () => a.gateway.stop(),
      () => b.gateway.stop(),
    );
    return { layout, a, b };
  }

  /** A gateway on a port of its own; resolves with its trading URL once it serves. */
  async gateway(): Promise<{ gateway: Bourse; url: string }> {
    const port = await freePort();
    const gateway = bourse("gateway", { ...this.env, BOURSE_GATEWAY_PORT: String(port) });
    await gateway.ready;
    return { gateway, url: `http://127.0.0.1:${port}` };
  }
}
