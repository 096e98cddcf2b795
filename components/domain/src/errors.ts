/**
 * Errors as typed values. Every rejection in Bourse carries a stable machine code; the gateway maps
 * codes to Binance's numeric codes and HTTP statuses in one table, so cores never know about HTTP.
 */
export type ErrorCode =
  | "MALFORMED_DECIMAL"
  | "EXCESS_PRECISION"
  | "OUT_OF_RANGE"
  | "BAD_TICK"
  | "BAD_LOT"
  | "BELOW_MIN_NOTIONAL"
  | "UNKNOWN_ASSET"
  | "UNKNOWN_MARKET"
  | "UNKNOWN_USER"
  | "UNKNOWN_ORDER"
  | "DUPLICATE_ORDER"
  /** An order amend (keepPriority) that cannot be done as asked; the order stays as it was. */
  | "AMEND_REJECTED"
  | "INSUFFICIENT_BALANCE"
  /** A new order (or order list) that breaks one of Binance's rules of its kind (-2010). */
  | "ORDER_REJECTED"
  | "MARKET_HALTED"
  /** A signed request already taken (it may be taken once, by any gateway, before it expires). */
  | "REPLAYED"
  | "UNKNOWN_LISTEN_KEY"
  /** A signed request whose recvWindow has closed. */
  | "EXPIRED_REQUEST"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "CONFLICT"
  | "CORRUPT_JOURNAL"
  /** Another process writes this data directory (one writer per journal). */
  | "DATA_DIR_IN_USE"
  /** A UBSCore whose writer lease ran out: it stops writing and exits (another may take over). */
  | "LEASE_LOST"
  | "UNAVAILABLE"
  /** Too much work already waiting (e.g. order commands for a matching service that is away). */
  | "OVERLOADED"
  /** A user's new orders past Binance's order limits (per 10 s, per day), counted by UBSCore. */
  | "TOO_MANY_ORDERS"
  /** A peer on an internal link that could not prove it holds the link's key. */
  | "UNAUTHENTICATED"
  /** An authenticated peer asking for what its role may not do (a gateway crediting, say). */
  | "FORBIDDEN"
  | "INTERNAL";

export class BourseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "BourseError";
  }
}

export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new BourseError(code, message, details);
}

export function isBourseError(e: unknown, code?: ErrorCode): e is BourseError {
  return e instanceof BourseError && (code === undefined || e.code === code);
}

/**
 * A state the code promises can never be reached: a bug, never bad input. Thrown by the
 * `checkInvariants()` of each core, which the suites call after every step and production calls
 * after every applied command when `verify` is on; nothing catches it as a rejection.
 */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

export function invariant(holds: boolean, explain: () => string): asserts holds {
  if (!holds) throw new InvariantViolation(explain());
}

/**
 * The end of an exhaustive switch: it compiles only while every case is handled, so a new kind
 * of command (say) cannot silently fall through; reached anyway (bad bytes), it is a bug.
 */
export function assertNever(value: never): never {
  throw new InvariantViolation(`unhandled case: ${JSON.stringify(value)}`);
}

/**
 * A broken invariant stops the process: rethrown outside every caller's catch (an uncaught
 * exception, which `bourse` logs as a bug and exits on), so no rejection path can swallow it.
 */
export function crashOnViolation(error: unknown): void {
  if (error instanceof InvariantViolation)
    queueMicrotask(() => {
      throw error;
    });
}
