import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";

/**
 * A server process for a test suite: output to a log file, and stopped in every outcome (stop(),
 * or this Node process exiting for any reason, including a failed test run).
 */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function startProcess(command: string, args: string[], logFile: string, cwd?: string): ServerProcess {
  const log = openSync(logFile, "a");
  const child = spawn(command, args, { cwd, stdio: ["ignore", log, log], detached: false });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return {
    child,
    logFile,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}

/** Polls `ready` until it resolves true; after `timeoutMs` fails with the last reason it was not. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  server: ServerProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason = "it never answered";
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null)
      throw new Error(`${what} exited with ${server.child.exitCode}; see ${server.logFile}`);
    const answered = await ready().catch((error: unknown) => {
      reason = error instanceof Error ? error.message : String(error);
      return false;
    });
    if (answered) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms (${reason}); see ${server.logFile}`);
}
