import { constants } from "node:fs";
import { mkdtemp, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Journal, type RecordWriter } from "../src/journal.ts";
import { SnapshotStore } from "../src/snapshot.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "bourse-journal-"));
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function readAll(j: Journal, from = 1): Promise<[number, string][]> {
  const out: [number, string][] = [];
  await j.replay(from, (p, lsn) => out.push([lsn, str(p)]));
  return out;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
}

describe("Journal", () => {
  it("numbers records in call order and replays them after a restart", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    const lsns = await Promise.all(["a", "b", "c"].map((s) => j.append(text(s))));
    expect(lsns).toEqual([1, 2, 3]);
    await j.close();
    const again = await Journal.open(dir);
    expect(again.nextLsn).toBe(4);
    expect(await readAll(again)).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    expect(await readAll(again, 3)).toEqual([[3, "c"]]);
    await again.close();
  });

  it("group-commits concurrent appends and keeps every acknowledged record", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    const n = 2000;
    const acks = await Promise.all(Array.from({ length: n }, (_, i) => j.append(text(`r${i}`))));
    expect(acks).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await j.close();
    const again = await Journal.open(dir);
    const all = await readAll(again);
    expect(all.length).toBe(n);
    expect(all[n - 1]).toEqual([n, `r${n - 1}`]);
    await again.close();
  });
});

/** A string's UTF-8 bytes, written in place. */
const utf8: RecordWriter<string> = {
  size: (s) => Buffer.byteLength(s),
  write: (s, out, _view, at) => void out.write(s, at, "utf8"),
};

describe("Journal records written in place", () => {
  it("frames them as append does, one commit promise per write, past the first buffer's size", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    // 100 records of 2 kB: the batch outgrows its first 64 kB buffer within one write.
    const records = Array.from({ length: 100 }, (_, i) => `${i}:`.padEnd(2_000, "x"));
    const lsns = records.map((r) => j.appendValue(r, utf8));
    const commit = j.committed();
    expect(j.committed()).toBe(commit);
    const appended = j.append(text("by append"));
    await commit;
    expect(await appended).toBe(101);
    expect(lsns).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(j.committed()).not.toBe(commit);
    await j.close();
    const again = await Journal.open(dir);
    expect((await readAll(again)).map(([, s]) => s)).toEqual([...records, "by append"]);
    await again.close();
  });

  it("appends nothing when the writer throws", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    j.appendValue("first", utf8);
    const refusing: RecordWriter<string> = {
      size: () => 8,
      write: () => {
        throw new Error("not encodable");
      },
    };
    expect(() => j.appendValue("bad", refusing)).toThrow("not encodable");
    expect(j.appendValue("second", utf8)).toBe(2);
    await j.committed();
    await j.close();
    const again = await Journal.open(dir);
    expect(await readAll(again)).toEqual([
      [1, "first"],
      [2, "second"],
    ]);
    await again.close();
  });
});

describe("Journal after a crash", () => {
  it("drops a torn tail and never misreads it, at every cut point", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    const records = ["first", "second", "third-record-longer"];
    for (const r of records) await j.append(text(r));
    await j.close();
    const [seg] = await segmentFiles(dir);
    const path = join(dir, seg!);
    const whole = await readFile(path);
    const frameEnds = [16 + 5, 16 + 5 + 16 + 6, whole.length];
    for (let cut = 0; cut < whole.length; cut++) {
      await writeFile(path, whole.subarray(0, cut));
      const reopened = await Journal.open(dir);
      const survivors = frameEnds.filter((end) => end <= cut).length;
      expect((await readAll(reopened)).map(([, s]) => s)).toEqual(records.slice(0, survivors));
      expect(reopened.nextLsn).toBe(survivors + 1);
      expect(reopened.tornTail !== undefined).toBe(cut !== frameEnds[survivors - 1] && cut !== 0);
      await reopened.close();
    }
  });

  it("detects a corrupt last record by its checksum", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir);
    await j.append(text("good"));
    await j.append(text("flipped"));
    await j.close();
    const [seg] = await segmentFiles(dir);
    const path = join(dir, seg!);
    const bytes = await readFile(path);
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(path, bytes);
    const reopened = await Journal.open(dir);
    expect(await readAll(reopened)).toEqual([[1, "good"]]);
    expect(reopened.tornTail?.droppedBytes).toBe(16 + 7);
    // New records continue the numbering after the dropped tail.
    expect(await reopened.append(text("next"))).toBe(2);
    await reopened.close();
  });
});

describe("Journal segments and syncs", () => {
  it("rolls segments and drops the ones a snapshot covers", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir, { segmentBytes: 64 });
    for (let i = 1; i <= 20; i++) await j.append(text(`record-${i}`));
    expect((await segmentFiles(dir)).length).toBeGreaterThan(3);
    await j.truncateBefore(15);
    const remaining = await readAll(j);
    expect(remaining[0]![0]).toBeLessThanOrEqual(15);
    expect(remaining.at(-1)).toEqual([20, "record-20"]);
    await j.close();
    const again = await Journal.open(dir, { segmentBytes: 64 });
    expect(again.nextLsn).toBe(21);
    expect(await readAll(again, 15)).toEqual(remaining.filter(([lsn]) => lsn >= 15));
    await again.close();
  });

  it("opens its segments so that each write is on disk when it returns (O_DSYNC)", async () => {
    const flagsOf = async (j: Journal) => {
      const { fd } = j as unknown as { fd: number };
      const info = await readFile(`/proc/self/fdinfo/${fd}`, "utf8");
      return Number.parseInt(/flags:\s+([0-7]+)/.exec(info)![1]!, 8);
    };
    const synced = await Journal.open(await tempDir());
    const written = await Journal.open(await tempDir(), { syncEachWrite: false });
    expect((await flagsOf(synced)) & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect((await flagsOf(written)) & constants.O_DSYNC).toBe(0);
    await synced.close();
    await written.close();
  });

  it("without a sync per write, keeps every record across segments, syncs on demand and on close", async () => {
    const dir = await tempDir();
    const j = await Journal.open(dir, { segmentBytes: 200, syncEachWrite: false });
    for (let i = 0; i < 50; i++) expect(await j.append(text(`r${i}`))).toBe(i + 1);
    const tail = j.append(text("r50"));
    await j.sync();
    expect(await tail).toBe(51);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(3);
    await j.append(text("r51"));
    await j.close();
    await expect(j.sync()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    const again = await Journal.open(dir, { segmentBytes: 200, syncEachWrite: false });
    expect((await readAll(again)).map(([, s]) => s)).toEqual(Array.from({ length: 52 }, (_, i) => `r${i}`));
    await again.sync();
    await again.close();
  });

  it("survives any truncation of its segment as a prefix of what was written (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        async (payloads, cutSeed) => {
          const dir = await tempDir();
          const j = await Journal.open(dir);
          for (const p of payloads) await j.append(p);
          await j.close();
          const path = join(dir, (await segmentFiles(dir))[0]!);
          const size = (await stat(path)).size;
          await truncate(path, cutSeed % (size + 1));
          const reopened = await Journal.open(dir);
          const got: Uint8Array[] = [];
          await reopened.replay(1, (p) => got.push(Uint8Array.from(p)));
          expect(got).toEqual(payloads.slice(0, got.length).map((p) => Uint8Array.from(p)));
          await reopened.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("SnapshotStore", () => {
  it("returns the newest intact snapshot and falls back past a damaged one", async () => {
    const dir = await tempDir();
    const store = new SnapshotStore(dir);
    expect(await store.loadLatest()).toBeUndefined();
    await store.save(10, text("state@10"));
    await store.save(20, text("state@20"));
    const latest = await store.loadLatest();
    expect(latest?.lsn).toBe(20);
    expect(str(latest!.bytes)).toBe("state@20");
    const newest = join(dir, "snapshot-00000000000000000020.snap");
    const bytes = await readFile(newest);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(newest, bytes);
    const fallback = await store.loadLatest();
    expect(fallback?.lsn).toBe(10);
  });

  it("writes a snapshot from its chunks as they come: the same file as in one piece", async () => {
    const dir = await tempDir();
    const store = new SnapshotStore(dir);
    async function* chunks() {
      for (const part of ["state", "@", "30"]) {
        await new Promise((r) => setTimeout(r, 1));
        yield text(part);
      }
    }
    await store.saveChunks(30, chunks());
    const streamed = await readFile(join(dir, "snapshot-00000000000000000030.snap"));
    await store.save(30, text("state@30"));
    expect(await readFile(join(dir, "snapshot-00000000000000000030.snap"))).toEqual(streamed);
    expect(str((await store.loadLatest())!.bytes)).toBe("state@30");
  });

  it("keeps only the newest two", async () => {
    const dir = await tempDir();
    const store = new SnapshotStore(dir);
    for (const lsn of [1, 2, 3, 4]) await store.save(lsn, text(`s${lsn}`));
    expect((await readdir(dir)).sort()).toEqual([
      "snapshot-00000000000000000003.snap",
      "snapshot-00000000000000000004.snap",
    ]);
  });
});

describe("Journal on a full disk", () => {
  // Needs root to mount a tiny tmpfs; CI and the dev machines run as root.
  it.runIf(process.getuid?.() === 0)(
    "rejects appends with a clear error and keeps every acknowledged record",
    async () => {
      const { execFileSync } = await import("node:child_process");
      const dir = await tempDir();
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
      try {
        const j = await Journal.open(dir);
        const acked: number[] = [];
        let error: unknown;
        const payload = new Uint8Array(1000).fill(7);
        for (let i = 0; i < 200 && !error; i++) {
          await j.append(payload).then(
            (lsn) => acked.push(lsn),
            (e) => {
              error = e;
            },
          );
        }
        expect(error).toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("ENOSPC") });
        await expect(j.append(payload)).rejects.toMatchObject({ code: "UNAVAILABLE" });
        await j.close();
        const reopened = await Journal.open(dir);
        expect(reopened.tornTail).toBeUndefined();
        const lsns: number[] = [];
        await reopened.replay(1, (_, lsn) => lsns.push(lsn));
        expect(lsns).toEqual(acked);
        await reopened.close();
      } finally {
        execFileSync("umount", [dir]);
      }
    },
  );

  it.runIf(process.getuid?.() === 0)(
    "rejects the group commit of records written in place, and every record after it",
    async () => {
      const { execFileSync } = await import("node:child_process");
      const dir = await tempDir();
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
      try {
        const j = await Journal.open(dir);
        let committed = 0;
        let error: unknown;
        for (let i = 0; i < 200 && !error; i++) {
          const lsn = j.appendValue("r".repeat(1000), utf8);
          await j.committed().then(
            () => {
              committed = lsn;
            },
            (e) => {
              error = e;
            },
          );
        }
        expect(error).toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("ENOSPC") });
        expect(() => j.appendValue("after", utf8)).toThrow(/journal write failed/);
        await expect(j.committed()).rejects.toMatchObject({ code: "UNAVAILABLE" });
        await j.close();
        const reopened = await Journal.open(dir);
        const lsns: number[] = [];
        await reopened.replay(1, (_, lsn) => lsns.push(lsn));
        expect(lsns).toEqual(Array.from({ length: committed }, (_, i) => i + 1));
        await reopened.close();
      } finally {
        execFileSync("umount", [dir]);
      }
    },
  );
});
