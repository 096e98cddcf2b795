import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Python tools the suites run (schemathesis), installed from PyPI once into their own virtual
 * environment under ~/.cache/bourse-infra and reused. Needs python3 with venv.
 */
const run = promisify(execFile);
const CACHE = process.env.BOURSE_INFRA_CACHE ?? join(homedir(), ".cache", "bourse-infra");

/** The path of `command` in a virtualenv holding `pkg==version`, installing it the first time. */
export async function pythonTool(pkg: string, version: string, command = pkg): Promise<string> {
  const venv = join(CACHE, `${pkg}-${version}`);
  const bin = join(venv, "bin", command);
  if (
    await access(bin).then(
      () => true,
      () => false,
    )
  )
    return bin;
  try {
    await run("python3", ["-m", "venv", venv]);
    await run(join(venv, "bin", "pip"), ["install", "--quiet", `${pkg}==${version}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (e) {
    throw new Error(
      `installing ${pkg} ${version} from PyPI failed (needs python3 with venv and pip): ${(e as { stderr?: string }).stderr ?? String(e)}`,
    );
  }
  return bin;
}
