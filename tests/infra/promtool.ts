import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll } from "vitest";
import { goBinary } from "./go-build.ts";

/**
 * Prometheus's promtool, built from the Go module proxy (cached like the other Go tools): it
 * checks expositions (`check metrics`), rule files (`check rules`) and runs rule unit tests
 * (`test rules`).
 */
const VERSION = "v0.316.0";
const run = promisify(execFile);

export function promtool(): Promise<string> {
  return goBinary({
    name: `promtool-${VERSION}`,
    installPackage: `github.com/prometheus/prometheus/cmd/promtool@${VERSION}`,
  });
}

/**
 * Builds promtool before a suite's tests start: the first build, on a fresh machine, takes
 * minutes (the module proxy, then the compiler), longer than one test may run.
 */
export function buildPromtoolFirst(): void {
  beforeAll(async () => {
    await promtool();
  }, 900_000);
}

export interface PromtoolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs promtool with `args`, `stdin` on its standard input; a non-zero exit is `ok: false`, with what it said. */
export async function runPromtool(args: string[], stdin?: string): Promise<PromtoolResult> {
  const bin = await promtool();
  const child = run(bin, args, { maxBuffer: 16 * 1024 * 1024 });
  if (stdin !== undefined) child.child.stdin!.end(stdin);
  try {
    const { stdout, stderr } = await child;
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? err.message}` };
  }
}
