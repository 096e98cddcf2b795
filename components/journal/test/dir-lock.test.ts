import { spawnSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { type DirLock, fileLock, lockDataDir } from "../src/dir-lock.ts";

const refusal = (attempt: Promise<DirLock>) =>
  attempt.then(
    () => "acquired",
    (e: unknown) => (isBourseError(e, "DATA_DIR_IN_USE") ? e.message : `other: ${e}`),
  );

/** A pid that ran and is gone: a child that has exited (and been reaped). */
function deadPid(): string {
  return spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
}

describe.each([
  ["the data-dir lock", lockDataDir],
  ["the file lock (other platforms)", fileLock],
])("%s", (_name, lock) => {
  it("is held once per directory and role, names its holder, and is free again once released", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-lock-"));
    const held = await lock(dir, "ubscore");
    expect(await refusal(lock(dir, "ubscore"))).toMatch(
      `in use by another bourse ubscore (pid ${process.pid})`,
    );
    const other = await lock(dir, "settlement");
    await held.release();
    const again = await lock(dir, "ubscore");
    await again.release();
    await other.release();
  });
});

describe("the file lock", () => {
  it("takes over a lock file whose process no longer runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-lock-"));
    await writeFile(join(dir, "ubscore.lock"), deadPid());
    const taken = await fileLock(dir, "ubscore");
    expect(await refusal(fileLock(dir, "ubscore"))).toMatch(`pid ${process.pid}`);
    await taken.release();
  });
});
