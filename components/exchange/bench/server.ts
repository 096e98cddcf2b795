import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Fastify from "fastify";
import { startMediaDriver } from "../../../tests/infra/aeron.ts";
import { freePort } from "../../../tests/infra/ports.ts";
import type { BourseConfig } from "../../config/src/index.ts";
import { loadConfig } from "../../config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../src/embedded.ts";
import { startUbsCoreProcess } from "../src/processes.ts";
import { watchStalls } from "./stalls.ts";

/**
 * The server side of bench:gateway, in its own process: `exchange` starts the embedded exchange
 * (demo users, fresh data dir), `bare` a fastify app with one trivial route taking the same signed
 * form POST: the ceiling for the same load generator. Prints
 * one JSON line with what the load generator needs, then serves until killed. With
 * BENCH_STALLS=<file>, the exchange's event-loop stalls are reported (see stalls.ts) at each
 * SIGUSR2 (the end of each of the load generator's phases). With BENCH_MATCHING=service the books
 * run in `bourse matching`, its own process, reached over TCP loopback; BENCH_MATCHING=aeron does
 * the same over Aeron IPC through a media driver started here (every hop then goes through it).
 * BENCH_SNAPSHOT_EVERY sets UBSCore's snapshot interval (a huge one: no snapshots, for comparison).
 */
const mode = process.argv[2];
if (mode === "bare") {
  // The same request shape as an order placement (form POST), answered without any work.
  const app = Fastify();
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, body),
  );
  app.post("/api/v3/order", async () => ({}));
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
} else {
  const stalls = process.env.BENCH_STALLS ? watchStalls(process.env.BENCH_STALLS, "server") : undefined;
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-bench-gateway-"));
  // No rate limits: the benchmark measures the gateway's own capacity.
  const unlimited = { weightPerMinute: 1e12, ordersPer10s: 1e12, ordersPerDay: 1e12 };
  const matching = await matchingOverrides();
  const config = await loadConfig({
    // BOURSE_* variables set the rest (BOURSE_SETTLEMENT_KIND=worker, say).
    env: process.env,
    overrides: {
      dataDir,
      demo: true,
      gateway: { port: 0, adminPort: 0, rateLimit: unlimited },
      ubscore: { listen: "127.0.0.1:0", snapshotEvery: Number(process.env.BENCH_SNAPSHOT_EVERY ?? 100_000) },
      // Each process has a data dir of its own: the link keys are shared here.
      links: { keyDir: join(dataDir, "links") },
      ...matching?.overrides,
    },
  });
  if (matching) await spawnBourse("matching", dataDir, config);
  // `exchange`: everything in this process; `processes`: UBSCore here, the gateway in its own process.
  const ubscore =
    mode === "processes" ? await startUbsCoreProcess(config, false, { demoUsers: true }) : undefined;
  const exchange = ubscore ? ubscore.node : await startEmbeddedExchange(config, false);
  // Enough for every order of a long run to rest: 1e9 USDT for the bidder, 1e6 BTC for the seller.
  const [bidder, seller] = exchange.demoKeys;
  await exchange.service.submit({
    kind: "credit",
    userId: bidder!.userId,
    asset: "USDT",
    amount: 10n ** 17n,
  });
  await exchange.service.submit({ kind: "credit", userId: seller!.userId, asset: "BTC", amount: 10n ** 14n });
  const url = ubscore
    ? (
        await spawnBourse("gateway", dataDir, {
          ...config,
          ubscore: { ...config.ubscore, address: ubscore.address },
        })
      ).match(/http:\/\/[^\s,]+/)![0]
    : (exchange as EmbeddedExchange).tradingUrl;
  process.stdout.write(`${JSON.stringify({ url, keys: exchange.demoKeys })}\n`);
  let phase = 0;
  process.on("SIGUSR2", () => stalls?.report(`phase ${++phase}`));
  // The benchmark's data (gigabytes after a soak) goes with it.
  const stop = async () => {
    await (ubscore ?? exchange).close();
    await matching?.driver?.stop();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
}

/** The config for BENCH_MATCHING (and the media driver it starts for `aeron`). */
async function matchingOverrides() {
  const kind = process.env.BENCH_MATCHING;
  if (kind !== "service" && kind !== "aeron") return undefined;
  const address = `127.0.0.1:${await freePort()}`;
  const driver = kind === "aeron" ? await startMediaDriver({ clientLivenessTimeoutMs: 10_000 }) : undefined;
  return {
    driver,
    overrides: {
      matching: { kind: "service", listen: address, address },
      ...(driver ? { transport: { kind: "aeron", dir: driver.dir } } : {}),
    },
  };
}

/** `bourse <command>` as its own process on `config` (a gateway on a replica of the UBSCore started above); its first line. */
async function spawnBourse(command: string, dataDir: string, config: BourseConfig): Promise<string> {
  const file = join(dataDir, `${command}.json`);
  await writeFile(file, JSON.stringify({ ...config, dataDir: join(dataDir, command) }));
  const bourse = new URL("../../../bin/bourse.mjs", import.meta.url).pathname;
  const child = spawn(process.execPath, [bourse, command, "--config", file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.once("exit", () => child.kill());
  return new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
}
