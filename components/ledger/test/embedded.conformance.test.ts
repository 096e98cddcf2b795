import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTransferStatus } from "tigerbeetle-node";
import { describe, expect, it } from "vitest";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { account, BATCH_MAX, transfer } from "../src/port.ts";
import { ledgerConformance } from "./conformance.ts";

ledgerConformance("embedded ledger (in memory)", () => EmbeddedLedger.open());
ledgerConformance("embedded ledger (durable)", async () =>
  EmbeddedLedger.open(await mkdtemp(join(tmpdir(), "bourse-ledger-"))),
);

describe("embedded ledger batches", () => {
  it("refuses a batch larger than TigerBeetle's, and changes nothing", async () => {
    const ledger = await EmbeddedLedger.open(await mkdtemp(join(tmpdir(), "bourse-ledger-")));
    await ledger.createAccounts([
      account({ id: 1n, ledger: 1, code: 1 }),
      account({ id: 2n, ledger: 1, code: 1 }),
    ]);
    const batch = Array.from({ length: BATCH_MAX + 1 }, (_, i) =>
      transfer({
        id: BigInt(i + 1),
        debit_account_id: 1n,
        credit_account_id: 2n,
        amount: 1n,
        ledger: 1,
        code: 1,
      }),
    );
    await expect(ledger.createTransfers(batch)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await ledger.lookupTransfers([1n])).toEqual([]);
    expect(
      (await ledger.createTransfers(batch.slice(0, BATCH_MAX))).every(
        (r) => r.status === CreateTransferStatus.created,
      ),
    ).toBe(true);
    await ledger.close();
  });
});
