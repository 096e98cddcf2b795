import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { CreateAccountStatus, CreateTransferStatus } from "tigerbeetle-node";
import { BourseError } from "../../domain/src/errors.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { fsyncDir } from "../../journal/src/fsutil.ts";
import { Journal } from "../../journal/src/journal.ts";
import {
  decodeAccount,
  decodeTransfer,
  EVENT_SIZE,
  encodeAccount,
  encodeTransfer,
} from "../../ledger/src/codec.ts";
import { type Account, BATCH_MAX, type LedgerPort, type Transfer } from "../../ledger/src/port.ts";
import type { CommandResult } from "../../ubscore/src/core.ts";
import type { UbsCommand } from "../../ubscore/src/types.ts";
import { entriesFor, systemAccounts } from "./ledger-entries.ts";

/**
 * Settlement of UBSCore's money movements into the ledger. Each applied command's ledger entries
 * are first appended, in journal order, to settlement's own durable queue (so nothing is lost if
 * the ledger is slow or down), then drained into the ledger in batches. Every transfer id is
 * derived from its cause, so re-sending after a crash is answered `exists`: settled once. The
 * position (last UBSCore journal lsn settled) is written after the ledger accepted the batch.
 * Any other ledger answer is a conflict: settlement stops and reports it, it never skips money.
 */
interface QueuedEntries {
  readonly lsn: number;
  readonly accounts: Account[];
  readonly transfers: Transfer[];
}

const OK_ACCOUNT = new Set<number>([CreateAccountStatus.created, CreateAccountStatus.exists]);
const OK_TRANSFER = new Set<number>([CreateTransferStatus.created, CreateTransferStatus.exists]);

export class Settlement {
  private readonly queue: QueuedEntries[] = [];
  private recordedLsn: number;
  private draining = false;
  private readonly waiters: { lsn: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Set when the ledger refused a transfer: settlement has stopped (see `failure.message`). */
  failure: BourseError | undefined;

  private constructor(
    private readonly dir: string,
    private readonly ledger: LedgerPort,
    private readonly exchange: ExchangeDefinition,
    private readonly journal: Journal,
    private position: number,
  ) {
    this.recordedLsn = position;
  }

  static async open(dir: string, ledger: LedgerPort, exchange: ExchangeDefinition): Promise<Settlement> {
    await mkdir(dir, { recursive: true });
    const journal = await Journal.open(join(dir, "queue"));
    const position = await readPosition(join(dir, "position"));
    const settlement = new Settlement(dir, ledger, exchange, journal, position);
    await settlement.checkAccounts(await ledger.createAccounts(systemAccounts(exchange)));
    await journal.replay(1, (record) => {
      const entries = decodeEntries(record);
      settlement.recordedLsn = Math.max(settlement.recordedLsn, entries.lsn);
      if (entries.lsn > position) settlement.queue.push(entries);
    });
    settlement.kick();
    return settlement;
  }

  /** The last UBSCore journal lsn whose entries are in the ledger. */
  get settledLsn(): number {
    return this.position;
  }

  /** Takes one applied UBSCore command (live or replayed after a restart), in journal order. */
  record(cmd: UbsCommand, result: CommandResult, lsn: number): void {
    if (lsn <= this.recordedLsn) return;
    this.recordedLsn = lsn;
    const entries = { lsn, ...entriesFor(this.exchange, cmd, result, lsn) };
    if (entries.accounts.length === 0 && entries.transfers.length === 0) return;
    const appended = this.journal.append(encodeEntries(entries));
    this.lastAppend = appended.then(() => undefined);
    this.queue.push(entries);
    this.kick();
  }

  private lastAppend: Promise<void> = Promise.resolve();

  /** Resolves once every entry recorded so far is durable in the queue (before a UBSCore snapshot). */
  recordedDurably(): Promise<void> {
    return this.lastAppend;
  }

  /** Resolves once the ledger holds everything up to `lsn` (rejects if settlement has stopped). */
  waitSettled(lsn: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    // Entries are queued synchronously as commands apply, so an idle settlement has them all.
    if (this.position >= lsn || (this.queue.length === 0 && !this.draining)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  async close(): Promise<void> {
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    await this.journal.close();
    await this.ledger.close();
  }

  private kick(): void {
    if (!this.draining && !this.failure && this.queue.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.takeBatch();
        const accounts = batch.flatMap((e) => e.accounts);
        const transfers = batch.flatMap((e) => e.transfers);
        await this.lastAppend;
        if (accounts.length > 0) await this.checkAccounts(await this.ledger.createAccounts(accounts));
        if (transfers.length > 0)
          this.checkTransfers(transfers, await this.ledger.createTransfers(transfers));
        this.position = batch.at(-1)!.lsn;
        await writePosition(join(this.dir, "position"), this.position);
        this.notify();
      }
    } catch (e) {
      this.failure =
        e instanceof BourseError
          ? e
          : new BourseError("UNAVAILABLE", `settlement stopped: ${(e as Error).message}`);
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
    } finally {
      this.draining = false;
      this.notify();
    }
  }

  /** Whole records, up to TigerBeetle's batch size, so a trade's linked chain is never split. */
  private takeBatch(): QueuedEntries[] {
    const batch: QueuedEntries[] = [];
    let transfers = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && transfers + next.transfers.length > BATCH_MAX) break;
      transfers += next.transfers.length;
      batch.push(this.queue.shift()!);
    }
    return batch;
  }

  private notify(): void {
    const idle = this.queue.length === 0 && !this.draining;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.position >= w.lsn || idle) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private async checkAccounts(results: { status: number }[]): Promise<void> {
    const bad = results.find((r) => !OK_ACCOUNT.has(r.status));
    if (bad)
      throw new BourseError("CONFLICT", `ledger refused an account: ${CreateAccountStatus[bad.status]}`);
  }

  /**
   * Created or `exists` is settled. A linked chain sent again after it committed answers
   * `exists` for its first event and `linked_event_failed` for the rest (an existing event fails
   * the chain): settled too, once a lookup confirms every transfer of it is in the ledger.
   * Anything else is a conflict.
   */
  private async checkTransfers(transfers: Transfer[], results: { status: number }[]): Promise<void> {
    const retried: bigint[] = [];
    results.forEach((r, i) => {
      if (OK_TRANSFER.has(r.status)) return;
      if (r.status === CreateTransferStatus.linked_event_failed) {
        retried.push(transfers[i]!.id);
        return;
      }
      throw new BourseError(
        "CONFLICT",
        `ledger refused transfer ${transfers[i]!.id.toString(16)}: ${CreateTransferStatus[r.status]}`,
      );
    });
    if (retried.length === 0) return;
    const found = new Set((await this.ledger.lookupTransfers(retried)).map((t) => t.id));
    const missing = retried.find((id) => !found.has(id));
    if (missing !== undefined) {
      throw new BourseError(
        "CONFLICT",
        `ledger refused linked transfer ${missing.toString(16)}: linked_event_failed`,
      );
    }
  }
}

function encodeEntries(e: QueuedEntries): Uint8Array {
  const bytes = new Uint8Array(16 + (e.accounts.length + e.transfers.length) * EVENT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(e.lsn), true);
  view.setUint32(8, e.accounts.length, true);
  view.setUint32(12, e.transfers.length, true);
  e.accounts.forEach((a, i) => {
    encodeAccount(a, view, 16 + i * EVENT_SIZE);
  });
  e.transfers.forEach((t, i) => {
    encodeTransfer(t, view, 16 + (e.accounts.length + i) * EVENT_SIZE);
  });
  return bytes;
}

function decodeEntries(bytes: Uint8Array): QueuedEntries {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const accounts = view.getUint32(8, true);
  const transfers = view.getUint32(12, true);
  return {
    lsn: Number(view.getBigUint64(0, true)),
    accounts: Array.from({ length: accounts }, (_, i) => decodeAccount(view, 16 + i * EVENT_SIZE)),
    transfers: Array.from({ length: transfers }, (_, i) =>
      decodeTransfer(view, 16 + (accounts + i) * EVENT_SIZE),
    ),
  };
}

async function readPosition(path: string): Promise<number> {
  try {
    return Number((await readFile(path, "utf8")).trim());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
}

async function writePosition(path: string, lsn: number): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(`${lsn}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(join(path, ".."));
}
