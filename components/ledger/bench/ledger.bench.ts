import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransferFlags } from "tigerbeetle-node";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { account, BATCH_MAX, type LedgerPort, type Transfer, transfer } from "../src/port.ts";

/**
 * npm run bench:ledger — transfers/s through the embedded ledger: batches of 8190 (TigerBeetle's
 * batch size) made of linked chains of 4 (like a trade's settlement: base leg, quote leg, two
 * fees), among 10,000 accounts on one ledger; in memory and durable (journal with fsync).
 */
const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
const ACCOUNTS = 10_000;
const CHAIN = 4;
const PER_BATCH = BATCH_MAX - (BATCH_MAX % CHAIN);

/** Seeded batches, made one at a time so the work waiting to be sent does not burden the heap. */
function* batches(): Generator<Transfer[]> {
  let id = 1_000_000n;
  let seed = 7;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let b = 0; b < BATCHES; b++) {
    yield Array.from({ length: PER_BATCH }, (_, i) => {
      const dr = BigInt(1 + (next() % ACCOUNTS));
      const cr = BigInt(1 + ((Number(dr) + (next() % (ACCOUNTS - 1))) % ACCOUNTS));
      return transfer({
        id: id++,
        debit_account_id: dr,
        credit_account_id: cr,
        amount: BigInt(1 + (next() % 1000)),
        ledger: 1,
        code: 1,
        flags: i % CHAIN === CHAIN - 1 ? 0 : TransferFlags.linked,
      });
    });
  }
}

async function measure(name: string, ledger: LedgerPort): Promise<void> {
  for (let i = 0; i < ACCOUNTS; i += BATCH_MAX) {
    const ids = Array.from({ length: Math.min(BATCH_MAX, ACCOUNTS - i) }, (_, j) => BigInt(i + j + 1));
    await ledger.createAccounts(ids.map((id) => account({ id, ledger: 1, code: 1 })));
  }
  let failed = 0;
  let seconds = 0;
  let count = 0;
  let warm = false;
  for (const batch of batches()) {
    const t0 = performance.now();
    const results = await ledger.createTransfers(batch);
    // The first batch warms the code up and is not counted.
    if (warm) {
      seconds += (performance.now() - t0) / 1000;
      count += batch.length;
    }
    warm = true;
    for (const r of results) if (r.status !== 0xffffffff) failed++;
  }
  console.log(
    `  ${name.padEnd(28)} ${(count / seconds / 1e6).toFixed(3)} M transfers/s (${count.toLocaleString("en")} in ${seconds.toFixed(2)} s, ${failed} failed)`,
  );
  await ledger.close();
}

console.log(
  `bench:ledger  batches of ${PER_BATCH}, linked chains of ${CHAIN}, ${ACCOUNTS.toLocaleString("en")} accounts, node ${process.version}`,
);
await measure("embedded, in memory", await EmbeddedLedger.open());
const durableDir = await mkdtemp(join(tmpdir(), "bourse-bench-ledger-"));
await measure("embedded, durable (fsync)", await EmbeddedLedger.open(durableDir));
await rm(durableDir, { recursive: true, force: true });
