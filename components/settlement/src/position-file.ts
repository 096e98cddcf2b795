import { type FileHandle, open } from "node:fs/promises";
import { PRIVATE_FILE } from "../../storage/src/index.ts";

const WIDTH = 20;
/** How long a new position may wait to be written: a lag costs only re-sending after a crash. */
const WRITE_EVERY_MS = 50;

/**
 * Settlement's position (the last UBSCore lsn whose entries the ledger and the store both hold) as
 * one fixed-width line, overwritten in place by a single positioned write, at most every 50 ms
 * and on close. It is never fsynced on the way: after a crash it may lag what the ledger and the
 * store hold (never lead it: they are durable before a position is given here), and settling
 * again from an older position is answered `exists` by the ledger and upserts the same rows in
 * the store. A value that does not read as a position (a block a crash left zeroed) counts as 0:
 * settle from the start. Before, each batch cost eight calls to the thread pool (a temporary file,
 * fsync, rename, fsync of the directory).
 */
export class PositionFile {
  private latest: number;
  private written: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    readonly initial: number,
  ) {
    this.latest = initial;
    this.written = initial;
  }

  static async open(path: string): Promise<PositionFile> {
    const handle = await open(path, "a+", PRIVATE_FILE);
    const text = (await handle.readFile("utf8")).trim();
    await handle.close();
    const lsn = Number(text);
    return new PositionFile(await open(path, "r+"), Number.isSafeInteger(lsn) && lsn >= 0 ? lsn : 0);
  }

  /** Takes a new position; it reaches the file within WRITE_EVERY_MS. */
  update(lsn: number): void {
    this.latest = lsn;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.writeLatest());
    }, WRITE_EVERY_MS).unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.writing;
    await this.writeLatest();
    await this.handle.sync();
    await this.handle.close();
  }

  private async writeLatest(): Promise<void> {
    const lsn = this.latest;
    if (lsn === this.written) return;
    const line = Buffer.from(`${String(lsn).padStart(WIDTH, " ")}\n`);
    // A failed write (a full disk) leaves the older position, which is safe; the next one retries.
    await this.handle.write(line, 0, line.length, 0).then(
      () => {
        this.written = lsn;
      },
      () => {},
    );
  }
}
