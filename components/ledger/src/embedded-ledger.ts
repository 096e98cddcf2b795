import type { Account, CreateAccountResult, CreateTransferResult, Transfer } from "tigerbeetle-node";
import { Journal } from "../../journal/src/journal.ts";
import { decodeAccount, decodeTransfer, EVENT_SIZE, encodeAccount, encodeTransfer } from "./codec.ts";
import { LedgerState } from "./ledger-state.ts";
import type { LedgerPort } from "./port.ts";

/**
 * The embedded ledger: TigerBeetle's semantics (LedgerState) behind the ledger port. With a
 * directory it is durable: each batch is journaled, with the timestamp it was given, before it is
 * applied and answered, and opening replays the journal. Without one it lives in memory (tests).
 */
const OP_ACCOUNTS = 1;
const OP_TRANSFERS = 2;
const HEADER = 16;

export class EmbeddedLedger implements LedgerPort {
  private readonly state = new LedgerState();

  private constructor(
    private readonly journal: Journal | undefined,
    private readonly clock: () => bigint,
  ) {}

  /** A clock in nanoseconds; tests pass their own to make timeouts expire. */
  static async open(
    dir?: string,
    clock: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ): Promise<EmbeddedLedger> {
    const journal = dir ? await Journal.open(dir) : undefined;
    const ledger = new EmbeddedLedger(journal, clock);
    await journal?.replay(1, (record) => ledger.replay(record));
    return ledger;
  }

  async createAccounts(batch: Account[]): Promise<CreateAccountResult[]> {
    const timestamp = this.state.reserveTimestamps(this.clock(), batch.length);
    await this.journal?.append(encodeBatch(OP_ACCOUNTS, timestamp, batch, encodeAccount));
    return this.state.createAccounts(batch, timestamp);
  }

  async createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    const timestamp = this.state.reserveTimestamps(this.clock(), batch.length);
    if (!this.journal) return this.state.createTransfers(batch, timestamp);
    const record = encodeBatch(OP_TRANSFERS, timestamp, batch, encodeTransfer);
    await this.journal.append(record);
    return this.state.createTransfers(batch, timestamp, record.subarray(HEADER));
  }

  async lookupAccounts(ids: bigint[]): Promise<Account[]> {
    // Expiry changes balances, so it happens only inside a journaled batch: an empty one (a pulse).
    if (this.state.hasExpiredBy(this.clock())) await this.createTransfers([]);
    return ids.flatMap((id) => {
      const a = this.state.accounts.get(id);
      return a ? [{ ...a }] : [];
    });
  }

  async lookupTransfers(ids: bigint[]): Promise<Transfer[]> {
    return ids.flatMap((id) => {
      const t = this.state.transfers.get(id);
      return t ? [{ ...t }] : [];
    });
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }

  private replay(record: Uint8Array): void {
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const op = view.getUint8(0);
    const timestamp = view.getBigUint64(8, true);
    const count = (record.byteLength - HEADER) / EVENT_SIZE;
    if (op === OP_ACCOUNTS) {
      const batch = Array.from({ length: count }, (_, i) => decodeAccount(view, HEADER + i * EVENT_SIZE));
      this.state.createAccounts(batch, timestamp);
    } else {
      const batch = Array.from({ length: count }, (_, i) => decodeTransfer(view, HEADER + i * EVENT_SIZE));
      this.state.createTransfers(batch, timestamp, record.subarray(HEADER));
    }
  }
}

function encodeBatch<E>(
  op: number,
  timestamp: bigint,
  batch: E[],
  encode: (e: E, view: DataView, o: number) => void,
): Uint8Array {
  const bytes = new Uint8Array(HEADER + batch.length * EVENT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, op);
  view.setBigUint64(8, timestamp, true);
  batch.forEach((e, i) => {
    encode(e, view, HEADER + i * EVENT_SIZE);
  });
  return bytes;
}
