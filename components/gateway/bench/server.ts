import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Fastify from "fastify";
import { loadConfig } from "../../config/src/load.ts";
import type { BourseConfig } from "../../config/src/schema.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../exchange/src/embedded.ts";
import { startUbsCoreProcess } from "../../exchange/src/processes.ts";
import { watchStalls } from "./stalls.ts";

/**
 * The server side of bench:gateway, in its own process: `exchange` starts the embedded exchange
 * (demo users, fresh data dir), `bare` a fastify app with one trivial route taking the same signed
 * form POST: the ceiling for the same load generator. Prints
 * one JSON line with what the load generator needs, then serves until killed. With
 * BENCH_STALLS=<file>, the exchange's event-loop stalls are reported (see stalls.ts) at each
 * SIGUSR2 (the end of each of the load generator's phases).
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
  const unlimited = { weightPerMinute: 1e12, ordersPer10s: 1e12 };
  const config = await loadConfig({
    overrides: {
      dataDir,
      demo: true,
      gateway: { port: 0, adminPort: 0, rateLimit: unlimited },
      ubscore: { listen: "127.0.0.1:0" },
    },
  });
  // `exchange`: everything in this process; `processes`: UBSCore here, the gateway in its own process.
  const ubscore = mode === "processes" ? await startUbsCoreProcess(config, false) : undefined;
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
    ? await spawnGateway(dataDir, { ...config, ubscore: { ...config.ubscore, address: ubscore.address } })
    : (exchange as EmbeddedExchange).tradingUrl;
  process.stdout.write(`${JSON.stringify({ url, keys: exchange.demoKeys })}\n`);
  let phase = 0;
  process.on("SIGUSR2", () => stalls?.report(`phase ${++phase}`));
  // The benchmark's data (gigabytes after a soak) goes with it.
  const stop = async () => {
    await (ubscore ?? exchange).close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
}

/** `bourse gateway` as its own process, on a replica of the UBSCore started above. */
async function spawnGateway(dataDir: string, config: BourseConfig): Promise<string> {
  const file = join(dataDir, "gateway.json");
  await writeFile(file, JSON.stringify({ ...config, dataDir: join(dataDir, "gateway") }));
  const bourse = new URL("../../../bin/bourse.mjs", import.meta.url).pathname;
  const child = spawn(process.execPath, [bourse, "gateway", "--config", file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.once("exit", () => child.kill());
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", resolve),
  );
  return line.match(/http:\/\/[^\s,]+/)![0];
}
