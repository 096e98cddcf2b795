import type { Account, Transfer } from "tigerbeetle-node";
import { describe, expect, it } from "vitest";
import { ACCOUNT_WIDTHS, EmbeddedLedger, TRANSFER_WIDTHS } from "../src/embedded-ledger.ts";

/** A record of zeros with `field` one past its width: the table alone says what it holds. */
function pastWidth<E>(widths: readonly (readonly [string, bigint | number])[], field: string): E {
  const record = Object.fromEntries(widths.map(([f, max]) => [f, typeof max === "bigint" ? 0n : 0]));
  const max = widths.find(([f]) => f === field)![1];
  record[field] = typeof max === "bigint" ? max + 1n : max + 1;
  return record as E;
}

/**
 * The embedded ledger checks widths with straight-line copies of its width tables (a loop over
 * field names costs milliseconds a batch): every field of each table must be refused past its
 * width, naming the field, or a copy has lost one.
 */
describe("field widths", () => {
  it.each(ACCOUNT_WIDTHS.map(([field]) => field))(
    "an account's %s past its width is refused",
    async (field) => {
      const ledger = await EmbeddedLedger.open();
      await expect(ledger.createAccounts([pastWidth<Account>(ACCOUNT_WIDTHS, field)])).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringContaining(`${field} must be`),
      });
      await ledger.close();
    },
  );

  it.each(TRANSFER_WIDTHS.map(([field]) => field))(
    "a transfer's %s past its width is refused",
    async (field) => {
      const ledger = await EmbeddedLedger.open();
      await expect(
        ledger.createTransfers([pastWidth<Transfer>(TRANSFER_WIDTHS, field)]),
      ).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringContaining(`${field} must be`),
      });
      await ledger.close();
    },
  );
});
