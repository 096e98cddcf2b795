import { type FileHandle, open } from "node:fs/promises";

const WIDTH = 20;

/**
 * Settlement's position (the last UBSCore lsn whose entries the ledger and the store both hold) as
 * one fixed-width line, overwritten in place by a single positioned write after every batch. It
 * is never fsynced on the way: after a power loss it may lag what the ledger and the store hold
 * (never lead it: they are durable before it is written), and settling again from an older
 * position is answered `exists` by the ledger and upserts the same rows in the store. A value
 * that does not read as a position (a block the crash left zeroed) counts as 0: settle from the
 * start. Before, each batch cost eight calls to the thread pool (a temporary file, fsync, rename,
 * fsync of the directory); now one.
 */
export class PositionFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly initial: number,
  ) {}

  static async open(path: string): Promise<PositionFile> {
    const handle = await open(path, "a+");
    const text = (await handle.readFile("utf8")).trim();
    await handle.close();
    const lsn = Number(text);
    return new PositionFile(await open(path, "r+"), Number.isSafeInteger(lsn) && lsn >= 0 ? lsn : 0);
  }

  async write(lsn: number): Promise<void> {
    const line = Buffer.from(`${String(lsn).padStart(WIDTH, " ")}\n`);
    await this.handle.write(line, 0, line.length, 0);
  }

  async close(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
  }
}
