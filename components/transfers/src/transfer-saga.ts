import { CreateTransferStatus } from "tigerbeetle-node";
import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { BourseError, fail, invariant, isBourseError } from "../../domain/src/index.ts";
import { Journal } from "../../journal/src/index.ts";
import {
  AccountKind,
  accountId,
  isPermanentLedgerError,
  type LedgerPort,
  reserveInternalTransfer,
  type Transfer,
  TransferCode,
  TransferKind,
  transfer,
  transferId,
  voidInternalTransfer,
} from "../../ledger/src/index.ts";

/**
 * Funding <-> Trading transfers as a saga whose every step is idempotent and whose every state is
 * journaled before the next step runs:
 *
 *   FUNDING_MAIN (Funding -> Trading)
 *     REQUESTED --ledger: pending Funding->Trading--> RESERVED --UBSCore credit--> COMMITTED
 *         |  (ledger refuses: not enough funding)          |  (UBSCore refuses)
 *         v                                                v
 *     ROLLED_BACK                      ledger: void the pending transfer --> ROLLED_BACK
 *     (settlement posts the pending transfer once UBSCore's credit is applied)
 *
 *   MAIN_FUNDING (Trading -> Funding)
 *     REQUESTED --UBSCore debit--> COMMITTED       (settlement moves Trading->Funding in the ledger)
 *         |  (UBSCore refuses: not available)
 *         v
 *     ROLLED_BACK
 *
 *   DEPOSIT_FUNDING (an operator's deposit into a Funding wallet)
 *     REQUESTED --ledger: Deposits->Funding--> COMMITTED
 *
 * Ledger ids derive from the transfer's sequence, UBSCore applies a sequence at most once, so a
 * step repeated after a crash is answered `exists` / "already applied": nothing moves twice.
 * `recover()` (at start and on a timer) drives every unfinished transfer to a terminal state.
 * A ledger failure that sending again cannot change (a conflict, a request refused whole) halts
 * that transfer instead: logged with its reason, left unfinished for an operator, never sent
 * again (a retry could only meet the id TigerBeetle burned, or the same conflict).
 */
export type TransferType = "MAIN_FUNDING" | "FUNDING_MAIN" | "DEPOSIT_FUNDING";
export type TransferState = "REQUESTED" | "RESERVED" | "COMMITTED" | "ROLLED_BACK";

export interface TransferRecord extends TransferRequest {
  readonly seq: number;
  state: TransferState;
  reason?: string;
}

/** UBSCore's side of a transfer (the durable UBSCore service in production). */
export interface TradingBalancePort {
  transferIn(seq: number, userId: number, asset: string, amount: bigint): Promise<void>;
  transferOut(seq: number, userId: number, asset: string, amount: bigint): Promise<void>;
}

export interface TransferRequest {
  readonly userId: number;
  readonly type: TransferType;
  readonly asset: string;
  readonly amount: bigint;
  readonly clientTranId: string;
  readonly time: number;
}

const TERMINAL: readonly TransferState[] = ["COMMITTED", "ROLLED_BACK"];

/** The states each type can be in: only a Funding -> Trading transfer reserves first. */
const REACHABLE: Record<TransferType, readonly TransferState[]> = {
  FUNDING_MAIN: ["REQUESTED", "RESERVED", "COMMITTED", "ROLLED_BACK"],
  MAIN_FUNDING: ["REQUESTED", "COMMITTED", "ROLLED_BACK"],
  DEPOSIT_FUNDING: ["REQUESTED", "COMMITTED", "ROLLED_BACK"],
};

export class TransferSaga {
  private readonly records = new Map<number, TransferRecord>();
  private readonly byClientId = new Map<string, number>();
  /** One driver per transfer at a time (a request and the recovery timer may both want it). */
  private readonly running = new Map<number, Promise<TransferRecord>>();
  /** Transfers the ledger refused for good, by sequence, with why (see `halt`). */
  private readonly halted = new Map<number, Error>();
  /** Transfers whose last attempt failed and is retried (logged once per streak). */
  private readonly retrying = new Set<number>();

  private constructor(
    private readonly journal: Journal,
    private readonly exchange: ExchangeDefinition,
    private readonly ledger: LedgerPort,
    private readonly trading: TradingBalancePort,
    private readonly log: (line: string) => void,
  ) {}

  static async open(
    dir: string,
    exchange: ExchangeDefinition,
    ledger: LedgerPort,
    trading: TradingBalancePort,
    log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ): Promise<TransferSaga> {
    const journal = await Journal.open(dir);
    const saga = new TransferSaga(journal, exchange, ledger, trading, log);
    await journal.replay(1, (payload) => saga.remember(decode(payload)));
    return saga;
  }

  /** Starts (or, for a known client id, returns) a transfer and drives it as far as it goes. */
  async request(req: TransferRequest): Promise<TransferRecord> {
    const key = `${req.userId}:${req.clientTranId}`;
    const known = this.byClientId.get(key);
    if (known !== undefined) {
      const existing = this.records.get(known)!;
      if (existing.type !== req.type || existing.asset !== req.asset || existing.amount !== req.amount) {
        fail("CONFLICT", `clientTranId ${req.clientTranId} was already used for a different transfer`);
      }
      return this.drive(existing);
    }
    const asset = this.exchange.asset(req.asset) ?? fail("UNKNOWN_ASSET", `unknown asset ${req.asset}`);
    if (req.amount <= 0n) fail("INVALID_ARGUMENT", "amount must be positive");
    if (req.amount >> 128n !== 0n) fail("INVALID_ARGUMENT", "amount must fit in 128 bits");
    const record: TransferRecord = {
      ...req,
      asset: asset.symbol,
      seq: this.records.size + 1,
      state: "REQUESTED",
    };
    this.remember(record);
    await this.persist(record);
    return this.drive(record);
  }

  get(userId: number, seq: number): TransferRecord | undefined {
    const r = this.records.get(seq);
    return r && r.userId === userId ? r : undefined;
  }

  history(userId: number, type?: TransferType): TransferRecord[] {
    return [...this.records.values()].filter(
      (r) => r.userId === userId && (type === undefined || r.type === type),
    );
  }

  unfinished(): TransferRecord[] {
    return [...this.records.values()].filter((r) => !TERMINAL.includes(r.state));
  }

  /** Unfinished transfers the ledger refused for good: for an operator, never retried. */
  halts(): { seq: number; reason: string }[] {
    return [...this.halted].map(([seq, e]) => ({ seq, reason: e.message }));
  }

  /**
   * The saga's own rules; throws an InvariantViolation at the first break: sequences 1..n, each
   * transfer found by its client id, in a state its type can reach, with a positive amount; a
   * rollback says why; only unfinished transfers halt. (Its money is the ledger's and UBSCore's,
   * each checked by its own checkInvariants and by reconcile.)
   */
  checkInvariants(): void {
    for (const [seq, r] of this.records) {
      invariant(
        r.seq === seq && seq >= 1 && seq <= this.records.size,
        () => `transfer ${seq}: out of sequence`,
      );
      invariant(
        this.byClientId.get(`${r.userId}:${r.clientTranId}`) === seq,
        () => `transfer ${seq}: not found by its clientTranId`,
      );
      invariant(REACHABLE[r.type].includes(r.state), () => `transfer ${seq}: ${r.type} cannot be ${r.state}`);
      invariant(r.amount > 0n, () => `transfer ${seq}: amount ${r.amount}`);
      invariant(
        r.state !== "ROLLED_BACK" || r.reason !== undefined,
        () => `transfer ${seq}: rolled back, no reason`,
      );
    }
    invariant(this.byClientId.size === this.records.size, () => "a clientTranId names no transfer");
    for (const seq of this.halted.keys()) {
      const r = this.records.get(seq);
      invariant(r !== undefined && !TERMINAL.includes(r.state), () => `transfer ${seq}: halted but finished`);
    }
  }

  /** Drives every unfinished transfer (not halted) to COMMITTED or ROLLED_BACK. */
  async recover(): Promise<void> {
    for (const r of this.unfinished()) {
      if (this.halted.has(r.seq)) continue;
      await this.drive(r).catch(() => {
        // Left as it is (e.g. the ledger is unreachable); the next recovery pass tries again.
      });
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.running.values());
    await this.journal.close();
  }

  private drive(record: TransferRecord): Promise<TransferRecord> {
    if (TERMINAL.includes(record.state)) return Promise.resolve(record);
    const halted = this.halted.get(record.seq);
    if (halted) return Promise.reject(halted);
    let run = this.running.get(record.seq);
    if (!run) {
      run = this.step(record)
        .then(
          (done) => {
            if (this.retrying.delete(record.seq)) this.log(`transfer ${record.seq}: going on after a retry`);
            return done;
          },
          (e: Error) => {
            if (!this.halted.has(record.seq) && !this.retrying.has(record.seq)) {
              this.retrying.add(record.seq);
              this.log(`transfer ${record.seq}: will retry: ${e.message}`);
            }
            throw e;
          },
        )
        .finally(() => this.running.delete(record.seq));
      this.running.set(record.seq, run);
    }
    return run;
  }

  /** One transfer into the ledger, for transfer `r`: its status, or `r` halts if refused for good. */
  private async send(r: TransferRecord, t: Transfer): Promise<CreateTransferStatus> {
    try {
      const [result] = await this.ledger.createTransfers([t]);
      return result!.status;
    } catch (e) {
      if (isPermanentLedgerError(e)) this.halt(r, e as Error);
      throw e;
    }
  }

  private halt(r: TransferRecord, e: Error): never {
    this.halted.set(r.seq, e);
    this.retrying.delete(r.seq);
    this.log(`transfer ${r.seq} halted in state ${r.state}: ${e.message}`);
    throw e;
  }

  private step(r: TransferRecord): Promise<TransferRecord> {
    if (r.type === "DEPOSIT_FUNDING") return this.depositStep(r);
    if (r.type === "MAIN_FUNDING") return this.tradingToFundingStep(r);
    return this.fundingToTradingStep(r);
  }

  /** A deposit into Funding: one ledger transfer from the asset's Deposits account. */
  private async depositStep(r: TransferRecord): Promise<TransferRecord> {
    const assetId = this.exchange.asset(r.asset)!.id;
    const status = await this.send(
      r,
      transfer({
        id: transferId(TransferKind.Deposit, 1, r.seq, 0),
        debit_account_id: accountId(AccountKind.Deposits, assetId),
        credit_account_id: accountId(AccountKind.Funding, assetId, r.userId),
        amount: r.amount,
        ledger: assetId,
        code: TransferCode.Deposit,
      }),
    );
    if (accepted(status)) return this.moveTo(r, "COMMITTED");
    return this.moveTo(r, "ROLLED_BACK", CreateTransferStatus[status]);
  }

  /** Trading -> Funding: UBSCore debits (settlement moves the ledger's side). */
  private async tradingToFundingStep(r: TransferRecord): Promise<TransferRecord> {
    const refused = await this.refusal(() => this.trading.transferOut(r.seq, r.userId, r.asset, r.amount));
    return this.moveTo(r, refused ? "ROLLED_BACK" : "COMMITTED", refused);
  }

  /** Funding -> Trading: reserve in the ledger, credit in UBSCore, or void the reservation. */
  private async fundingToTradingStep(r: TransferRecord): Promise<TransferRecord> {
    if (r.state === "REQUESTED") {
      const assetId = this.exchange.asset(r.asset)!.id;
      const status = await this.send(r, reserveInternalTransfer(r.seq, r.userId, assetId, r.amount));
      if (!accepted(status)) {
        const reason = funded(status) ? CreateTransferStatus[status] : "insufficient funding balance";
        return this.moveTo(r, "ROLLED_BACK", reason);
      }
      await this.moveTo(r, "RESERVED");
    }
    const refused = await this.refusal(() => this.trading.transferIn(r.seq, r.userId, r.asset, r.amount));
    if (!refused) return this.moveTo(r, "COMMITTED");
    const status = await this.send(r, voidInternalTransfer(r.seq));
    if (!accepted(status)) {
      this.halt(
        r,
        new BourseError(
          "CONFLICT",
          `cannot void internal transfer ${r.seq}: ${CreateTransferStatus[status]}`,
        ),
      );
    }
    return this.moveTo(r, "ROLLED_BACK", refused);
  }

  /** Runs a UBSCore step: undefined when it was applied, the reason when UBSCore refused it. */
  private async refusal(run: () => Promise<void>): Promise<string | undefined> {
    try {
      await run();
      return undefined;
    } catch (e) {
      // Only a definite refusal compensates; anything else (unreachable, internal) is retried.
      if (isBourseError(e) && e.code !== "UNAVAILABLE" && e.code !== "INTERNAL") return e.message;
      throw e;
    }
  }

  private async moveTo(r: TransferRecord, state: TransferState, reason?: string): Promise<TransferRecord> {
    r.state = state;
    if (reason !== undefined) r.reason = reason;
    await this.persist(r);
    return r;
  }

  private remember(r: TransferRecord): void {
    this.records.set(r.seq, r);
    this.byClientId.set(`${r.userId}:${r.clientTranId}`, r.seq);
  }

  private async persist(r: TransferRecord): Promise<void> {
    await this.journal.append(encode(r));
  }
}

/** The ledger took the transfer: now, or before (a retried step). */
function accepted(status: CreateTransferStatus): boolean {
  return status === CreateTransferStatus.created || status === CreateTransferStatus.exists;
}

/** Statuses that are not about the funding balance itself (they would be a bug, reported as such). */
function funded(status: CreateTransferStatus): boolean {
  return (
    status !== CreateTransferStatus.exceeds_credits &&
    status !== CreateTransferStatus.id_already_failed &&
    status !== CreateTransferStatus.debit_account_not_found
  );
}

function encode(r: TransferRecord): Uint8Array {
  return Buffer.from(JSON.stringify({ ...r, amount: r.amount.toString() }));
}

function decode(bytes: Uint8Array): TransferRecord {
  const raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  return { ...raw, amount: BigInt(raw.amount) };
}
