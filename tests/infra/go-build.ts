import { execFile } from "node:child_process";
import { access, mkdir, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Go programs the test suites need (kube-apiserver, etcd, helm), built once from the Go module
 * proxy with the machine's Go toolchain and cached by name and version under
 * ~/.cache/bourse-infra/go-bin. Concurrent suites wait for one build instead of racing.
 */
const run = promisify(execFile);
const CACHE = join(process.env.BOURSE_INFRA_CACHE ?? join(homedir(), ".cache", "bourse-infra"), "go-bin");

export interface GoProgram {
  /** File name in the cache, with the version in it (a version bump rebuilds). */
  readonly name: string;
  /** A module directory in this repository to build (`go build`), or a package to `go install`. */
  readonly moduleDir?: string;
  /** The main package inside moduleDir (default: the module's root). */
  readonly mainPackage?: string;
  readonly installPackage?: string;
  readonly ldflags?: string;
}

export async function goBinary(program: GoProgram): Promise<string> {
  const out = join(CACHE, program.name);
  if (await exists(out)) return out;
  await requireGo();
  await mkdir(CACHE, { recursive: true });
  const lock = `${out}.building`;
  while (!(await tryLock(lock))) {
    await new Promise((r) => setTimeout(r, 1000));
    if (await exists(out)) return out;
  }
  try {
    if (await exists(out)) return out;
    const tmp = `${out}.tmp-${process.pid}`;
    const flags = ["-trimpath", "-ldflags", `-s -w ${program.ldflags ?? ""}`.trim()];
    if (program.moduleDir) {
      await goRun(["build", ...flags, "-o", tmp, program.mainPackage ?? "."], program.moduleDir, {});
    } else if (program.installPackage) {
      const gobin = `${tmp}.d`;
      await goRun(["install", ...flags, program.installPackage], CACHE, { GOBIN: gobin });
      const built = program.installPackage.split("@")[0]!.split("/").pop()!;
      await rename(join(gobin, built), tmp);
      await rm(gobin, { recursive: true, force: true });
    }
    await rename(tmp, out);
    return out;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function goRun(args: string[], cwd: string, env: Record<string, string>): Promise<void> {
  try {
    await run("go", args, {
      cwd,
      env: { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0", ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`go ${args.join(" ")} failed in ${cwd}:\n${err.stderr ?? err.message}`);
  }
}

async function requireGo(): Promise<void> {
  try {
    await run("go", ["version"]);
  } catch {
    throw new Error(
      "The operator tests build kube-apiserver, etcd and helm with Go, which is not installed: install Go 1.24 or newer (https://go.dev/dl/) and make sure `go` is on PATH.",
    );
  }
}

/** mkdir is atomic: whoever creates the directory holds the lock. A lock older than an hour is stale. */
async function tryLock(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch {
    const age = Date.now() - (await stat(path).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > 3_600_000) await rm(path, { recursive: true, force: true });
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
