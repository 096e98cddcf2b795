import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransferFlags } from "tigerbeetle-node";
import { startTigerBeetle } from "../../../tests/infra/tigerbeetle.ts";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { account, BATCH_MAX, type LedgerPort, type Transfer, transfer } from "../src/port.ts";
import { TigerBeetleLedger } from "../src/tigerbeetle-ledger.ts";

/**
 * npm run bench:ledger — transfers/s through the ledger port, one request at a time: batches of
 * BATCH_MAX (8,189, TigerBeetle's largest request) made of linked chains of 4 (like a trade's
 * settlement: base leg, quote leg, two fees; the odd last transfer stands alone), among 10,000
 * accounts on one ledger. The embedded ledger in memory and durable (journal with fsync), and,
 * given an address, a TigerBeetle cluster with the same workload, side by side:
 *
 *   npm run bench:ledger -- --tigerbeetle=127.0.0.1:3000 [--cluster=0]
 *   TIGERBEETLE_ADDRESS=127.0.0.1:3000 TIGERBEETLE_CLUSTER_ID=0 npm run bench:ledger
 *   npm run bench:ledger -- --tigerbeetle=harness   (starts one with tests/infra/tigerbeetle.ts)
 *
 * Ids start at a random 64-bit prefix, so a run never meets an earlier run's ids on a cluster.
 */
const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
const ACCOUNTS = 10_000;
const CHAIN = 4;
const PREFIX = randomBytes(8).readBigUInt64LE(0) << 64n;

function option(name: string, env: string): string | undefined {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  return flag ? flag.slice(name.length + 3) : process.env[env];
}

/** Seeded batches, made one at a time so the work waiting to be sent does not burden the heap. */
function* batches(): Generator<Transfer[]> {
  let id = PREFIX | 1_000_000n;
  let seed = 7;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let b = 0; b < BATCHES; b++) {
    yield Array.from({ length: BATCH_MAX }, (_, i) => {
      const dr = 1 + (next() % ACCOUNTS);
      const cr = 1 + ((dr + (next() % (ACCOUNTS - 1))) % ACCOUNTS);
      return transfer({
        id: id++,
        debit_account_id: PREFIX | BigInt(dr),
        credit_account_id: PREFIX | BigInt(cr),
        amount: BigInt(1 + (next() % 1000)),
        ledger: 1,
        code: 1,
        flags: i % CHAIN === CHAIN - 1 || i === BATCH_MAX - 1 ? 0 : TransferFlags.linked,
      });
    });
  }
}

/** Transfers a second through `ledger` (the first batch, a warm-up, not counted). */
async function measure(name: string, ledger: LedgerPort): Promise<number> {
  for (let i = 0; i < ACCOUNTS; i += BATCH_MAX) {
    const ids = Array.from(
      { length: Math.min(BATCH_MAX, ACCOUNTS - i) },
      (_, j) => PREFIX | BigInt(i + j + 1),
    );
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
  return count / seconds;
}

console.log(
  `bench:ledger  batches of ${BATCH_MAX}, linked chains of ${CHAIN}, ${ACCOUNTS.toLocaleString("en")} accounts, node ${process.version}`,
);
const rates: [string, number][] = [];
rates.push(["embedded, in memory", await measure("embedded, in memory", await EmbeddedLedger.open())]);
const durableDir = await mkdtemp(join(tmpdir(), "bourse-bench-ledger-"));
rates.push([
  "embedded, durable (fsync)",
  await measure("embedded, durable (fsync)", await EmbeddedLedger.open(durableDir)),
]);
await rm(durableDir, { recursive: true, force: true });
const address = option("tigerbeetle", "TIGERBEETLE_ADDRESS");
if (address) {
  const harness = address === "harness" ? await startTigerBeetle() : undefined;
  const cluster = harness?.clusterId ?? BigInt(option("cluster", "TIGERBEETLE_CLUSTER_ID") ?? "0");
  const addresses = harness ? [harness.address] : address.split(",");
  const name = `TigerBeetle ${addresses.join(",")}`;
  rates.push([name, await measure(name, new TigerBeetleLedger(cluster, addresses))]);
  await harness?.stop();
  const tigerBeetle = rates.at(-1)![1];
  console.log("side by side (M transfers/s, and against TigerBeetle):");
  for (const [ledger, rate] of rates) {
    console.log(`  ${ledger.padEnd(40)} ${(rate / 1e6).toFixed(3)}  ${(rate / tigerBeetle).toFixed(2)}x`);
  }
} else {
  console.log("  (no TigerBeetle: pass --tigerbeetle=<address> or TIGERBEETLE_ADDRESS to compare)");
}
