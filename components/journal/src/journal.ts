import { close, constants, fdatasync, ftruncate, open as openFile, write } from "node:fs";
import { mkdir, readdir, readFile, stat, truncate, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { crc32 } from "node:zlib";
import { BourseError, fail } from "../../domain/src/index.ts";
import { journalMetrics } from "../../observability/src/index.ts";
import { fsyncDir, PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";

/**
 * A write-ahead journal: numbered records in segment files, each framed as
 *   u32 payload length | u32 CRC-32 of (lsn, payload) | u64 lsn | payload
 * Appends are group-committed: every append made while a write is in flight joins the next
 * write, and a record's promise resolves only after its bytes are written AND on disk, so an
 * acknowledged record survives a crash. On open, a torn tail (a partial or corrupt last record,
 * what a crash mid-write leaves) is detected by length and CRC and cut off, never misread.
 *
 * Frames are written in place into the next write's buffer as they are appended (two buffers,
 * one being written while the other fills): no buffer per record, no copy of the batch. A caller
 * that encodes its own records (UBSCore) writes its payload there too (`appendValue`) and waits for
 * the whole group commit at once (`committed`), not for each record: a promise per write instead
 * of one per record, which is most of what a record costs when thousands share a write.
 *
 * Segments are opened with O_DSYNC: a write returns once its data is on disk, as a write and
 * an fdatasync would, in one call to the thread pool instead of two. Handing a call to the pool
 * costs the event loop 8-30 us on the 2-vCPU VM we measure on (`npm run bench:journal`), more
 * than many a record's own work.
 */
export interface JournalOptions {
  /** Start a new segment once the current one passes this size. */
  readonly segmentBytes?: number;
  /**
   * `false`: an append resolves once written (it survives the process crashing, not the machine),
   * and `sync()` makes everything appended so far durable. For a journal whose records can be
   * derived again from one that is durable (settlement's queue from UBSCore's journal).
   */
  readonly syncEachWrite?: boolean;
  /** What its metrics call it (a closed set: ubscore, ledger, store, ...); the directory's name if unset. */
  readonly name?: string;
}

const HEADER = 16;
const SEGMENT_SUFFIX = ".wal";
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** One write of the flush loop: the frames a batch filled, and who waits for them. */
interface Write {
  readonly bytes: Buffer;
  readonly records: number;
  /** The lsn after the batch's last record. */
  readonly next: number;
  readonly pending: Pending[];
  readonly syncs: { resolve: () => void; reject: (e: Error) => void }[];
  readonly commit: Deferred | undefined;
}

interface Segment {
  readonly firstLsn: number;
  readonly path: string;
}

interface Pending {
  readonly lsn: number;
  readonly resolve: (lsn: number) => void;
  readonly reject: (e: Error) => void;
}

/** How a record is written in place: its payload's size, then its bytes at `at` of `out` (`view` over `out`). */
export interface RecordWriter<T> {
  size(value: T): number;
  write(value: T, out: Buffer, view: DataView, at: number): void;
}

/** The buffer records are framed into until the next write takes it, with a view over it. */
interface BatchBuffer {
  readonly bytes: Buffer;
  readonly view: DataView;
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

const COPY: RecordWriter<Uint8Array> = {
  size: (payload) => payload.length,
  write: (payload, out, _view, at) => out.set(payload, at),
};
const FIRST_BATCH_BYTES = 64 * 1024;

export interface TornTail {
  readonly segment: string;
  readonly offset: number;
  readonly droppedBytes: number;
}

export class Journal {
  /** The promises of `append`s in the batch being filled. */
  private pending: Pending[] = [];
  /** The batch being filled: `batchBytes` bytes of frames, `batchRecords` records. */
  private batch = batchBuffer(FIRST_BATCH_BYTES);
  private batchBytes = 0;
  private batchRecords = 0;
  /** The buffer of the write in flight, filled again once it is done. */
  private spare = batchBuffer(FIRST_BATCH_BYTES);
  /** `committed()`'s promise for the batch being filled, once asked for. */
  private commit: Deferred | undefined;
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushing = false;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    private readonly syncEachWrite: boolean,
    private fd: number,
    private size: number,
    private next: number,
    /** The lsn after the last record written (on disk, with syncEachWrite); differs from `next` while appends are queued. */
    private durableNext: number,
    /** What open() cut off, if anything: for logs and tests. */
    readonly tornTail: TornTail | undefined,
    name: string,
  ) {
    const { commitRecords, fsync } = journalMetrics();
    this.metrics = { commitRecords: commitRecords.labels(name), fsync: fsync.labels(name) };
  }

  private readonly metrics: {
    commitRecords: { observe(value: number): void };
    fsync: { observe(value: number): void };
  };
  /** When the write or sync in progress began (performance.now()), 0 when none is. */
  private writingSince = 0;

  /** How long the write or sync in progress has taken so far, in ms (0 when none is): a stuck disk shows here. */
  writeStalledMs(): number {
    return this.writingSince === 0 ? 0 : performance.now() - this.writingSince;
  }

  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    const segments = await listSegments(dir);
    let next = 1;
    let tornTail: TornTail | undefined;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const isLast = i === segments.length - 1;
      const bytes = await readFile(seg.path);
      const scan = scanRecords(bytes, seg.firstLsn, () => {});
      if (scan.validBytes < bytes.length) {
        if (!isLast) {
          fail(
            "CORRUPT_JOURNAL",
            `journal segment ${seg.path} is corrupt at byte ${scan.validBytes}, before the tail`,
          );
        }
        tornTail = {
          segment: seg.path,
          offset: scan.validBytes,
          droppedBytes: bytes.length - scan.validBytes,
        };
        await truncate(seg.path, scan.validBytes);
      }
      if (i > 0 && seg.firstLsn !== next) {
        fail(
          "CORRUPT_JOURNAL",
          `journal segment ${seg.path} starts at lsn ${seg.firstLsn}, expected ${next}`,
        );
      }
      next = seg.firstLsn + scan.count;
    }
    if (segments.length === 0) {
      segments.push({ firstLsn: 1, path: segmentPath(dir, 1) });
    }
    const current = segments[segments.length - 1]!;
    const syncEachWrite = options.syncEachWrite ?? true;
    const fd = await openSegment(current.path, syncEachWrite);
    const { size } = await stat(current.path);
    await fsyncDir(dir);
    return new Journal(
      dir,
      options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      segments,
      syncEachWrite,
      fd,
      size,
      next,
      next,
      tornTail,
      options.name ?? basename(dir),
    );
  }

  /** The lsn the next appended record will get. */
  get nextLsn(): number {
    return this.next;
  }

  /** Appends a record; resolves with its lsn once it is durable. Lsns are assigned in call order. */
  append(payload: Uint8Array): Promise<number> {
    let lsn: number;
    try {
      lsn = this.appendValue(payload, COPY);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.pending.push({ lsn, resolve, reject }));
  }

  /**
   * Appends a record whose payload `writer` writes in place; returns its lsn. It is durable once
   * `committed()`, asked for after this call, resolves. A writer that throws appends nothing.
   */
  appendValue<T>(value: T, writer: RecordWriter<T>): number {
    if (this.closed) throw new BourseError("UNAVAILABLE", "journal is closed");
    if (this.failure) throw this.failure;
    const size = writer.size(value);
    const at = this.batchBytes;
    const end = at + HEADER + size;
    if (end > this.batch.bytes.length) this.growBatch(end);
    const { bytes, view } = this.batch;
    const lsn = this.next;
    writer.write(value, bytes, view, at + HEADER);
    view.setUint32(at, size, true);
    // The u64 as two u32 words: the same bytes as writeBigUInt64LE, without a bigint per record.
    view.setUint32(at + 8, lsn % 2 ** 32, true);
    view.setUint32(at + 12, Math.floor(lsn / 2 ** 32), true);
    view.setUint32(at + 4, crc32(bytes.subarray(at + 8, end), 0) >>> 0, true);
    this.next++;
    this.batchBytes = end;
    this.batchRecords++;
    this.startFlushing();
    return lsn;
  }

  /**
   * Resolves once every record appended so far is durable (written, with syncEachWrite); rejects
   * if the write fails. Every call until the next write starts gets the same promise.
   */
  committed(): Promise<void> {
    if (this.closed) return Promise.reject(new BourseError("UNAVAILABLE", "journal is closed"));
    if (this.failure) return Promise.reject(this.failure);
    if (!this.commit) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.commit = { promise, resolve, reject };
      this.startFlushing();
    }
    return this.commit.promise;
  }

  /** Moves the batch so far into a buffer with room for `bytes` (the spare one is in flight). */
  private growBatch(bytes: number): void {
    const grown = batchBuffer(Math.max(bytes, 2 * this.batch.bytes.length));
    this.batch.bytes.copy(grown.bytes, 0, 0, this.batchBytes);
    this.batch = grown;
  }

  /** Resolves once every record appended before the call is durable (with syncEachWrite, once written). */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new BourseError("UNAVAILABLE", "journal is closed"));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.startFlushing();
    });
  }

  private startFlushing(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flushLoop());
  }

  /** Calls onRecord for every record with lsn >= fromLsn, in order. */
  async replay(fromLsn: number, onRecord: (payload: Uint8Array, lsn: number) => void): Promise<void> {
    await replaySegments(this.segments, fromLsn, Number.POSITIVE_INFINITY, onRecord);
  }

  /** Deletes whole segments whose records all precede lsn (covered by a snapshot, say); cheap when there are none. */
  async truncateBefore(lsn: number): Promise<void> {
    if (this.segments.length < 2 || this.segments[1]!.firstLsn > lsn) return;
    while (this.segments.length > 1 && this.segments[1]!.firstLsn <= lsn) {
      const [old] = this.segments.splice(0, 1);
      await unlink(old!.path);
    }
    await fsyncDir(this.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await new Promise((r) => setImmediate(r));
    this.closed = true;
    if (!this.syncEachWrite && !this.failure) await fsCall<void>((cb) => fdatasync(this.fd, cb));
    await fsCall<void>((cb) => close(this.fd, cb));
  }

  /** The only code that touches the file once open: writes, syncs and rolls never overlap. */
  private async flushLoop(): Promise<void> {
    while (
      (this.batchRecords > 0 || this.syncWaiters.length > 0 || this.commit !== undefined) &&
      !this.failure
    ) {
      const written: Write = {
        bytes: this.batch.bytes.subarray(0, this.batchBytes),
        records: this.batchRecords,
        next: this.next,
        pending: this.pending,
        syncs: this.syncWaiters,
        commit: this.commit,
      };
      [this.batch, this.spare] = [this.spare, this.batch];
      this.batchBytes = 0;
      this.batchRecords = 0;
      this.pending = [];
      this.syncWaiters = [];
      this.commit = undefined;
      try {
        await this.flush(written);
      } catch (e) {
        this.writingSince = 0;
        this.failure = new BourseError("UNAVAILABLE", `journal write failed: ${(e as Error).message}`, {
          cause: (e as NodeJS.ErrnoException).code,
        });
        for (const p of [...written.pending, ...written.syncs, ...this.pending, ...this.syncWaiters])
          p.reject(this.failure);
        written.commit?.reject(this.failure);
        // Asked for while the write was in flight (the narrowing above predates the await).
        (this.commit as Deferred | undefined)?.reject(this.failure);
        this.pending = [];
        this.syncWaiters = [];
        this.commit = undefined;
        this.batchBytes = 0;
        this.batchRecords = 0;
      }
    }
    this.flushing = false;
  }

  /** Writes a batch, syncs for its `syncs` (each write syncs by itself with syncEachWrite), rolls. */
  private async flush(w: Write): Promise<void> {
    this.writingSince = performance.now();
    if (w.records > 0) {
      await this.writeFrames(w.bytes);
      this.durableNext = w.next;
      this.metrics.commitRecords.observe(w.records);
      for (const p of w.pending) p.resolve(p.lsn);
    }
    if (w.syncs.length > 0 && !this.syncEachWrite) await fsCall<void>((cb) => fdatasync(this.fd, cb));
    if (w.records > 0 && (this.syncEachWrite || w.syncs.length > 0)) {
      this.metrics.fsync.observe((performance.now() - this.writingSince) / 1000);
    }
    this.writingSince = 0;
    for (const s of w.syncs) s.resolve();
    // Without a sync per write, `committed` means written, as `append` does.
    w.commit?.resolve();
    if (this.size >= this.segmentBytes) await this.rollSegment();
  }

  private async writeFrames(bytes: Buffer): Promise<void> {
    try {
      let written = 0;
      while (written < bytes.length) {
        const from = written;
        written += await fsCall<number>((cb) => write(this.fd, bytes, from, bytes.length - from, null, cb));
      }
      this.size += bytes.length;
    } catch (e) {
      // Leave no partial frame behind a failed write (e.g. ENOSPC): cut back to the durable size.
      await fsCall<void>((cb) => ftruncate(this.fd, this.size, cb)).catch(() => {});
      throw e;
    }
  }

  private async rollSegment(): Promise<void> {
    if (!this.syncEachWrite) await fsCall<void>((cb) => fdatasync(this.fd, cb));
    await fsCall<void>((cb) => close(this.fd, cb));
    const seg = { firstLsn: this.durableNext, path: segmentPath(this.dir, this.durableNext) };
    this.segments.push(seg);
    this.fd = await openSegment(seg.path, this.syncEachWrite);
    this.size = 0;
    await fsyncDir(this.dir);
  }
}

function openSegment(path: string, dsync: boolean): Promise<number> {
  const { O_APPEND, O_CREAT, O_DSYNC, O_WRONLY } = constants;
  const flags = O_WRONLY | O_APPEND | O_CREAT | (dsync ? O_DSYNC : 0);
  return fsCall<number>((cb) => openFile(path, flags, PRIVATE_FILE, cb));
}

/** A callback-style fs call as a promise: cheaper per call than node:fs/promises' FileHandle. */
function fsCall<T>(call: (cb: (e: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((e, value) => (e ? reject(e) : resolve(value))));
}

/**
 * Reads records fromLsn..toLsn of the journal in `dir` without opening it for writing: what a
 * reader beside the live writer (the background snapshot) does. Records up to toLsn must be durable;
 * what the writer is appending beyond them is never reached.
 */
export async function readJournal(
  dir: string,
  fromLsn: number,
  toLsn: number,
  onRecord: (payload: Uint8Array, lsn: number) => void,
): Promise<void> {
  let last = fromLsn - 1;
  await replaySegments(await listSegments(dir), fromLsn, toLsn, (payload, lsn) => {
    onRecord(payload, lsn);
    last = lsn;
  });
  if (last !== toLsn) fail("CORRUPT_JOURNAL", `journal ${dir} ends at lsn ${last}, before ${toLsn}`);
}

async function replaySegments(
  segments: readonly Segment[],
  fromLsn: number,
  toLsn: number,
  onRecord: (payload: Uint8Array, lsn: number) => void,
): Promise<void> {
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const nextSeg = segments[i + 1];
    if (nextSeg && nextSeg.firstLsn <= fromLsn) continue;
    if (seg.firstLsn > toLsn) return;
    const bytes = await readFile(seg.path);
    scanRecords(bytes, seg.firstLsn, (payload, lsn) => {
      if (lsn >= fromLsn && lsn <= toLsn) onRecord(payload, lsn);
    });
  }
}

function segmentPath(dir: string, firstLsn: number): string {
  return join(dir, `${String(firstLsn).padStart(20, "0")}${SEGMENT_SUFFIX}`);
}

async function listSegments(dir: string): Promise<Segment[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{20}\.wal$/.test(n)).sort();
  return names.map((n) => ({ firstLsn: Number(n.slice(0, 20)), path: join(dir, n) }));
}

function batchBuffer(size: number): BatchBuffer {
  const bytes = Buffer.allocUnsafe(size);
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
}

/** CRC over lsn and payload, so a record copied to the wrong place fails too. */
function frameChecksum(frame: Buffer): number {
  return crc32(frame.subarray(8), 0) >>> 0;
}

/** Walks valid records; stops at the first one that is short, misnumbered or fails its CRC. */
function scanRecords(
  bytes: Buffer,
  firstLsn: number,
  onRecord: (payload: Uint8Array, lsn: number) => void,
): { validBytes: number; count: number } {
  let offset = 0;
  let count = 0;
  while (offset + HEADER <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + HEADER + length;
    if (end > bytes.length) break;
    const frame = bytes.subarray(offset, end);
    if (frame.readUInt32LE(4) !== frameChecksum(frame)) break;
    const lsn = Number(frame.readBigUInt64LE(8));
    if (lsn !== firstLsn + count) break;
    onRecord(frame.subarray(HEADER), lsn);
    count++;
    offset = end;
  }
  return { validBytes: offset, count };
}
