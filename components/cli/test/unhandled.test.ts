import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const main = join(import.meta.dirname, "../src/main.ts");

/** Runs `bourse config` with a module preloaded that runs `planted` once bourse has started. */
async function bourseWith(planted: string): Promise<{ code: number; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), "bourse-cli-"));
  const preload = join(dir, "plant.mjs");
  // Planted once bourse has installed its handlers (loading main.ts takes a while under tsx).
  await writeFile(
    preload,
    `const t = setInterval(() => { if (process.listenerCount("uncaughtException") === 0) return; clearInterval(t); ${planted} }, 5);\n`,
  );
  try {
    await run(process.execPath, ["--import", "tsx", "--import", preload, main, "config"], {
      env: { ...process.env, BOURSE_DATA_DIR: dir },
    });
    return { code: 0, stderr: "" };
  } catch (e) {
    const failed = e as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe("bourse treats an unhandled failure as a bug", () => {
  it("logs an unhandled rejection with its stack and exits 70", async () => {
    const { code, stderr } = await bourseWith(`Promise.reject(new Error("planted rejection"));`);
    expect(code).toBe(70);
    expect(stderr).toContain("bourse: BUG: unhandledRejection: Error: planted rejection");
    expect(stderr).toMatch(/planted rejection\n\s+at /);
  });

  it("logs an uncaught exception with its stack and exits 70", async () => {
    const { code, stderr } = await bourseWith(`throw new TypeError("planted throw");`);
    expect(code).toBe(70);
    expect(stderr).toContain("bourse: BUG: uncaughtException: TypeError: planted throw");
  });
});
