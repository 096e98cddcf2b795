import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeAccount, decodeTransfer, EVENT_SIZE, encodeAccount, encodeTransfer } from "../src/codec.ts";
import { account, transfer } from "../src/port.ts";

const u128 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe("ledger 128-byte codec", () => {
  it("round-trips accounts and transfers, small and large values", () => {
    fc.assert(
      fc.property(u128, u128, u128, u64, fc.nat(0xffff), (id, a, b, c, small) => {
        const view = new DataView(new ArrayBuffer(EVENT_SIZE));
        const acct = account({
          id,
          ledger: small + 1,
          code: small,
          debits_posted: a,
          credits_pending: b,
          user_data_64: c,
          flags: small,
        });
        encodeAccount(acct, view, 0);
        expect(decodeAccount(view, 0)).toEqual(acct);
        const t = transfer({
          id,
          debit_account_id: a,
          credit_account_id: b,
          amount: a,
          ledger: small,
          code: small,
          timestamp: c,
        });
        encodeTransfer(t, view, 0);
        expect(decodeTransfer(view, 0)).toEqual(t);
      }),
    );
  });
});
