import fc from "fast-check";
import { AccountFlags, CreateTransferStatus, TransferFlags } from "tigerbeetle-node";
import { expect, it } from "vitest";
import { CREDITS_POSTED } from "../src/account-table.ts";
import { LedgerState, runToEnd } from "../src/ledger-state.ts";
import { account, transfer } from "../src/port.ts";

const ACCOUNT_IDS = [1n, 2n, 3n, 4n];

function ledgerWithAccounts(): LedgerState {
  const state = new LedgerState();
  state.createAccounts(
    ACCOUNT_IDS.map((id) =>
      account({ id, ledger: 1, code: 1, flags: id === 4n ? 0 : AccountFlags.debits_must_not_exceed_credits }),
    ),
    1n,
  );
  return state;
}

// Few ids and accounts, small amounts and an unknown account (5): retries, limits and missing
// accounts fail some events, and so their chains.
const event = fc.record({
  id: fc.bigInt({ min: 1n, max: 40n }),
  debit: fc.bigInt({ min: 1n, max: 5n }),
  credit: fc.bigInt({ min: 1n, max: 5n }),
  amount: fc.bigInt({ min: 0n, max: 20n }),
  linked: fc.boolean(),
});

it("applies a batch in steps exactly as in one go", () => {
  fc.assert(
    fc.property(
      fc.array(event, { maxLength: 60, size: "max" }),
      fc.integer({ min: 1, max: 7 }),
      (events, step) => {
        const batch = events.map((e) =>
          transfer({
            id: 1000n + e.id,
            debit_account_id: e.debit,
            credit_account_id: e.credit,
            amount: e.amount,
            ledger: 1,
            code: 1,
            flags: e.linked ? TransferFlags.linked : 0,
          }),
        );
        const whole = ledgerWithAccounts();
        const stepped = ledgerWithAccounts();
        // Funds the limited accounts, so that some transfers between them succeed.
        const funding = ACCOUNT_IDS.slice(0, 3).map((id) =>
          transfer({ id, debit_account_id: 4n, credit_account_id: id, amount: 30n, ledger: 1, code: 1 }),
        );
        whole.createTransfers(funding, 100n);
        stepped.createTransfers(funding, 100n);

        const expected = whole.createTransfers(batch, 1000n);
        expect(runToEnd(stepped.createTransfersInSteps(batch, 1000n, undefined, step))).toEqual(expected);
        for (const id of ACCOUNT_IDS) expect(stepped.accounts.get(id)).toEqual(whole.accounts.get(id));
        for (const t of batch) expect(stepped.transfers.get(t.id)).toEqual(whole.transfers.get(t.id));
        whole.checkInvariants();
        stepped.checkInvariants();
      },
    ),
    { numRuns: 300 },
  );
});

it("rolls back every balance of a long failed chain", () => {
  const state = ledgerWithAccounts();
  const before = ACCOUNT_IDS.map((id) => state.accounts.get(id));
  // 40 linked transfers from the unlimited account, then one that exceeds a limit: all fail.
  const chain = Array.from({ length: 41 }, (_, i) =>
    transfer({
      id: 5000n + BigInt(i),
      debit_account_id: i < 40 ? 4n : 1n,
      credit_account_id: i < 40 ? 1n + BigInt(i % 3) : 2n,
      amount: i < 40 ? 1n : 1000n,
      ledger: 1,
      code: 1,
      flags: i < 40 ? TransferFlags.linked : 0,
    }),
  );
  const results = state.createTransfers(chain, 1000n);
  expect(results.at(-1)!.status).toBe(CreateTransferStatus.exceeds_credits);
  expect(results.slice(0, 40).every((r) => r.status === CreateTransferStatus.linked_event_failed)).toBe(true);
  expect(ACCOUNT_IDS.map((id) => state.accounts.get(id))).toEqual(before);
  expect(state.transfers.size).toBe(0);
});

it("checkInvariants finds a balance changed on one side only", () => {
  const state = ledgerWithAccounts();
  state.createTransfers(
    [transfer({ id: 1n, debit_account_id: 4n, credit_account_id: 1n, amount: 30n, ledger: 1, code: 1 })],
    100n,
  );
  state.checkInvariants();
  // Credits posted of account 1 (slot 0) grow by one without a debit anywhere: money from nowhere.
  const at = state.accounts.balanceAt(0, CREDITS_POSTED);
  state.accounts.limbs[at]! += 1n;
  expect(() => state.checkInvariants()).toThrow(/ledger 1: 30 posted debits, 31 posted credits/);
});
