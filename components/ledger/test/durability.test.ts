import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountFlags, CreateTransferStatus, TransferFlags } from "tigerbeetle-node";
import { describe, expect, it } from "vitest";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { account, transfer } from "../src/port.ts";

describe("EmbeddedLedger durability", () => {
  it("restores every account, transfer, pending state and failed id after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ledger-restart-"));
    const ledger = await EmbeddedLedger.open(dir);
    await ledger.createAccounts([
      account({ id: 1n, ledger: 1, code: 1 }),
      account({ id: 2n, ledger: 1, code: 2, flags: AccountFlags.debits_must_not_exceed_credits }),
    ]);
    await ledger.createTransfers([
      transfer({ id: 10n, debit_account_id: 1n, credit_account_id: 2n, amount: 50n, ledger: 1, code: 1 }),
      transfer({
        id: 11n,
        debit_account_id: 2n,
        credit_account_id: 1n,
        amount: 20n,
        ledger: 1,
        code: 1,
        flags: TransferFlags.pending,
      }),
      transfer({ id: 12n, debit_account_id: 2n, credit_account_id: 1n, amount: 999n, ledger: 1, code: 1 }),
    ]);
    const accounts = await ledger.lookupAccounts([1n, 2n]);
    const transfers = await ledger.lookupTransfers([10n, 11n]);
    await ledger.close();

    const reopened = await EmbeddedLedger.open(dir);
    expect(await reopened.lookupAccounts([1n, 2n])).toEqual(accounts);
    expect(await reopened.lookupTransfers([10n, 11n])).toEqual(transfers);
    const post = transfer({
      id: 13n,
      debit_account_id: 0n,
      credit_account_id: 0n,
      amount: 5n,
      pending_id: 11n,
      ledger: 0,
      code: 0,
      flags: TransferFlags.post_pending_transfer,
    });
    const retried = transfer({
      id: 12n,
      debit_account_id: 2n,
      credit_account_id: 1n,
      amount: 999n,
      ledger: 1,
      code: 1,
    });
    expect((await reopened.createTransfers([post, retried])).map((r) => r.status)).toEqual([
      CreateTransferStatus.created,
      CreateTransferStatus.id_already_failed,
    ]);
    expect((await reopened.lookupAccounts([2n]))[0]).toMatchObject({
      debits_pending: 0n,
      debits_posted: 5n,
      credits_posted: 50n,
    });
    await reopened.close();
  });
});
