import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir, PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";

/**
 * Snapshots of a state machine at a journal lsn. Written to a temporary file, fsynced, renamed
 * into place and the directory fsynced, so a crash leaves either the old or the new snapshot
 * whole. Each file carries a CRC; a damaged newest snapshot falls back to the one before.
 */
const MAGIC = 0x534e4150; // "SNAP"
const HEADER = 16;
const KEEP = 2;

export class SnapshotStore {
  constructor(private readonly dir: string) {}

  save(lsn: number, bytes: Uint8Array): Promise<void> {
    return this.saveChunks(lsn, [bytes]);
  }

  /**
   * Writes the snapshot as its chunks come (the CRC carried along), so a large one is never
   * gathered and copied in memory, and whoever produces the chunks sets the pace.
   */
  async saveChunks(lsn: number, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR });
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(MAGIC, 0);
    header.writeBigUInt64LE(BigInt(lsn), 8);
    let crc = crc32(header.subarray(8));
    const final = join(this.dir, snapshotName(lsn));
    const tmp = `${final}.tmp`;
    const handle = await open(tmp, "w", PRIVATE_FILE);
    try {
      let position = HEADER;
      for await (const chunk of chunks) {
        crc = crc32(chunk, crc);
        position += await writeAll(handle, chunk, position);
      }
      header.writeUInt32LE(crc >>> 0, 4);
      await writeAll(handle, header, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, final);
    await fsyncDir(this.dir);
    for (const old of (await this.names()).slice(KEEP)) await unlink(join(this.dir, old));
  }

  async loadLatest(): Promise<{ lsn: number; bytes: Uint8Array } | undefined> {
    for (const name of await this.names()) {
      const file = await readFile(join(this.dir, name));
      if (file.length < HEADER || file.readUInt32LE(0) !== MAGIC) continue;
      if (file.readUInt32LE(4) !== crc32(file.subarray(8)) >>> 0) continue;
      return { lsn: Number(file.readBigUInt64LE(8)), bytes: file.subarray(HEADER) };
    }
    return undefined;
  }

  /** Snapshot file names, newest first. */
  private async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir))
        .filter((n) => /^snapshot-\d{20}\.snap$/.test(n))
        .sort()
        .reverse();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}

/** Writes all of `bytes` at `position`; resolves with how many that was. */
async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
  return written;
}

function snapshotName(lsn: number): string {
  return `snapshot-${String(lsn).padStart(20, "0")}.snap`;
}
