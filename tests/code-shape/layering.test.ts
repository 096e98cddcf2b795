import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The layers of CONTRIBUTING.md ("Layers"), lowest first. A component may import the index.ts of a
 * component in a lower layer, never one beside or above it, and never another component's other
 * files. biome.json's overrides (noRestrictedImports) enforce this in `npm test`; this suite checks
 * that they say exactly this table, by linting a probe file in every component that imports every
 * other one.
 */
const LAYERS = [
  ["domain", "storage"],
  ["config", "observability"],
  ["journal", "transport"],
  ["eventlog", "ledger", "matching", "store"],
  ["ubscore"],
  ["settlement"],
  ["transfers"],
  ["gateway"],
  ["exchange"],
  ["cli"],
];
/** The Kubernetes operator stands beside the stack: it uses the lowest layers, and only the
 * exchange (its leases) and the CLI (`bourse operator`) use it. */
const OPERATOR_USES = ["domain", "storage", "config", "observability"];
const OPERATOR_USERS = ["exchange", "cli"];

const COMPONENTS = LAYERS.flat();
const root = join(dirname(new URL(import.meta.url).pathname), "../..");
const biome = join(root, "node_modules/.bin/biome");

function layerOf(component: string): number {
  return LAYERS.findIndex((layer) => layer.includes(component));
}

function mayImport(from: string, to: string): boolean {
  if (from === "operator") return OPERATOR_USES.includes(to);
  if (to === "operator") return OPERATOR_USERS.includes(from);
  return layerOf(to) < layerOf(from);
}

/** One probe: a file at `path` and the import it makes on each line, with whether it may. */
interface Probe {
  path: string;
  lines: { spec: string; allowed: boolean }[];
}

function indexOf(target: string, up: string): string {
  return target === "operator" ? `${up}../operator/src/index.ts` : `${up}${target}/src/index.ts`;
}

function probes(): Probe[] {
  const out: Probe[] = [];
  for (const from of [...COMPONENTS, "operator"]) {
    const inComponents = from !== "operator";
    const up = inComponents ? "../../" : "../../components/";
    const lines = [...COMPONENTS, "operator"]
      .filter((to) => to !== from)
      .map((to) => ({ spec: indexOf(to, up), allowed: mayImport(from, to) }));
    // A file of another component, even one below, is not its API.
    lines.push({ spec: `${up}domain/src/errors.ts`, allowed: false });
    const dir = inComponents ? `components/${from}` : "operator";
    out.push({ path: `${dir}/src/probe.ts`, lines });
    // Tests and benches may also use the suites' helpers and reach into their own component.
    out.push({
      path: `${dir}/test/probe.test.ts`,
      lines: [
        ...lines,
        { spec: "../src/probe.ts", allowed: true },
        {
          spec: inComponents ? "../../../tests/support/until.ts" : "../../tests/support/until.ts",
          allowed: true,
        },
      ],
    });
  }
  // Suites and scripts may import any component, through its index only.
  const anywhere = [
    ...COMPONENTS.map((c) => `../../components/${c}/src/index.ts`),
    "../../operator/src/index.ts",
  ];
  for (const path of ["tests/api/probe.test.ts", "scripts/x/probe.ts"]) {
    out.push({
      path,
      lines: [
        ...anywhere.map((spec) => ({ spec, allowed: true })),
        { spec: "../../components/ledger/src/ids.ts", allowed: false },
        { spec: "../../operator/src/resources.ts", allowed: false },
      ],
    });
  }
  return out;
}

/** Lints the probes with the repository's biome.json; returns "path:line" of each refused import. */
async function refusedImports(dir: string, all: Probe[]): Promise<Set<string>> {
  await copyFile(join(root, "biome.json"), join(dir, "biome.json"));
  for (const probe of all) {
    await mkdir(dirname(join(dir, probe.path)), { recursive: true });
    // Dynamic, static and re-exporting forms are all refused alike: one of each in turn.
    const text = probe.lines
      .map(({ spec }, i) =>
        i % 3 === 0
          ? `import "${spec}";`
          : i % 3 === 1
            ? `export * from "${spec}";`
            : `export const p${i} = () => import("${spec}");`,
      )
      .join("\n");
    await writeFile(join(dir, probe.path), `${text}\n`);
  }
  const { stdout } = await promisify(execFile)(
    biome,
    ["lint", "--reporter=github", "--max-diagnostics=none", "."],
    {
      cwd: dir,
      maxBuffer: 64 << 20,
    },
  ).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const refused = new Set<string>();
  for (const m of stdout.matchAll(
    /^::error title=lint\/style\/noRestrictedImports,file=([^,]+),line=(\d+)/gm,
  )) {
    refused.add(`${m[1]!.slice(dir.length + 1)}:${m[2]}`);
  }
  return refused;
}

describe("layering (biome.json's noRestrictedImports)", () => {
  let dir: string;
  let refused: Set<string>;
  const all = probes();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bourse-layering-"));
    refused = await refusedImports(dir, all);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("names every component under components/ in a layer", async () => {
    const dirs = (await readdir(join(root, "components"), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(dirs.sort()).toEqual([...COMPONENTS].sort());
  });

  it("refuses exactly the upward, sideways and deep imports, in every component, its tests and the suites", () => {
    const wrong: string[] = [];
    for (const probe of all) {
      probe.lines.forEach(({ spec, allowed }, i) => {
        const was = refused.has(`${probe.path}:${i + 1}`);
        if (was === allowed) wrong.push(`${probe.path}: ${spec} ${allowed ? "refused" : "allowed"}`);
      });
    }
    expect(wrong).toEqual([]);
    // The probe really exercised the rule: a layered codebase refuses a lot of these.
    expect(refused.size).toBeGreaterThan(100);
  });
});
