import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CACHE } from "./maven.ts";

/**
 * Python packages the suites run (schemathesis, Binance's Python clients), installed from PyPI
 * once into virtual environments of their own under ~/.cache/bourse-infra and reused. Needs
 * python3 with venv.
 */
const run = promisify(execFile);
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The bin directory of a virtualenv named `name` holding exactly `requirements` (pip specs such
 * as `pkg==1.2.3`), installing them the first time. The marker file is written last, so an
 * interrupted install is redone rather than taken for a finished one.
 */
export async function pythonEnv(name: string, requirements: readonly string[]): Promise<string> {
  const venv = join(CACHE, name);
  const bin = join(venv, "bin");
  const marker = join(venv, "installed");
  if (await exists(marker)) return bin;
  try {
    await run("python3", ["-m", "venv", "--clear", venv]);
    await run(join(bin, "pip"), ["install", "--quiet", ...requirements], { maxBuffer: 16 * 1024 * 1024 });
    await run("touch", [marker]);
  } catch (e) {
    throw new Error(
      `installing ${requirements.join(", ")} from PyPI failed (needs python3 with venv and pip): ${(e as { stderr?: string }).stderr ?? String(e)}`,
    );
  }
  return bin;
}

/** The path of `command` in a virtualenv holding `pkg==version`, installing it the first time. */
export async function pythonTool(pkg: string, version: string, command = pkg): Promise<string> {
  return join(await pythonEnv(`${pkg}-${version}`, [`${pkg}==${version}`]), command);
}
