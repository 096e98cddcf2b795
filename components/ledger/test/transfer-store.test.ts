import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { transfer } from "../src/port.ts";
import { TransferStore } from "../src/transfer-store.ts";

it.each([
  ["in memory", undefined],
  ["with older records in a scratch file", join(mkdtempSync(join(tmpdir(), "bourse-transfers-")), "t.slots")],
])("stores transfers across record chunks and truncates back over a chunk boundary, %s", async (_, file) => {
  const store = new TransferStore(file);
  const make = (i: number) =>
    transfer({
      id: BigInt(i) * 1_000_003n,
      debit_account_id: 1n,
      credit_account_id: 2n,
      amount: 5n,
      ledger: 1,
      code: 1,
    });
  const n = 65_536 + 3;
  for (let i = 1; i <= n; i++) store.append(make(i), BigInt(i), 0, BigInt(i));
  expect(store.size).toBe(n);
  for (const i of [1, 65_535, 65_536, 65_537, n]) {
    expect(store.get(make(i).id)).toMatchObject({ id: make(i).id, amount: BigInt(i), timestamp: BigInt(i) });
  }
  store.truncate(5); // back over a chunk boundary
  expect(store.size).toBe(n - 5);
  for (let i = n - 4; i <= n; i++) expect(store.has(make(i).id)).toBe(false);
  expect(store.get(make(n - 5).id)).toMatchObject({ amount: BigInt(n - 5) });
  store.append(make(n + 1), 9n, 0, 9n);
  expect(store.get(make(n + 1).id)).toMatchObject({ amount: 9n });
  await store.close();
});
