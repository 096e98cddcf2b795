import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CreateAccountStatus, CreateTransferStatus, TransferFlags } from "tigerbeetle-node";
import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError } from "../../domain/src/index.ts";
import { Journal } from "../../journal/src/index.ts";
import {
  type Account,
  BATCH_MAX,
  decodeAccount,
  decodeTransfer,
  EVENT_SIZE,
  encodeAccount,
  encodeTransfer,
  isPermanentLedgerError,
  type LedgerPort,
  systemAccounts,
  type Transfer,
} from "../../ledger/src/index.ts";
import { EventType } from "../../matching/src/index.ts";
import {
  log as processLog,
  secondsSince,
  settlementMetrics,
  storeMetrics,
} from "../../observability/src/index.ts";
import { PRIVATE_DIR } from "../../storage/src/index.ts";
import type { HistoryBatch, HistoryStore, StoredOrder } from "../../store/src/index.ts";
import { decodeHistory, historyBytes, writeHistoryAt } from "../../store/src/index.ts";
import type { CommandResult, OrderRecord, UbsCommand, UbsCore } from "../../ubscore/src/index.ts";
import { entriesFor } from "./ledger-entries.ts";
import type { SettlementPort } from "./port.ts";
import { PositionFile } from "./position-file.ts";

/** Records settled at once at most (see takeBatch). */
const RECORDS_MAX = 1024;

/**
 * Settlement of UBSCore's money movements into the ledger, and of its order and trade history into
 * the history store. Each applied command's ledger entries and history come, in journal order,
 * from a durable source (so nothing is lost if the ledger or store is slow or down): inside
 * UBSCore's process, settlement's own queue (a journal it appends to as commands apply); as its
 * own process (`bourse settlement`), UBSCore's settlement feed on the event log. They are drained
 * into the ledger and the store in batches. Every transfer id is
 * derived from its cause, so re-sending after a crash is answered `exists`: settled once. The
 * position (last UBSCore journal lsn settled) is written after the ledger and the store both
 * accepted the batch; store writes are upserts by key, so a re-send duplicates nothing.
 * Any other ledger answer is a conflict: settlement stops and reports it, it never skips money.
 */
export interface SettlementEntries {
  readonly lsn: number;
  readonly accounts: Account[];
  readonly transfers: Transfer[];
  readonly history: HistoryBatch;
}

const OK_ACCOUNT = new Set<number>([CreateAccountStatus.created, CreateAccountStatus.exists]);
const OK_TRANSFER = new Set<number>([CreateTransferStatus.created, CreateTransferStatus.exists]);

export interface SettlementOptions {
  /**
   * Where entries come from: `queue` (the default) — `record` derives them from UBSCore's commands
   * in this process and keeps them in settlement's own journal; `log` — `append` takes them from
   * the event log, which holds them durably already.
   */
  readonly source?: "queue" | "log";
  /** Called with the new position each time a batch is settled. */
  readonly onSettled?: (lsn: number) => void;
  /** The size of the queue's journal segments (settled ones are deleted whole). */
  readonly queueSegmentBytes?: number;
  /** Where settlement says that it stopped, or that it retries (standard error by default). */
  readonly log?: (line: string) => void;
}

export class Settlement implements SettlementPort {
  private readonly queue: SettlementEntries[] = [];
  private recorded: number;
  private draining = false;
  private readonly waiters: { lsn: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Set when the ledger refused a transfer: settlement has stopped (see `failure.message`). */
  failure: BourseError | undefined;
  /** The last transient failure (ledger or store unreachable) while settlement retries. */
  lastError: Error | undefined;
  private retries = 0;

  private position: number;

  private constructor(
    private readonly positionFile: PositionFile,
    private readonly ledger: LedgerPort,
    private readonly store: HistoryStore,
    private readonly exchange: ExchangeDefinition,
    private readonly journal: Journal | undefined,
    private readonly onSettled: (lsn: number) => void,
    private readonly log: (line: string) => void,
  ) {
    this.position = positionFile.initial;
    this.recorded = this.position;
    const metrics = settlementMetrics();
    this.untrack = [
      metrics.settledPosition.track(() => this.position),
      metrics.queued.track(() => this.queue.length),
    ];
  }

  private readonly untrack: (() => void)[];
  private readonly metrics = settlementMetrics();

  static async open(
    dir: string,
    ledger: LedgerPort,
    store: HistoryStore,
    exchange: ExchangeDefinition,
    options: SettlementOptions = {},
  ): Promise<Settlement> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    // The queue is written, not synced, as entries come: every entry can be derived again from
    // UBSCore's journal until a UBSCore snapshot covers it, and recordedDurably() syncs the queue
    // before one is taken.
    const journal =
      options.source === "log"
        ? undefined
        : await Journal.open(join(dir, "queue"), {
            syncEachWrite: false,
            segmentBytes: options.queueSegmentBytes,
            name: "settlement",
          });
    const positionFile = await PositionFile.open(join(dir, "position"));
    const onSettled = options.onSettled ?? (() => {});
    const log = options.log ?? ((line: string) => processLog().warn(line));
    const settlement = new Settlement(positionFile, ledger, store, exchange, journal, onSettled, log);
    await settlement.checkAccounts(await ledger.createAccounts(systemAccounts(exchange)));
    await journal?.replay(1, (record) => {
      const lsn = entriesLsn(record);
      settlement.recorded = Math.max(settlement.recorded, lsn);
      if (lsn > positionFile.initial) settlement.queue.push(decodeEntries(record));
    });
    settlement.kick();
    return settlement;
  }

  /** The last UBSCore journal lsn whose entries are in the ledger. */
  get settledLsn(): number {
    return this.position;
  }

  /** The last UBSCore journal lsn whose entries settlement holds (settled or queued). */
  get recordedLsn(): number {
    return this.recorded;
  }

  /** Takes one applied UBSCore command (live or replayed after a restart), in journal order. */
  record(cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore): void {
    if (lsn <= this.recorded) return;
    const entries = settlementEntries(this.exchange, cmd, result, lsn, core);
    if (entries) this.append(entries);
  }

  /**
   * Takes one command's entries, in journal order; positions already held are skipped. `encoded`:
   * the same entries as encodeEntries writes them, when the caller has them so (they came from
   * another thread), kept in the queue as they are.
   */
  append(entries: SettlementEntries, encoded?: Uint8Array): void {
    if (entries.lsn <= this.recorded) return;
    this.recorded = entries.lsn;
    if (this.journal) {
      this.lastAppend = this.journal.append(encoded ?? encodeEntries(entries)).then(() => undefined);
      // A queue that cannot be written (a full disk) stops settlement, loudly; UBSCore's journal
      // still holds every command, so a restart with room on the disk settles them all.
      this.lastAppend.catch((e: Error) =>
        this.stop(
          new BourseError("UNAVAILABLE", `settlement stopped: its queue could not be written (${e.message})`),
        ),
      );
    }
    this.queue.push(entries);
    this.kick();
  }

  private lastAppend: Promise<void> = Promise.resolve();

  /** Resolves once every entry recorded so far is durable in the queue (before a UBSCore snapshot). */
  async recordedDurably(): Promise<void> {
    await this.lastAppend;
    await this.journal?.sync();
  }

  /** Resolves once the ledger holds everything up to `lsn` (rejects if settlement has stopped). */
  waitSettled(lsn: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.position >= lsn || this.idle()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  /**
   * Admission control for UBSCore: undefined while settlement is less than `maxLag` commands
   * behind; else a promise that resolves once it is back a tenth below that (short, frequent
   * waits rather than long pauses), or rejects if settlement has stopped. Without it, a burst
   * UBSCore acknowledges faster than the ledger and the store absorb piles up in memory.
   */
  backpressure(maxLag: number): Promise<void> | undefined {
    if (this.recorded - this.position <= maxLag) return undefined;
    if (this.idle() && !this.failure) return undefined; // nothing owed
    return this.waitSettled(this.recorded - Math.floor(maxLag * 0.9));
  }

  async close(): Promise<void> {
    for (const stop of this.untrack) stop();
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    await this.journal?.close();
    await this.positionFile.close();
    await this.ledger.close();
    await this.store.close();
  }

  private stop(failure: BourseError): void {
    if (!this.failure) {
      this.metrics.errors.inc({ kind: "stopped" });
      this.log(`settlement stopped at position ${this.position}: ${failure.code}: ${failure.message}`);
    }
    this.failure ??= failure;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  private kick(): void {
    if (!this.draining && !this.failure && this.queue.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    let batch: SettlementEntries[] = [];
    try {
      // Commands come in runs (a group commit applied, a message from UBSCore's thread): the
      // first batch takes the whole run, not only the command that started the drain.
      await null;
      while (this.queue.length > 0 && !this.failure) {
        batch = this.takeBatch();
        await this.settle(batch);
        batch = [];
        await this.settled();
      }
    } catch (e) {
      this.settleFailed(e, batch);
    } finally {
      this.draining = false;
      this.notify();
    }
  }

  /** Writes one batch to the ledger and the store, and moves the position past it. */
  private async settle(batch: SettlementEntries[]): Promise<void> {
    const accounts = batch.flatMap((e) => e.accounts);
    const transfers = batch.flatMap((e) => e.transfers);
    await this.lastAppend;
    if (accounts.length > 0) await this.checkAccounts(await this.ledger.createAccounts(accounts));
    for (const slice of chainSlices(transfers)) {
      await this.checkTransfers(slice, await this.ledger.createTransfers(slice));
    }
    await this.writeHistory(batch);
    this.position = batch.at(-1)!.lsn;
    this.metrics.batchRecords.observe(batch.length);
    this.metrics.batchTransfers.observe(transfers.length);
  }

  /** After a batch settled: the position kept, the queue up to it dropped, waiters told. */
  private async settled(): Promise<void> {
    if (this.lastError) this.log(`settlement: settling again, at position ${this.position}`);
    this.retries = 0;
    this.lastError = undefined;
    this.positionFile.update(this.position);
    await this.dropSettledQueue();
    this.onSettled(this.position);
    this.notify();
  }

  /** `batch` failed with `e`: stop for good on a permanent refusal, else retry it whole later. */
  private settleFailed(e: unknown, batch: SettlementEntries[]): void {
    if (isPermanentLedgerError(e)) {
      // The ledger refused money, or a request it can never take: never skip it, and never
      // send it again (an id that failed is burned), stop and say why.
      this.stop(e as BourseError);
      return;
    }
    if (this.failure) return;
    // The ledger or the store is unreachable (restarting, say): put the batch back and retry
    // it whole; every write is idempotent, so what already landed is answered `exists`.
    this.queue.unshift(...batch);
    if (!this.lastError)
      this.log(`settlement: retrying at position ${this.position}: ${(e as Error).message}`);
    this.lastError = e as Error;
    this.metrics.errors.inc({ kind: "retry" });
    this.retries++;
    const delay = Math.min(5_000, 50 * 2 ** this.retries);
    setTimeout(() => this.kick(), delay).unref();
  }

  /** The batch's orders and trades into the history store, timed (failures counted, then retried whole). */
  private async writeHistory(batch: SettlementEntries[]): Promise<void> {
    const start = performance.now();
    try {
      await this.store.write({
        orders: batch.flatMap((e) => e.history.orders),
        trades: batch.flatMap((e) => e.history.trades),
      });
      storeMetrics().writes.observe(secondsSince(start));
    } catch (e) {
      storeMetrics().errors.inc();
      throw e;
    }
  }

  /**
   * Deletes the queue's segments that hold only settled entries, so the queue keeps about one
   * segment on disk, not the whole history, and a restart reads no more. The in-memory queue is
   * always the unsettled tail of the queue journal (appended in order, settled from the front), so
   * the queue's lsn of the last settled entry follows from its length. Nothing but settled entries
   * is dropped, so the position needs no sync for this: after a power loss it may lag, and what
   * remains is re-sent (`exists`).
   */
  private async dropSettledQueue(): Promise<void> {
    if (this.journal) await this.journal.truncateBefore(this.journal.nextLsn - this.queue.length);
  }

  /**
   * Whole records, up to TigerBeetle's batch size, so a trade's linked chain is never split, and
   * up to RECORDS_MAX records: commands without transfers (orders that rest) count nothing toward
   * the first bound, and a backlog of 20,000 resting orders taken at once cost ~50 ms of the event
   * loop just to encode for the store.
   * Taken off the queue in one splice: a shift per record moves the whole rest of the queue each
   * time once it is long (V8 trims the front of small arrays in place, not of large ones), and
   * 20,000 shifts off a 20,000-record queue stopped the process for 0.4 s.
   */
  private takeBatch(): SettlementEntries[] {
    let count = 0;
    let transfers = 0;
    for (const next of this.queue) {
      if (count === RECORDS_MAX || (count > 0 && transfers + next.transfers.length > BATCH_MAX)) break;
      transfers += next.transfers.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /**
   * Whether everything up to the last applied command is settled. Fed in this process, entries are
   * queued synchronously as commands apply, so an empty queue means so; fed from the event log,
   * more may be on the way, and only the position tells.
   */
  private idle(): boolean {
    return this.journal !== undefined && this.queue.length === 0 && !this.draining;
  }

  private notify(): void {
    const idle = this.idle();
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

/** A command's ledger entries and history; undefined when it leaves neither. */
export function settlementEntries(
  exchange: ExchangeDefinition,
  cmd: UbsCommand,
  result: CommandResult,
  lsn: number,
  core: UbsCore,
): SettlementEntries | undefined {
  const entries = { lsn, ...entriesFor(exchange, cmd, result, lsn), history: historyFor(core, result) };
  const empty = entries.accounts.length + entries.transfers.length + entries.history.orders.length === 0;
  return empty ? undefined : entries;
}

/**
 * The history a command leaves: the orders it touched, as they stand right after it (an order's
 * latest state wins in the store), and the trades it made. Worked out once per command: the
 * settlement entries and the event stream both ask, for the same result, one after the other.
 */
const histories = new WeakMap<CommandResult, HistoryBatch>();

export function historyFor(core: UbsCore, result: CommandResult): HistoryBatch {
  let history = histories.get(result);
  if (!history) {
    history = commandHistory(core, result);
    histories.set(result, history);
  }
  return history;
}

function commandHistory(core: UbsCore, result: CommandResult): HistoryBatch {
  // A command forwarded to the matching service is recorded with its outcome, as it then stands.
  if (result.marketId === undefined || result.forwarded) return { orders: [], trades: [] };
  const ids = new Set<number>();
  if (result.order) ids.add(result.order.orderId);
  for (const o of result.orders ?? []) ids.add(o.orderId);
  // Order lists' pending orders placed or ended in UBSCore alone.
  for (const c of result.listOrders ?? []) ids.add(c.orderId);
  let tradeCount = 0;
  for (const e of result.events) {
    if (e.type === EventType.Trade) {
      ids.add(e.takerOrderId);
      ids.add(e.makerOrderId);
      tradeCount++;
    } else if ("orderId" in e) ids.add(e.orderId);
  }
  const trades = core.tradesOf(result.marketId);
  return {
    orders: [...ids].flatMap((id) => {
      const o = core.order(id);
      return o ? [storedOrder(o)] : [];
    }),
    trades: trades.slice(trades.length - tradeCount),
  };
}

function storedOrder(o: OrderRecord): StoredOrder {
  return {
    orderId: o.orderId,
    userId: o.userId,
    marketId: o.marketId,
    clientOrderId: o.clientOrderId,
    side: o.side,
    type: o.type,
    tif: o.tif,
    priceTicks: o.priceTicks,
    origQtyLots: o.origQtyLots,
    executedLots: o.executedLots,
    cumQuote: o.cumQuote,
    status: o.status,
    time: o.time,
    updateTime: o.updateTime,
    quoteOrderUnits: o.quoteOrderUnits,
    stp: o.stp,
  };
}

export function encodeEntries(e: SettlementEntries): Uint8Array {
  const binary = 16 + (e.accounts.length + e.transfers.length) * EVENT_SIZE;
  // From Node's shared pool (a buffer of its own per command is work for the collector), zeroed.
  const bytes = Buffer.allocUnsafe(binary + historyBytes(e.history)).fill(0);
  writeHistoryAt(bytes, binary, e.history);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

/** The UBSCore lsn of encoded entries, without decoding the rest (replay skips what is settled). */
function entriesLsn(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
}

export function decodeEntries(bytes: Uint8Array): SettlementEntries {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const accounts = view.getUint32(8, true);
  const transfers = view.getUint32(12, true);
  const binary = 16 + (accounts + transfers) * EVENT_SIZE;
  return {
    lsn: Number(view.getBigUint64(0, true)),
    accounts: Array.from({ length: accounts }, (_, i) => decodeAccount(view, 16 + i * EVENT_SIZE)),
    transfers: Array.from({ length: transfers }, (_, i) =>
      decodeTransfer(view, 16 + (accounts + i) * EVENT_SIZE),
    ),
    history: decodeHistory(bytes.subarray(binary)),
  };
}

/**
 * The transfers in ledger batches of at most BATCH_MAX, cut between linked chains. takeBatch keeps
 * to that size with whole records, except for one record larger on its own (an order that filled
 * against thousands of makers): its trades' chains then go in several batches. A crash between
 * them is safe: the position moves only once all are in, and a replay is answered `exists`.
 */
function chainSlices(transfers: Transfer[]): Transfer[][] {
  const slices: Transfer[][] = [];
  let from = 0;
  let chainStart = 0;
  for (let i = 0; i < transfers.length; i++) {
    // A single chain longer than a batch is left whole, for the ledger to refuse.
    if (i - from === BATCH_MAX && chainStart > from) {
      slices.push(transfers.slice(from, chainStart));
      from = chainStart;
    }
    if ((transfers[i]!.flags & TransferFlags.linked) === 0) chainStart = i + 1;
  }
  if (from < transfers.length) slices.push(transfers.slice(from));
  return slices;
}
