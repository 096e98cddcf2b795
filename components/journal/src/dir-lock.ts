import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { fail } from "../../domain/src/index.ts";
import { PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";

/**
 * One writer per data directory and role: a second UBSCore (or settlement) on the same journal
 * would hand out the same order ids and overwrite the first one's records.
 *
 * On Linux the lock is a listening socket in the abstract namespace, named after the directory's
 * device and inode: binding it is atomic, only one process can hold a name, and the kernel
 * releases it the moment its holder dies, however it dies. There is no lock file, so nothing is
 * ever stale; the holder answers whoever asks with its pid. The name is per host (per network
 * namespace): two machines sharing a volume are kept apart by Kubernetes' StatefulSet, not here.
 *
 * Elsewhere (macOS, for `npm start` on a laptop) it is a file created with O_EXCL holding the pid;
 * a file whose pid no longer runs is taken over. Two processes starting at the same instant after
 * a crash could both take over a stale file there; Linux has no such window.
 */
export interface DirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dir: string, role: string): Promise<DirLock> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  return process.platform === "linux" ? socketLock(dir, role) : fileLock(dir, role);
}

function inUse(dir: string, role: string, pid: string): never {
  return fail(
    "DATA_DIR_IN_USE",
    `data directory ${dir} is in use by another bourse ${role} (pid ${pid}); stop it first, or start this one with another dataDir`,
  );
}

async function socketLock(dir: string, role: string): Promise<DirLock> {
  const { dev, ino } = await stat(dir);
  const name = `\0bourse-${role}-${dev}-${ino}`;
  const server = createServer((socket) => socket.end(String(process.pid)));
  const bound = await new Promise<Server | undefined>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      e.code === "EADDRINUSE" ? resolve(undefined) : reject(e),
    );
    server.listen(name, () => resolve(server));
  });
  if (!bound) inUse(dir, role, await holderOf(name));
  // Held for as long as the process runs; it keeps nothing else alive.
  server.unref();
  return { release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The holder's pid, as it answers; "unknown" if it does not in time (it is busy or stopping). */
function holderOf(name: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = "";
    const socket = connect(name);
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on("data", (chunk) => {
      answer += String(chunk);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(/^\d+$/.test(answer) ? answer : "unknown");
    });
    socket.on("error", () => {});
  });
}

/** The lock where there is no abstract namespace (exported for its test, which runs on Linux). */
export async function fileLock(dir: string, role: string): Promise<DirLock> {
  const path = join(dir, `${role}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", PRIVATE_FILE);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = (await readFile(path, "utf8").catch(() => "")).trim();
    if (/^\d+$/.test(pid) && isRunning(Number(pid))) inUse(dir, role, pid);
    await unlink(path).catch(() => {});
  }
  return inUse(dir, role, "unknown");
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
