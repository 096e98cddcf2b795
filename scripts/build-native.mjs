#!/usr/bin/env node
// Builds the Aeron transport's native addon (components/transport/aeron/native) with node-gyp.
// Uses the node-gyp that npm bundles and the headers installed beside this Node (no download).
// `--optional` (used by postinstall) reports a failure without failing `npm install`, since the
// embedded exchange runs without Aeron; the test command builds it without that flag.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const optional = process.argv.includes("--optional");
const addonDir = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "components",
  "transport",
  "aeron",
  "native",
);

function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) {
    candidates.push(
      join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    );
  }
  try {
    const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
    candidates.push(join(root, "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  } catch {
    // npm not on PATH: only the candidates above remain
  }
  return candidates.find((c) => c && existsSync(c));
}

try {
  const gyp = nodeGyp();
  if (!gyp) throw new Error("node-gyp not found (it ships with npm)");
  const args = [gyp, "rebuild", "--loglevel=warn"];
  // The headers of the Node that builds: beside it (a distribution's layout), or in the platform
  // package of the npm registry's `node` (how the test command fetches the image's Node).
  const prefix = dirname(dirname(process.execPath));
  const nodeDir = [prefix, join(prefix, "node_modules", `node-${process.platform}-${process.arch}`)].find(
    (dir) => existsSync(join(dir, "include", "node", "node.h")),
  );
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  // npm hands its own config to the scripts it runs (under `npm test`, npm_config_nodedir=/usr:
  // the machine's Node's headers), and node-gyp takes that over its flags: an addon built for the
  // image's Node came out for the machine's. The headers are this Node's, whoever runs this.
  const env = { ...process.env };
  for (const name of ["npm_config_nodedir", "npm_config_target", "npm_config_runtime", "npm_config_dist_url"])
    delete env[name];
  execFileSync(process.execPath, args, { cwd: addonDir, stdio: "inherit", env });
} catch (error) {
  const hint = "the Aeron transport needs a C++ toolchain (Debian: apt-get install g++ make python3)";
  if (!optional) {
    console.error(`building the native addon failed: ${error.message}\n${hint}`);
    process.exit(1);
  }
  console.warn(`note: the Aeron native addon was not built (${error.message}); ${hint}`);
}
