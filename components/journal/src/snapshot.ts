import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir } from "./fsutil.ts";

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

  async save(lsn: number, bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = Buffer.allocUnsafe(HEADER + bytes.length);
    file.writeUInt32LE(MAGIC, 0);
    file.writeBigUInt64LE(BigInt(lsn), 8);
    file.set(bytes, HEADER);
    file.writeUInt32LE(crc32(file.subarray(8)) >>> 0, 4);
    const final = join(this.dir, snapshotName(lsn));
    const tmp = `${final}.tmp`;
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(file);
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

function snapshotName(lsn: number): string {
  return `snapshot-${String(lsn).padStart(20, "0")}.snap`;
}
