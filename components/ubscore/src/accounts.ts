import { fail } from "../../domain/src/index.ts";
import {
  assetId,
  balance,
  type CommandResult,
  type CoreState,
  insufficientBalance,
  NO_EVENTS,
} from "./state.ts";
import {
  type ListenKeyCommand,
  ListenKeyOp,
  type SignedOnce,
  type UbsCommand,
  type Withdrawal,
} from "./types.ts";

/**
 * The commands on users and their balances that need no book: users, credits and debits,
 * withdrawals, internal transfers, signed requests and listen keys. Credit, debit, completed
 * withdrawals and transfers are the only ways money enters or leaves (`netInflow` counts them).
 */

type CommandOf<K extends UbsCommand["kind"]> = Extract<UbsCommand, { readonly kind: K }>;

export function createUser(s: CoreState, userId: number): CommandResult {
  if (!Number.isSafeInteger(userId) || userId <= 0) fail("INVALID_ARGUMENT", "userId must be positive");
  if (s.users.has(userId)) fail("CONFLICT", `user ${userId} exists`);
  return addUser(s, userId);
}

export function addUser(s: CoreState, userId: number): CommandResult {
  s.users.add(userId);
  s.balances.set(
    userId,
    s.exchange.assets.map(() => ({ available: 0n, frozen: 0n })),
  );
  return { events: NO_EVENTS, userId };
}

/** The id the next user gets: one above the highest so far. */
export function nextUserId(s: CoreState): number {
  let max = 0;
  for (const id of s.users) if (id > max) max = id;
  return max + 1;
}

export function credit(s: CoreState, cmd: CommandOf<"credit">): CommandResult {
  const asset = assetId(s, cmd.asset);
  const b = balance(s, cmd.userId, asset);
  positiveAmount(cmd.amount);
  if (cmd.depositId !== undefined && knownDeposit(s, cmd.userId, asset, cmd.amount, cmd.depositId))
    return { events: NO_EVENTS, repeated: true };
  b.available += cmd.amount;
  s.netInflow[asset - 1]! += cmd.amount;
  return { events: NO_EVENTS };
}

export function debit(s: CoreState, cmd: CommandOf<"debit">): CommandResult {
  const asset = assetId(s, cmd.asset);
  const b = balance(s, cmd.userId, asset);
  positiveAmount(cmd.amount);
  if (b.available < cmd.amount) insufficientBalance();
  b.available -= cmd.amount;
  s.netInflow[asset - 1]! -= cmd.amount;
  return { events: NO_EVENTS };
}

/**
 * Is this deposit already credited (then true: the credit repeats it)? A known id with other
 * terms is refused; an unknown one is remembered.
 */
function knownDeposit(
  s: CoreState,
  userId: number,
  asset: number,
  amount: bigint,
  depositId: string,
): boolean {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(depositId)) fail("INVALID_ARGUMENT", "bad deposit id");
  const known = s.deposits.get(depositId);
  if (!known) {
    s.deposits.set(depositId, [userId, asset, amount]);
    return false;
  }
  if (known[0] !== userId || known[1] !== asset || known[2] !== amount)
    fail("CONFLICT", `deposit ${depositId} was already credited with other terms`);
  return true;
}

export function holdWithdrawal(s: CoreState, cmd: CommandOf<"holdWithdrawal">): CommandResult {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cmd.withdrawalId)) fail("INVALID_ARGUMENT", "bad withdrawal id");
  if (s.withdrawals.has(cmd.withdrawalId)) fail("CONFLICT", `withdrawal ${cmd.withdrawalId} exists`);
  const asset = assetId(s, cmd.asset);
  const b = balance(s, cmd.userId, asset);
  positiveAmount(cmd.amount);
  if (b.available < cmd.amount) insufficientBalance();
  b.available -= cmd.amount;
  b.frozen += cmd.amount;
  const w: Withdrawal = {
    withdrawalId: cmd.withdrawalId,
    seq: s.withdrawals.size + 1,
    userId: cmd.userId,
    assetId: asset,
    amount: cmd.amount,
    status: "HELD",
  };
  s.withdrawals.set(cmd.withdrawalId, w);
  return { events: NO_EVENTS, withdrawal: w };
}

/**
 * Completes (the held funds leave the exchange) or cancels (they return to available) a held
 * withdrawal. Repeating the same outcome is a no-op; asking for the other one is a conflict.
 */
export function settleWithdrawal(s: CoreState, withdrawalId: string, complete: boolean): CommandResult {
  const w = s.withdrawals.get(withdrawalId) ?? fail("UNKNOWN_ORDER", `unknown withdrawal ${withdrawalId}`);
  const target = complete ? "COMPLETED" : "CANCELED";
  if (w.status === target) return { events: NO_EVENTS, withdrawal: w, repeated: true };
  if (w.status !== "HELD") fail("CONFLICT", `withdrawal ${withdrawalId} is already ${w.status}`);
  const b = balance(s, w.userId, w.assetId);
  b.frozen -= w.amount;
  if (complete) s.netInflow[w.assetId - 1]! -= w.amount;
  else b.available += w.amount;
  w.status = target;
  return { events: NO_EVENTS, withdrawal: w };
}

/** One side of an internal transfer between funding and trading, applied once per sequence. */
export function transfer(s: CoreState, cmd: CommandOf<"transferIn" | "transferOut">): CommandResult {
  if (!Number.isSafeInteger(cmd.transferSeq) || cmd.transferSeq <= 0)
    fail("INVALID_ARGUMENT", "bad transfer sequence");
  const asset = assetId(s, cmd.asset);
  const b = balance(s, cmd.userId, asset);
  positiveAmount(cmd.amount);
  if (s.appliedTransfers.has(cmd.transferSeq)) return { events: NO_EVENTS, repeated: true };
  if (cmd.kind === "transferOut" && b.available < cmd.amount) insufficientBalance();
  const change = cmd.kind === "transferIn" ? cmd.amount : -cmd.amount;
  b.available += change;
  s.netInflow[asset - 1]! += change;
  s.appliedTransfers.add(cmd.transferSeq);
  return { events: NO_EVENTS };
}

/**
 * A command from a signed request takes that request, whatever its outcome: a request refused
 * for want of funds cannot be replayed once the funds arrive.
 */
export function useSignature(s: CoreState, cmd: SignedOnce, time: number): void {
  if (cmd.signature === undefined && cmd.validUntil === undefined) return;
  if (cmd.signature === undefined || cmd.validUntil === undefined)
    fail("INVALID_ARGUMENT", "a signed command carries its signature and its validUntil");
  s.signatures.use(cmd.signature, cmd.validUntil, time);
}

export function takeSignature(s: CoreState, cmd: CommandOf<"takeSignature">): CommandResult {
  if (!s.users.has(cmd.userId)) fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
  if (cmd.signature === undefined) fail("INVALID_ARGUMENT", "takeSignature carries a signature");
  useSignature(s, cmd, cmd.time);
  return { events: NO_EVENTS };
}

export function applyListenKey(s: CoreState, cmd: ListenKeyCommand): CommandResult {
  if (!s.users.has(cmd.userId)) fail("UNKNOWN_USER", `unknown user ${cmd.userId}`);
  switch (cmd.op) {
    case ListenKeyOp.Create:
      return { events: NO_EVENTS, listenKey: s.listenKeys.create(cmd.userId, cmd.key, cmd.time, cmd) };
    case ListenKeyOp.KeepAlive:
      s.listenKeys.keepAlive(cmd.userId, cmd.key, cmd.time, cmd.ttlMs);
      return { events: NO_EVENTS, listenKey: cmd.key };
    case ListenKeyOp.Close:
      s.listenKeys.close(cmd.userId, cmd.key, cmd.time);
      return { events: NO_EVENTS, listenKey: cmd.key };
    default:
      // Bytes from the journal or a gateway: a bad operation is refused, not a bug.
      return fail("INVALID_ARGUMENT", `unknown listen-key operation ${cmd.op}`);
  }
}

function positiveAmount(amount: bigint): void {
  if (typeof amount !== "bigint" || amount <= 0n)
    fail("INVALID_ARGUMENT", "amount must be a positive integer");
}
