import { execFile } from "node:child_process";

/** Runs a command to completion; on failure the error carries the command and its stderr. */
export function sh(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const tail = `${stderr}`.trim().split("\n").slice(-30).join("\n");
        reject(new Error(`${command} ${args.join(" ")} failed (${error.message.split("\n")[0]}):\n${tail}`));
      },
    );
    // A command that exits before reading its input closes the pipe: its exit status tells, not EPIPE.
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input ?? "");
  });
}

/** Like sh(), but resolves false instead of failing (for probes and best-effort cleanup). */
export function succeeds(command: string, args: readonly string[]): Promise<boolean> {
  return sh(command, args).then(
    () => true,
    () => false,
  );
}
