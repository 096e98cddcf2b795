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

  it("writes the bytes it wrote before its layout became a table", () => {
    const big = (1n << 100n) + 0x0102030405060708n;
    const view = new DataView(new ArrayBuffer(EVENT_SIZE));
    const hex = () => Buffer.from(view.buffer).toString("hex");
    encodeAccount(
      account({
        id: big,
        debits_pending: 1n,
        debits_posted: 2n << 70n,
        credits_pending: 3n,
        credits_posted: 4n,
        user_data_128: 5n,
        user_data_64: 6n,
        user_data_32: 7,
        ledger: 8,
        code: 9,
        flags: 10,
        timestamp: 11n,
      }),
      view,
      0,
    );
    expect(hex()).toBe(
      "08070605040302010000000010000000010000000000000000000000000000000000000000000000" +
        "80000000000000000300000000000000000000000000000004000000000000000000000000000000" +
        "05000000000000000000000000000000060000000000000007000000000000000800000009000a00" +
        "0b00000000000000",
    );
    encodeTransfer(
      transfer({
        id: big,
        debit_account_id: 12n,
        credit_account_id: 13n << 90n,
        amount: 14n,
        pending_id: 15n,
        user_data_128: 16n,
        user_data_64: 17n,
        user_data_32: 18,
        timeout: 19,
        ledger: 20,
        code: 21,
        flags: 22,
        timestamp: 23n,
      }),
      view,
      0,
    );
    expect(hex()).toBe(
      "080706050403020100000000100000000c0000000000000000000000000000000000000000000000" +
        "00000034000000000e0000000000000000000000000000000f000000000000000000000000000000" +
        "10000000000000000000000000000000110000000000000012000000130000001400000015001600" +
        "1700000000000000",
    );
  });
});
