/**
 * The u128 id layout of Bourse's ledger (TigerBeetle) accounts and transfers. One TigerBeetle
 * `ledger` per asset (ledger = asset id). Ids are built from fields that cannot overlap:
 *
 *   account:  kind (8 bits) | asset id (16) | user id (64)                  (high bits 0x01..)
 *   transfer: kind (8 bits) | source (48) | sequence (64) | leg (8)          (high bits 0x80..)
 *
 * Account and transfer kinds are disjoint byte values, so no account id equals a transfer id;
 * within a kind the fields are fixed-width and non-negative, so distinct inputs give distinct ids.
 * Transfer ids are derived from what caused them (a trade id and market, a transfer request's
 * sequence), so a replay of the same cause produces the same ids and TigerBeetle answers `exists`.
 */
export enum AccountKind {
  Funding = 0x01,
  Trading = 0x02,
  /** Omnibus per asset: the other side of every deposit and completed withdrawal. */
  Deposits = 0x10,
  /** Per asset: funds of withdrawals that are held but not yet completed. */
  WithdrawalsInFlight = 0x11,
  /** Per asset: fees collected from trades. */
  Fees = 0x12,
  /** Per asset: transit for Funding <-> Trading transfers while their saga is open. */
  TransferTransit = 0x13,
}

export enum TransferKind {
  Deposit = 0x80,
  Withdrawal = 0x81,
  /** Funding <-> Trading transfer legs; source = transfer request sequence. */
  InternalTransfer = 0x82,
  /** Trade settlement legs; source = market id, sequence = trade id. */
  TradeSettlement = 0x83,
}

/** `code` of each account kind in TigerBeetle (distinct codes for Funding and Trading). */
export const ACCOUNT_CODE: Record<AccountKind, number> = {
  [AccountKind.Funding]: 1,
  [AccountKind.Trading]: 2,
  [AccountKind.Deposits]: 10,
  [AccountKind.WithdrawalsInFlight]: 11,
  [AccountKind.Fees]: 12,
  [AccountKind.TransferTransit]: 13,
};

const U16 = 0xffffn;
const U48 = (1n << 48n) - 1n;
const U64 = (1n << 64n) - 1n;

function check(value: bigint, max: bigint, field: string): bigint {
  if (value < 0n || value > max) throw new RangeError(`${field} out of range: ${value}`);
  return value;
}

/** A user's Funding/Trading account, or a system account (userId 0) of an asset. */
export function accountId(kind: AccountKind, assetId: number, userId: number | bigint = 0): bigint {
  return (
    (BigInt(kind) << 120n) |
    (check(BigInt(assetId), U16, "assetId") << 64n) |
    check(BigInt(userId), U64, "userId")
  );
}

export function transferId(
  kind: TransferKind,
  source: number | bigint,
  sequence: number | bigint,
  leg: number,
): bigint {
  return (
    (BigInt(kind) << 120n) |
    (check(BigInt(source), U48, "source") << 72n) |
    (check(BigInt(sequence), U64, "sequence") << 8n) |
    check(BigInt(leg), 0xffn, "leg")
  );
}

export function decodeAccountId(id: bigint): { kind: number; assetId: number; userId: bigint } {
  return { kind: Number(id >> 120n), assetId: Number((id >> 64n) & U16), userId: id & U64 };
}

export function decodeTransferId(id: bigint): {
  kind: number;
  source: bigint;
  sequence: bigint;
  leg: number;
} {
  return {
    kind: Number(id >> 120n),
    source: (id >> 72n) & U48,
    sequence: (id >> 8n) & U64,
    leg: Number(id & 0xffn),
  };
}
