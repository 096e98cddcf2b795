import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, Option } from "commander";
import { runOperator } from "../../../operator/src/index.ts";
import { type BourseConfig, loadConfig } from "../../config/src/index.ts";
import { BourseError, isBourseError } from "../../domain/src/index.ts";
import {
  startEmbeddedExchange,
  startGatewayProcess,
  startMatchingProcess,
  startSettlementProcess,
  startUbsCoreProcess,
  upstreamOf,
} from "../../exchange/src/index.ts";
import { configureLog, log } from "../../observability/src/index.ts";

// A promise nobody handles, or an exception nobody catches, is a bug: say where, and stop
// (EX_SOFTWARE) rather than go on in a state no code path expected.
for (const event of ["unhandledRejection", "uncaughtException"] as const) {
  process.on(event, (e: unknown) => {
    process.stderr.write(
      `bourse: BUG: ${event}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(70);
  });
}

/**
 * `bourse`: the one way to start any part of Bourse. Every subcommand reads the same config
 * (file < BOURSE_* env < flags), validated by one schema; errors print their code and exit 2.
 */
const program = new Command()
  .name("bourse")
  .description("Bourse trading exchange")
  .addOption(new Option("-c, --config <file>", "config file (YAML or JSON)").env("BOURSE_CONFIG"))
  .option("--data-dir <dir>", "where journals, snapshots and embedded stores live");

async function configFromFlags(component = "bourse") {
  const opts = program.opts<{ config?: string; dataDir?: string }>();
  const config = await loadConfig({
    file: opts.config,
    env: process.env,
    overrides: opts.dataDir ? { dataDir: opts.dataDir } : undefined,
  });
  configureLog({ component, exchange: config.observability.exchange });
  return config;
}

/** The HTTP APIs' request logs (observability.requestLog, BOURSE_LOG=1) go to stderr. */
const httpLog = (config: BourseConfig) => (config.observability.requestLog ? process.stderr : false);

/** ", metrics and health on <url>" when the component serves them. */
const metricsAt = (url: string | undefined) => (url ? `, metrics and health on ${url}` : "");

program
  .command("config")
  .description("print the effective configuration after defaults, file, env and flags")
  .action(async () => {
    const config = await configFromFlags();
    process.stdout.write(
      `${JSON.stringify({ ...config, gateway: { ...config.gateway, adminToken: undefined } }, null, 2)}\n`,
    );
  });

program
  .command("start")
  .description("run the whole exchange in one process on embedded adapters (state under dataDir)")
  .option("--port <port>", "trading API port", (v) => Number(v))
  .action(async (opts: { port?: number }) => {
    const config = await configFromFlags("exchange");
    if (opts.port !== undefined) config.gateway.port = opts.port;
    const exchange = await startEmbeddedExchange(config, httpLog(config));
    const lines = [
      `Bourse is running (data in ${config.dataDir}, ${exchange.service.replayedCommands} journaled commands replayed)`,
      `  trading API (Binance spot conventions): ${exchange.tradingUrl}`,
      `  operator API: ${exchange.adminUrl}   token: ${exchange.adminToken}`,
      ...(exchange.metricsUrl ? [`  metrics and health: ${exchange.metricsUrl}`] : []),
      `  markets: ${config.exchange.markets.map((m) => m.symbol).join(", ")}`,
      ...exchange.demoKeys.map(
        (k) => `  demo user ${k.label} (id ${k.userId}): apiKey ${k.apiKey} secretKey ${k.secretKey}`,
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    const stop = async () => {
      await exchange.close();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

program
  .command("ubscore")
  .description(
    "run UBSCore (journal, risk, the books unless matching.kind is service, settlement, ledger, transfers, operator API) for gateways to connect to",
  )
  .action(async () => {
    const config = await configFromFlags("ubscore");
    const ubscore = await startUbsCoreProcess(config, httpLog(config));
    process.stdout.write(
      `bourse ubscore: serving gateways on ${config.transport.kind === "aeron" ? upstreamOf(config) : ubscore.address}, operator API on ${ubscore.node.adminUrl}${metricsAt(ubscore.metricsUrl)} (${ubscore.node.service.replayedCommands} journaled commands replayed)\n`,
    );
    await serveUntilLost("ubscore", ubscore);
  });

program
  .command("gateway")
  .description(
    "run a trading API gateway on a replica of UBSCore (at ubscore.address); exits if UBSCore goes away",
  )
  .action(async () => {
    const config = await configFromFlags("gateway");
    const gateway = await startGatewayProcess(config, httpLog(config)).catch((e: Error) => {
      throw new BourseError(
        "UNAVAILABLE",
        `cannot subscribe to UBSCore at ${upstreamOf(config)}: ${e.message}`,
      );
    });
    process.stdout.write(
      `bourse gateway: trading API on ${gateway.tradingUrl}${metricsAt(gateway.metricsUrl)}, replica of UBSCore at ${upstreamOf(config)}\n`,
    );
    let stopping = false;
    onSignal(() => {
      stopping = true;
      return gateway.close();
    });
    const lost = await gateway.replica.closed;
    // A stop closes the replica too: that is no loss, and the signal's handler exits 0 once closed.
    if (stopping) return;
    // Crash-only: a replica that may have missed commands must not answer; a fresh start re-subscribes.
    log().error("lost UBSCore; exiting", { reason: lost?.message });
    process.exit(3);
  });

program
  .command("matching")
  .description(
    "run the order books on their own (matching.kind service) for UBSCore, which hands them over on connecting",
  )
  .action(async () => {
    const config = await configFromFlags("matching");
    const matching = await startMatchingProcess(config);
    process.stdout.write(
      `bourse matching: serving UBSCore on ${config.transport.kind === "aeron" ? `Aeron stream ${matching.address}` : matching.address}${metricsAt(matching.metricsUrl)}\n`,
    );
    await serveUntilLost("matching", matching);
  });

program
  .command("settlement")
  .description(
    "run settlement on its own (settlement.kind service): UBSCore's feed from Kafka into the ledger and the store",
  )
  .action(async () => {
    const config = await configFromFlags("settlement");
    const settlement = await startSettlementProcess(config);
    process.stdout.write(
      `bourse settlement: settled to position ${settlement.service.settlement.settledLsn}, serving UBSCore on ${settlement.service.address}${metricsAt(settlement.metricsUrl)}${config.ledger.kind === "embedded" ? " (with the embedded ledger)" : ""}\n`,
    );
    await serveUntilLost("settlement", settlement);
  });

program
  .command("operator")
  .description(
    "run the Kubernetes operator that reconciles Exchange resources (in a pod, or with a kubeconfig)",
  )
  .addOption(
    new Option("--kubeconfig <file>", "kubeconfig file (default: in-cluster or ~/.kube/config)").env(
      "KUBECONFIG",
    ),
  )
  .addOption(
    new Option("--watch-namespace <ns>", "watch only this namespace (default: all)").env("WATCH_NAMESPACE"),
  )
  .addOption(
    new Option("--lease-namespace <ns>", "namespace of the leader-election Lease")
      .env("POD_NAMESPACE")
      .default("default"),
  )
  .addOption(
    new Option(
      "--pod-namespace <ns>",
      "the namespace of the operator's own pod, in a cluster: each Exchange's NetworkPolicies let its pods read the components' health",
    ).env("POD_NAMESPACE"),
  )
  .option("--no-leader-elect", "reconcile without leader election (a single replica)")
  .option("--health-port <port>", "health and metrics port", (v) => Number(v), 8080)
  .action(
    async (opts: {
      kubeconfig?: string;
      watchNamespace?: string;
      leaseNamespace: string;
      podNamespace?: string;
      leaderElect: boolean;
      healthPort: number;
    }) => {
      const operator = await runOperator({
        kubeconfig: opts.kubeconfig,
        namespace: opts.watchNamespace,
        leaseNamespace: opts.leaseNamespace,
        podNamespace: opts.podNamespace,
        leaderElect: opts.leaderElect,
        healthPort: opts.healthPort,
      });
      process.stderr.write(`bourse operator: health and metrics on ${operator.healthUrl}\n`);
      const stop = () => void operator.stop().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    },
  );

program
  .command("reconcile")
  .description("compare UBSCore's balances with the ledger at a settled watermark; exits 1 on any difference")
  .action(async () => {
    const config = await configFromFlags();
    const tokenFile = join(config.dataDir, "gateway", "admin-token");
    const token = config.gateway.adminToken ?? (await readToken(tokenFile));
    const url = `http://${config.gateway.adminHost}:${config.gateway.adminPort}/admin/v1/reconcile`;
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}` } }).catch(
      (e: Error) => {
        throw new BourseError("UNAVAILABLE", `cannot reach the operator API at ${url}: ${e.message}`);
      },
    );
    const body = (await res.json()) as {
      lsn?: number;
      accountsChecked?: number;
      differences?: { account: string; userId?: number; asset: string; ubscore: string; ledger: string }[];
      msg?: string;
    };
    if (!res.ok || !body.differences)
      throw new BourseError("UNAVAILABLE", `reconcile failed: ${body.msg ?? res.status}`);
    process.stdout.write(
      `reconciled at journal position ${body.lsn}: ${body.accountsChecked} accounts checked, ${body.differences.length} differences\n`,
    );
    for (const d of body.differences) {
      process.stdout.write(
        `  ${d.account} ${d.userId ?? "-"} ${d.asset}: ubscore ${d.ubscore} ledger ${d.ledger}\n`,
      );
    }
    process.exitCode = body.differences.length === 0 ? 0 : 1;
  });

/**
 * Serves until SIGINT/SIGTERM (a clean stop) or until what it serves from fails for good (the
 * media driver died, the event log cannot be read): then exits 3, for its supervisor to start it
 * again.
 */
async function serveUntilLost(name: string, running: { lost: Promise<Error>; close(): Promise<void> }) {
  onSignal(() => running.close());
  const lost = await running.lost;
  log().error(`${name} cannot go on; exiting`, { reason: lost.message });
  process.exit(3);
}

function onSignal(stop: () => Promise<void>): void {
  const handler = () => void stop().then(() => process.exit(0));
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isBourseError(e)) {
    process.stderr.write(`bourse: ${e.code}: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bourse: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

async function readToken(path: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    throw new BourseError(
      "INVALID_CONFIG",
      `no operator token: set BOURSE_ADMIN_TOKEN, or use the data dir of a started exchange (${path})`,
    );
  }
}
