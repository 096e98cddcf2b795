import { mkdtemp, readdir, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BourseError } from "../../domain/src/index.ts";
import { SnapshotStore } from "../../journal/src/index.ts";
import { UbsCoreService } from "../src/service.ts";
import { dump, exchange, script, submitAll } from "./fixtures.ts";

describe("UbsCoreService", () => {
  it("applies a group commit in journal order, answering each submitter with its own result or error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    let refuse = false;
    const admit = () => {
      if (refuse) throw new BourseError("OVERLOADED", "settlement is behind");
      return undefined;
    };
    const service = await UbsCoreService.open(dir, exchange, { admit });
    const told: number[] = [];
    service.onCommand((_cmd, _result, lsn) => told.push(lsn));
    // Submitted in one turn, so journaled in one write and applied together.
    const answers = await Promise.allSettled([
      service.submitAt({ kind: "createUser", userId: 1 }),
      service.submitAt({ kind: "createUser", userId: 1 }),
      service.submit({ kind: "createUser", userId: 2 }),
    ]);
    expect(answers[0]).toMatchObject({ status: "fulfilled", value: { lsn: 1, result: { userId: 1 } } });
    expect(answers[1]).toMatchObject({ status: "rejected", reason: { code: "CONFLICT" } });
    expect(answers[2]).toMatchObject({ status: "fulfilled", value: { userId: 2 } });
    expect(told).toEqual([1, 3]);
    expect(service.appliedLsn).toBe(3);
    // A command its admission refuses is answered with a rejected promise and never journaled.
    refuse = true;
    const refused = service.submit({ kind: "createUser", userId: 3 });
    await expect(refused).rejects.toMatchObject({ code: "OVERLOADED" });
    expect(service.lastLsn).toBe(3);
    await service.close();
  });

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
