import fc from "fast-check";
import { AccountFlags } from "tigerbeetle-node";
import { expect, it } from "vitest";
import {
  AccountTable,
  CREDITS_PENDING,
  CREDITS_POSTED,
  DEBITS_PENDING,
  DEBITS_POSTED,
} from "../src/account-table.ts";
import { account } from "../src/port.ts";
import { writeU128Slots } from "../src/u128-slots.ts";

const BALANCES = [DEBITS_PENDING, DEBITS_POSTED, CREDITS_PENDING, CREDITS_POSTED] as const;
const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

it("keeps every account's fields and balances through growth, and removes the last one", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.array(u128, { minLength: 4, maxLength: 4 }),
      (n, balances) => {
        const table = new AccountTable();
        const make = (i: number) =>
          account({
            id: (BigInt(i) << 64n) + 7n,
            ledger: 1 + (i % 5),
            code: 1,
            flags: i % 2 === 0 ? AccountFlags.debits_must_not_exceed_credits : 0,
            user_data_64: BigInt(i),
          });
        // Each account's balances, written as the ledger writes them: into its limbs.
        const expected = (i: number) => balances.map((b) => (b + BigInt(i)) % (1n << 128n));
        for (let i = 0; i < n; i++) {
          table.add(make(i));
          const slot = table.slotOf(make(i).id);
          BALANCES.forEach((field, k) => {
            writeU128Slots(table.limbs, table.balanceAt(slot, field), expected(i)[k]!);
          });
        }
        // The last account goes (a failed chain's) after its balances changed; added again, its
        // balances start from zero.
        table.add(make(n));
        writeU128Slots(table.limbs, table.balanceAt(table.slotOf(make(n).id), CREDITS_POSTED), 5n);
        table.removeLast();
        expect(table.size).toBe(n);
        expect(table.get(make(n).id)).toBeUndefined();
        table.add(make(n));
        expect(table.get(make(n).id)).toEqual(make(n));
        table.removeLast();
        for (const i of [0, Math.floor(n / 2), n - 1]) {
          const slot = table.slotOf(make(i).id);
          expect([table.ledger(slot), table.flags(slot)]).toEqual([make(i).ledger, make(i).flags]);
          const [debits_pending, debits_posted, credits_pending, credits_posted] = expected(i);
          expect(table.get(make(i).id)).toEqual({
            ...make(i),
            debits_pending,
            debits_posted,
            credits_pending,
            credits_posted,
          });
        }
      },
    ),
    { numRuns: 30 },
  );
});
