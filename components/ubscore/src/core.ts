import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { assertNever, isBourseError } from "../../domain/src/index.ts";
import type { HandoverBook } from "../../matching/src/index.ts";
import {
  addUser,
  applyListenKey,
  createUser,
  credit,
  debit,
  holdWithdrawal,
  nextUserId,
  settleWithdrawal,
  takeSignature,
  transfer,
  useSignature,
} from "./accounts.ts";
import { gatherSnapshot, restoredMode, restoreState } from "./core-snapshot.ts";
import { match } from "./execution.ts";
import { forgetOldHistory } from "./history.ts";
import { admitOco, admitOto, listOrderCount } from "./order-lists.ts";
import { admitAmend, admitCancel, admitCancelAll, admitOrder } from "./orders.ts";
import { CoreQueries } from "./queries.ts";
import { applyOutcome, forwardedWaiting, matchingHandover } from "./remote-books.ts";
import { readSnapshot } from "./snapshot-format.ts";
import {
  type CommandResult,
  DEFAULT_RETENTION,
  type Forwarded,
  type MatchingMode,
  market,
  NO_EVENTS,
  newCoreState,
  type Retention,
} from "./state.ts";
import type { PlaceOco, PlaceOrder, PlaceOto, UbsCommand } from "./types.ts";

export type { CommandResult, Forwarded, MatchingMode, Retention } from "./state.ts";

/**
 * UBSCore's state machine: the single writer of trading balances and the pre-trade risk check,
 * with the markets' matching engines inside it. Deterministic and free of I/O: the same commands
 * in the same order give the same state, which is how the durable service recovers.
 *
 * Money rules (amounts in each asset's smallest unit, bigint):
 * - a new order freezes exactly what it may spend: a BUY LIMIT its notional at the limit price
 *   plus the fee at the higher of the maker/taker rates (quote); a SELL its quantity (base); a BUY
 *   MARKET by quote amount that amount; a BUY MARKET by quantity the notional at the market's
 *   maximum price, capped at what is available (the engine stops when the budget runs out);
 * - a fill moves base seller -> buyer and quote buyer -> seller at the maker price; fees (quote,
 *   parts per million of the notional, rounded down) go from both sides to the fee account;
 * - whatever an order no longer needs (price improvement, unused fee reserve, unfilled remainder)
 *   is released when it is done.
 * Every change moves money between accounts, except credit/debit, which are the only way money
 * enters or leaves (conservation is checked by the tests).
 *
 * Its rooms, each a set of functions of the one CoreState (state.ts): accounts.ts (users,
 * balances, withdrawals, transfers, signatures), orders.ts (admitting order commands),
 * order-lists.ts (OCO, OTO), pending-orders.ts (an OTO's pending orders), execution.ts and fills.ts (running a command on its book and applying
 * the book's events), remote-books.ts (books in a matching service), history.ts (retention),
 * core-snapshot.ts, queries.ts and invariants.ts.
 */
export class UbsCore extends CoreQueries {
  /** Checks every invariant after each command (`verify` mode): slow, for finding bugs. */
  verify = false;

  constructor(
    readonly exchange: ExchangeDefinition,
    readonly retention: Retention = DEFAULT_RETENTION,
    readonly matching: MatchingMode = "local",
  ) {
    super(newCoreState(exchange, retention, matching));
  }

  apply(cmd: UbsCommand): CommandResult {
    if (!this.verify) return this.applyWithLists(cmd);
    try {
      return this.applyWithLists(cmd);
    } finally {
      this.checkInvariants();
    }
  }

  /** The command, then the pending orders of the OTO lists whose working order it filled. */
  private applyWithLists(cmd: UbsCommand): CommandResult {
    this.s.pendingOrders.reset();
    return this.s.pendingOrders.settle(this.s, this.applyCommand(cmd));
  }

  private applyCommand(cmd: UbsCommand): CommandResult {
    const s = this.s;
    // Before, not after: what the previous command closed stays readable to its listeners.
    forgetOldHistory(s);
    switch (cmd.kind) {
      case "createUser":
        return createUser(s, cmd.userId);
      case "addUser":
        return addUser(s, nextUserId(s));
      case "credit":
        return credit(s, cmd);
      case "debit":
        return debit(s, cmd);
      case "holdWithdrawal":
        return holdWithdrawal(s, cmd);
      case "completeWithdrawal":
      case "cancelWithdrawal":
        return settleWithdrawal(s, cmd.withdrawalId, cmd.kind === "completeWithdrawal");
      case "transferIn":
      case "transferOut":
        return transfer(s, cmd);
      case "place":
        return this.place(cmd);
      case "placeOco":
      case "placeOto":
        return this.placeList(cmd);
      case "cancel":
        useSignature(s, cmd, cmd.time);
        return match(s, admitCancel(s, cmd), cmd.time);
      case "cancelAll":
        useSignature(s, cmd, cmd.time);
        return match(s, admitCancelAll(s, cmd), cmd.time);
      case "amend":
        useSignature(s, cmd, cmd.time);
        return match(s, admitAmend(s, cmd), cmd.time);
      case "halt":
      case "resume":
        return this.halt(cmd.symbol, cmd.kind === "halt");
      case "matched":
        return applyOutcome(s, cmd.marketId, cmd.seq, cmd.events);
      case "listenKey":
        return applyListenKey(s, cmd);
      case "takeSignature":
        return takeSignature(s, cmd);
      default:
        return assertNever(cmd);
    }
  }

  private place(cmd: PlaceOrder): CommandResult {
    useSignature(this.s, cmd, cmd.time);
    // A user's order, counted with its signature: taken even when refused, as Binance counts it.
    if (cmd.signature !== undefined) this.s.counts.count(cmd.userId, cmd.time);
    return match(this.s, admitOrder(this.s, cmd), cmd.time);
  }

  private placeList(cmd: PlaceOco | PlaceOto): CommandResult {
    useSignature(this.s, cmd, cmd.time);
    // As Binance counts them: an OCO and an OTO are two orders, an OTOCO three.
    if (cmd.signature !== undefined) this.s.counts.count(cmd.userId, cmd.time, listOrderCount(cmd));
    const admitted = cmd.kind === "placeOco" ? admitOco(this.s, cmd) : admitOto(this.s, cmd);
    return match(this.s, admitted, cmd.time);
  }

  private halt(symbol: string, halted: boolean): CommandResult {
    const id = market(this.s, symbol).id;
    if (halted) this.s.halted.add(id);
    else this.s.halted.delete(id);
    return { events: NO_EVENTS };
  }

  /**
   * What a matching service needs to take over the books: each market's book as the last
   * applied outcome left it, and every command forwarded since (remote-books.ts).
   */
  matchingHandover(): { books: HandoverBook[]; pending: Forwarded[] } {
    return matchingHandover(this.s);
  }

  /** How many forwarded commands wait for their outcome, over all markets (0 with local books). */
  forwardedWaiting(): number {
    return forwardedWaiting(this.s);
  }

  /** Everything the core holds, as bytes (the format: snapshot-format.ts). */
  snapshot(): Uint8Array {
    return Buffer.concat([...this.snapshotChunks()]);
  }

  /**
   * The snapshot as chunks, records serialized as the chunks are taken, so a large one is never
   * one string. The core must not change until they are all taken: the background snapshot's
   * core never does (background-snapshot.ts).
   */
  snapshotChunks(): Iterable<Buffer> {
    return gatherSnapshot(this.s);
  }

  /**
   * `retention` overrides the snapshot's (UBSCore starting with its configured one); a replica
   * passes none and keeps exactly what the primary keeps.
   */
  static restore(
    exchange: ExchangeDefinition,
    bytes: Uint8Array,
    retention?: Retention,
    matching?: MatchingMode,
  ): UbsCore {
    const state = readSnapshot(bytes);
    const mode = restoredMode(state, matching);
    const core = new UbsCore(exchange, retention ?? state.retention ?? DEFAULT_RETENTION, mode);
    restoreState(core.s, state);
    return core;
  }
}

/**
 * Applies one journaled command on replay (a restart, a snapshot worker): a command that was
 * rejected the first time is rejected again, which changes nothing; only a bug (INTERNAL) or a
 * non-Bourse error stops the replay.
 */
export function applyJournaled(core: UbsCore, cmd: UbsCommand): CommandResult | undefined {
  try {
    return core.apply(cmd);
  } catch (e) {
    if (!isBourseError(e) || e.code === "INTERNAL") throw e;
    return undefined;
  }
}
