import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AccountKind,
  accountId,
  decodeAccountId,
  decodeTransferId,
  TransferKind,
  transferId,
} from "../src/ids.ts";

const accountKinds = Object.values(AccountKind).filter((v): v is AccountKind => typeof v === "number");
const transferKinds = Object.values(TransferKind).filter((v): v is TransferKind => typeof v === "number");

describe("ledger id layout", () => {
  it("round-trips every field, so distinct inputs can never collide (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...accountKinds),
        fc.integer({ min: 0, max: 0xffff }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (kind, assetId, userId) => {
          expect(decodeAccountId(accountId(kind, assetId, userId))).toEqual({ kind, assetId, userId });
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...transferKinds),
        fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 255 }),
        (kind, source, sequence, leg) => {
          expect(decodeTransferId(transferId(kind, source, sequence, leg))).toEqual({
            kind,
            source,
            sequence,
            leg,
          });
        },
      ),
    );
  });

  it("keeps account and transfer ids apart, and every id a valid TigerBeetle id", () => {
    const lowest = transferId(Math.min(...transferKinds), 0, 0, 0);
    const highest = accountId(Math.max(...accountKinds), 0xffff, (1n << 64n) - 1n);
    expect(highest).toBeLessThan(lowest);
    expect(accountId(AccountKind.Funding, 1, 0)).toBeGreaterThan(0n);
    expect(transferId(TransferKind.TradeSettlement, (1n << 48n) - 1n, (1n << 64n) - 1n, 255)).toBeLessThan(
      (1n << 128n) - 1n,
    );
  });

  it("rejects fields that do not fit", () => {
    expect(() => accountId(AccountKind.Trading, 0x10000, 1)).toThrow(RangeError);
    expect(() => transferId(TransferKind.Deposit, 1, -1n, 0)).toThrow(RangeError);
    expect(() => transferId(TransferKind.Deposit, 1, 1, 256)).toThrow(RangeError);
  });
});
