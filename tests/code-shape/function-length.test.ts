import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * No function anywhere over 100 lines (issue 21), tests, benches and scripts as much as production
 * code: one that long does several jobs. biome's noExcessiveLinesPerFunction only warns, and does not
 * count comments and blank lines; this counts every line of every function, method, accessor,
 * constructor and arrow with a body (a describe or it callback too), through the TypeScript compiler's
 * own parser.
 */
const MAX_LINES = 100;
const root = join(dirname(new URL(import.meta.url).pathname), "../..");
/** Where the repository's TypeScript is (tsconfig.json's include), besides the configuration at the root. */
const SOURCE_DIRS = ["components", "operator", "tests", "scripts"];
/** Installed or generated there, not written here (tsconfig.json excludes them too). */
const NOT_WRITTEN_HERE = new Set(["node_modules", "build"]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (NOT_WRITTEN_HERE.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every TypeScript file of the repository, relative to its root. */
function repositoryFiles(): string[] {
  const atRoot = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(root, e.name));
  return [...atRoot, ...SOURCE_DIRS.flatMap((dir) => tsFiles(join(root, dir)))].map((f) => relative(root, f));
}

/** "file:line name (n lines)" for every function in `text` longer than `max` lines. */
function longFunctions(file: string, text: string, max = MAX_LINES): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      const name = node.name?.getText(source) ?? ts.SyntaxKind[node.kind];
      if (lines > max) found.push(`${file}:${first + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("function length", () => {
  it("finds a function over the limit, nested or not (the check can fail)", () => {
    const body = Array.from({ length: 100 }, (_, i) => `  const a${i} = ${i};`).join("\n");
    const text = `export function short() {\n  return 1;\n}\nclass C {\n  m() {\n    const f = () => {\n${body}\n    };\n  }\n}\n`;
    expect(longFunctions("x.ts", text)).toEqual(["x.ts:5 m (104 lines)", "x.ts:6 ArrowFunction (102 lines)"]);
  });

  it(`keeps every function of every TypeScript file, tests included, within ${MAX_LINES} lines`, () => {
    const files = repositoryFiles();
    // Each kind of file is looked at: production code, a component's tests, the suites, the configuration.
    expect(files).toEqual(
      expect.arrayContaining([
        "components/domain/src/index.ts",
        "components/domain/test/decimal.test.ts",
        "operator/src/index.ts",
        "tests/code-shape/function-length.test.ts",
        "vitest.config.ts",
      ]),
    );
    expect(files.length).toBeGreaterThan(300);
    const long = files.flatMap((f) => longFunctions(f, readFileSync(join(root, f), "utf8")));
    expect(long).toEqual([]);
  });
});
