import { openSync } from "node:fs";
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

describe("EmbeddedLedger batches in flight", () => {
  it("applies batches sent together in the order sent, as the restart replays them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ledger-order-"));
    const ledger = await EmbeddedLedger.open(dir);
    const limited = AccountFlags.debits_must_not_exceed_credits;
    await ledger.createAccounts([
      account({ id: 1n, ledger: 1, code: 1 }),
      account({ id: 2n, ledger: 1, code: 1, flags: limited }),
      account({ id: 3n, ledger: 1, code: 1, flags: limited }),
    ]);
    // Each batch spends what the one before it moved: it succeeds only if applied after it. The
    // first is applied in several steps, with turns of the event loop between them.
    const move = (id: bigint, from: bigint, to: bigint, amount: bigint) =>
      transfer({ id, debit_account_id: from, credit_account_id: to, amount, ledger: 1, code: 1 });
    const n = 3000;
    const units = Array.from({ length: n }, (_, i) => move(100n + BigInt(i), 1n, 2n, 1n));
    const sent = [
      ledger.createTransfers(units),
      ledger.createTransfers([move(20n, 2n, 3n, BigInt(n))]),
      ledger.createTransfers([move(21n, 3n, 2n, 10n)]),
      ledger.lookupAccounts([2n]),
    ] as const;
    const [first, second, third, seen] = await Promise.all(sent);
    expect([...first, ...second, ...third].every((r) => r.status === CreateTransferStatus.created)).toBe(
      true,
    );
    // A lookup sent after them sees all three.
    expect(seen[0]).toMatchObject({ debits_posted: BigInt(n), credits_posted: BigInt(n) + 10n });
    // A lookup sent between two batches sees the first and not the second.
    const between = [
      ledger.createTransfers([move(22n, 2n, 1n, 5n)]),
      ledger.lookupAccounts([2n]),
      ledger.createTransfers([move(23n, 2n, 1n, 5n)]),
    ] as const;
    expect((await Promise.all(between))[1][0]).toMatchObject({ debits_posted: BigInt(n) + 5n });
    const accounts = await ledger.lookupAccounts([1n, 2n, 3n]);
    await ledger.close();
    const reopened = await EmbeddedLedger.open(dir);
    expect(await reopened.lookupAccounts([1n, 2n, 3n])).toEqual(accounts);
    await reopened.close();
  });
});

describe("EmbeddedLedger when its journal fails", () => {
  it("refuses everything once a batch could not be journaled, and a reopen recovers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ledger-fault-"));
    const ledger = await EmbeddedLedger.open(dir);
    await ledger.createAccounts([
      account({ id: 1n, ledger: 1, code: 1 }),
      account({ id: 2n, ledger: 1, code: 1 }),
    ]);
    const pay = (id: bigint) =>
      transfer({ id, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 1 });
    await ledger.createTransfers([pay(30n)]);
    // The disk fails the next write (the journal's file swapped for a read-only one): the batch
    // is applied in memory but never acknowledged.
    const journal = (ledger as unknown as { journal: { fd: number } }).journal;
    journal.fd = openSync(dir, "r");
    await expect(ledger.createTransfers([pay(31n)])).rejects.toThrow(/journal failed/);
    await expect(ledger.lookupAccounts([2n])).rejects.toThrow(/journal failed/);
    await expect(ledger.createTransfers([pay(32n)])).rejects.toThrow(/journal failed/);
    await ledger.close();

    const reopened = await EmbeddedLedger.open(dir);
    expect((await reopened.lookupAccounts([2n]))[0]).toMatchObject({ credits_posted: 5n });
    expect(await reopened.lookupTransfers([31n])).toEqual([]);
    await reopened.close();
  });
});
