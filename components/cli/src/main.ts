import { Command, Option } from "commander";
import { loadConfig } from "../../config/src/load.ts";
import { isBourseError } from "../../domain/src/errors.ts";

/**
 * `bourse`: the one way to start any part of Bourse. Every subcommand reads the same config
 * (file < BOURSE_* env < flags), validated by one schema; errors print their code and exit 2.
 */
const program = new Command()
  .name("bourse")
  .description("Bourse trading exchange")
  .addOption(new Option("-c, --config <file>", "config file (YAML or JSON)").env("BOURSE_CONFIG"))
  .option("--data-dir <dir>", "where journals, snapshots and embedded stores live");

function configFromFlags() {
  const opts = program.opts<{ config?: string; dataDir?: string }>();
  return loadConfig({
    file: opts.config,
    env: process.env,
    overrides: opts.dataDir ? { dataDir: opts.dataDir } : undefined,
  });
}

program
  .command("config")
  .description("print the effective configuration after defaults, file, env and flags")
  .action(async () => {
    const config = await configFromFlags();
    process.stdout.write(
      `${JSON.stringify({ ...config, gateway: { ...config.gateway, adminToken: undefined } }, null, 2)}\n`,
    );
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isBourseError(e)) {
    process.stderr.write(`bourse: ${e.code}: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
});
