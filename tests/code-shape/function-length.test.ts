import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * No function in production code over 100 lines (issue 21): one that long does several jobs. biome's
 * noExcessiveLinesPerFunction only warns, and does not count comments and blank lines; this counts
 * every line of every function, method, accessor, constructor and arrow with a body, through the
 * TypeScript compiler's own parser.
 */
const MAX_LINES = 100;
const root = join(dirname(new URL(import.meta.url).pathname), "../..");
const ELSEWHERE = ["components/transport/aeron/src", "operator/src", "scripts", "tests/support"];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "build") return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Each component's src, the operator's, the scripts and the suites' shared support. */
function productionFiles(): string[] {
  const components = readdirSync(join(root, "components"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, "components", e.name, "src")))
    .map((e) => `components/${e.name}/src`);
  return [...components, ...ELSEWHERE].flatMap((dir) => tsFiles(join(root, dir)));
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

  it(`keeps every function of production code within ${MAX_LINES} lines`, () => {
    const files = productionFiles();
    expect(files.length).toBeGreaterThan(100);
    const long = files.flatMap((f) => longFunctions(relative(root, f), readFileSync(f, "utf8")));
    expect(long).toEqual([]);
  });
});
