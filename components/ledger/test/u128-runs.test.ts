import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { BATCH_MAX, transfer } from "../src/port.ts";
import { TransferStore } from "../src/transfer-store.ts";
import { u128Words } from "../src/u128-index.ts";
import { U128Runs } from "../src/u128-runs.ts";

const scratchDir = () => mkdtempSync(join(tmpdir(), "bourse-runs-"));

const id = fc.oneof(
  fc.bigInt({ min: 0n, max: 300n }), // neighbours: ids in the same blocks
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  fc.bigInt({ min: 0n, max: 1000n }).map((s) => (0x83n << 120n) | (1n << 72n) | (s << 8n)), // trade legs
);

it.each([
  ["every prefix tracked", 65_536],
  ["two prefixes tracked, the rest through the filters", 2],
])(
  "finds every id of every run at its slot and no other id (random ids, runs of any size), %s",
  async (_, tracked) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uniqueArray(id, { maxLength: 700, size: "max" }), { maxLength: 4 }),
        fc.array(id),
        async (runIds, probes) => {
          const runs = new U128Runs(join(scratchDir(), "ids"), tracked);
          const model = new Map<bigint, number>();
          for (const ids of runIds) {
            const fresh = ids.filter((i) => !model.has(i));
            const keys = new Uint32Array(fresh.length * 4);
            const slots = new Uint32Array(fresh.length);
            fresh.forEach((i, n) => {
              keys.set(u128Words(i), n * 4);
              slots[n] = model.size;
              model.set(i, model.size);
            });
            runs.add(keys, slots, fresh.length);
          }
          expect(runs.size).toBe(model.size);
          for (const i of [...model.keys(), ...probes]) {
            const w = u128Words(i);
            expect(runs.getWords(w[0]!, w[1]!, w[2]!, w[3]!)).toBe(model.get(i) ?? -1);
          }
          await runs.close();
        },
      ),
      { numRuns: 200 },
    );
  },
);

it("moves older ids to runs on disk, still finds them, and rolls back only the newest", async () => {
  const dir = scratchDir();
  const store = new TransferStore(join(dir, "t.slots"));
  const make = (i: number) =>
    transfer({
      id: (0x83n << 120n) | (BigInt(i % 3) << 72n) | (BigInt(i) << 8n),
      debit_account_id: 1n,
      credit_account_id: 2n,
      amount: 1n,
      ledger: 1,
      code: 1,
    });
  const n = 600_000; // past two moves of the older ids
  for (let i = 0; i < n; i++) store.append(make(i), BigInt(i), 0, BigInt(i));
  for (const i of [0, 1, 262_143, 270_000, 400_000, n - 1]) {
    expect(store.get(make(i).id)).toMatchObject({ amount: BigInt(i), timestamp: BigInt(i) });
  }
  expect(store.has(make(n).id)).toBe(false);
  store.truncate(BATCH_MAX);
  expect(store.size).toBe(n - BATCH_MAX);
  expect(store.has(make(n - 1).id)).toBe(false);
  expect(store.has(make(n - 8191).id)).toBe(true);
  expect(readdirSync(dir)).toEqual([]);
  await store.close();
});
