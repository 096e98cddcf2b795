import { mkdtemp, readdir, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SnapshotStore } from "../../journal/src/snapshot.ts";
import { UbsCoreService } from "../src/service.ts";
import { dump, exchange, script, submitAll } from "./fixtures.ts";

describe("UbsCoreService", () => {
  it("restores the identical state from its journal after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const service = await UbsCoreService.open(dir, exchange);
    await submitAll(service, script());
    const before = dump(service.core);
    expect(service.core.tradesOf(1).length).toBeGreaterThan(10);
    await service.close();
    const reopened = await UbsCoreService.open(dir, exchange);
    expect(dump(reopened.core)).toBe(before);
    await reopened.close();
  });

  it("restarts from a snapshot plus the journal after it, and drops the segments the snapshot covers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const options = { snapshotEvery: 50, journalSegmentBytes: 2048 };
    const service = await UbsCoreService.open(dir, exchange, options);
    const cmds = script();
    // In chunks, so that group commits stay small and the journal rolls over many segments.
    for (let i = 0; i < cmds.length; i += 20) await submitAll(service, cmds.slice(i, i + 20));
    const before = dump(service.core);
    await service.close();
    expect(service.lastSnapshotError).toBeUndefined();
    const snapshots = await readdir(join(dir, "ubscore", "snapshots"));
    expect(snapshots.length).toBeGreaterThan(0);
    const segments = await readdir(join(dir, "ubscore", "journal"));
    expect(segments[0]).not.toBe("00000000000000000001.wal");
    const reopened = await UbsCoreService.open(dir, exchange, options);
    expect(reopened.replayedCommands).toBeLessThan(50);
    expect(dump(reopened.core)).toBe(before);
    await reopened.close();
  });

  it("builds its snapshots off the event loop, byte for byte the live state at their position", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const cmds = script();
    const service = await UbsCoreService.open(dir, exchange, { snapshotEvery: cmds.length });
    await submitAll(service, cmds);
    expect(service.lastLsn).toBe(cmds.length);
    const live = service.core.snapshot();
    await service.close();
    expect(service.lastSnapshotError).toBeUndefined();
    const saved = await new SnapshotStore(join(dir, "ubscore", "snapshots")).loadLatest();
    expect(saved?.lsn).toBe(cmds.length);
    expect(Buffer.compare(Buffer.from(saved!.bytes), Buffer.from(live))).toBe(0);
  });

  it("drops a torn last record and recovers exactly the acknowledged prefix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const cmds = script();
    const service = await UbsCoreService.open(dir, exchange);
    await submitAll(service, cmds.slice(0, -1));
    const acknowledged = dump(service.core);
    await submitAll(service, cmds.slice(-1));
    await service.close();
    const journalDir = join(dir, "ubscore", "journal");
    const [segment] = await readdir(journalDir);
    const path = join(journalDir, segment!);
    await truncate(path, (await stat(path)).size - 3);
    const reopened = await UbsCoreService.open(dir, exchange);
    expect(dump(reopened.core)).toBe(acknowledged);
    await reopened.close();
  });
});
