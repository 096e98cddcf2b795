import type { CommandResult, UbsCommand, UbsCore } from "../../ubscore/src/index.ts";

/**
 * Settlement as UBSCore's node sees it: in the same process (`Settlement`, fed directly), or
 * `bourse settlement` in its own (`SettlementFeed`: fed through the event log, asked over the
 * transport how far it has settled). Positions are UBSCore journal lsns.
 */
export interface SettlementPort {
  /** Takes one applied UBSCore command (live or replayed at start), in journal order. */
  record(cmd: UbsCommand, result: CommandResult, lsn: number, core: UbsCore): void;
  /** The last position whose entries are in the ledger and the store. */
  readonly settledLsn: number;
  /** The last position with entries handed to settlement (settled or not): the lag is the difference. */
  readonly recordedLsn: number;
  /**
   * Admission control for UBSCore: undefined while settlement is at most `maxLag` positions
   * behind; else a promise that resolves once it is back a tenth below that (rejects if it stopped).
   */
  backpressure(maxLag: number): Promise<void> | undefined;
  /** Resolves once everything recorded so far is durable on settlement's side (before a snapshot). */
  recordedDurably(): Promise<void>;
  /** Resolves once everything up to `lsn` is settled (rejects if settlement has stopped). */
  waitSettled(lsn: number): Promise<void>;
  close(): Promise<void>;
}
