import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/src/index.ts";
import { startEmbeddedExchange, startUbsCoreNode } from "../src/embedded.ts";

/**
 * A start whose last step fails (its port is taken) closes everything the steps before it
 * opened: the data directory's lock, every journal and file (counted as this process's open file
 * descriptors), every listener and timer (Node's active resources).
 */
let taken: Server;
let takenPort: number;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  takenPort = (taken.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
});

async function configFor(
  dataDir: string,
  ports: { port: number; adminPort: number },
  settlement: "inline" | "worker" = "inline",
) {
  return loadConfig({
    overrides: {
      dataDir,
      demo: false,
      settlement: { kind: settlement },
      observability: { ubscore: "127.0.0.1:0" },
      gateway: {
        ...ports,
        host: "127.0.0.1",
        adminHost: "127.0.0.1",
        adminToken: "start-failure-token-0123456789",
      },
    },
  });
}

/** What this process holds open: file descriptors, and Node's resources by kind. */
async function held(): Promise<Record<string, number>> {
  const counts: Record<string, number> = { fds: (await readdir("/proc/self/fd")).length };
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Nothing is held that was not held before the failed start. (Fewer is fine: a short timer of
 * the earlier close may have run out meanwhile.)
 */
async function expectNoMoreThan(before: Record<string, number>): Promise<void> {
  const now = await held();
  for (const [kind, count] of Object.entries(now))
    expect({ kind, count }).toEqual({ kind, count: Math.min(count, before[kind] ?? 0) });
}

describe("a start that fails at its last step", () => {
  it.each(["inline", "worker"] as const)(
    "of a UBSCore node (the operator API's port taken; settlement %s) closes every journal, timer, thread and the lock",
    async (kind) => {
      const dataDir = await mkdtemp(join(tmpdir(), "bourse-start-failure-"));
      const config = (ports: { port: number; adminPort: number }) => configFor(dataDir, ports, kind);
      // A full start and close first, so that what only the first start makes (caches, the pool) is made.
      const first = await startUbsCoreNode(await config({ port: 0, adminPort: 0 }), false);
      await first.service.submit({ kind: "addUser" });
      await first.close();
      const before = await held();
      await expect(startUbsCoreNode(await config({ port: 0, adminPort: takenPort }), false)).rejects.toThrow(
        /EADDRINUSE/,
      );
      await expectNoMoreThan(before);
      // The lock is free and every journal reopens where it was.
      const again = await startUbsCoreNode(await config({ port: 0, adminPort: 0 }), false);
      expect(again.service.lastLsn).toBeGreaterThan(0);
      await again.close();
    },
  );

  it("of settlement's worker (its ledger cannot be opened) fails the start with the worker's error", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-start-failure-"));
    // A file where the ledger's journal directory goes.
    await writeFile(join(dataDir, "ledger"), "not a directory");
    const before = await held();
    await expect(
      startUbsCoreNode(await configFor(dataDir, { port: 0, adminPort: 0 }, "worker"), false),
    ).rejects.toThrow(/EEXIST/);
    await expectNoMoreThan(before);
  });

  it("of the embedded exchange (the trading API's port taken) closes the whole node under it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-start-failure-"));
    const first = await startEmbeddedExchange(await configFor(dataDir, { port: 0, adminPort: 0 }), false);
    await first.close();
    const before = await held();
    await expect(
      startEmbeddedExchange(await configFor(dataDir, { port: takenPort, adminPort: 0 }), false),
    ).rejects.toThrow(/EADDRINUSE/);
    await expectNoMoreThan(before);
    const again = await startEmbeddedExchange(await configFor(dataDir, { port: 0, adminPort: 0 }), false);
    await again.close();
  });
});
