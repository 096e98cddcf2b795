import { execFile } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Real servers for the integration suites come from Maven Central: a generated pom lists the
 * artifacts, `mvn dependency:copy-dependencies` fetches them with their dependencies once, and
 * later runs reuse the cache (~/.cache/bourse-infra/<name>/lib). No Docker is needed.
 */
const run = promisify(execFile);
export const CACHE = process.env.BOURSE_INFRA_CACHE ?? join(homedir(), ".cache", "bourse-infra");

/** Fails with what to install when Java or Maven is missing: the suites never skip silently. */
export async function requireJavaAndMaven(): Promise<void> {
  for (const [tool, args, what] of [
    ["java", ["-version"], "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"],
    ["mvn", ["-v"], "Apache Maven (Debian: apt-get install maven)"],
  ] as const) {
    try {
      await run(tool, [...args]);
    } catch {
      throw new Error(`the integration suites need ${tool}: install ${what}`);
    }
  }
}

/** Directory of the jars of `coordinates` (group:artifact:version) and their dependencies. */
export async function mavenLibs(name: string, coordinates: readonly string[]): Promise<string> {
  const dir = join(CACHE, name);
  const lib = join(dir, "lib");
  const have = await readdir(lib).catch(() => [] as string[]);
  if (have.some((f) => f.endsWith(".jar"))) return lib;
  await requireJavaAndMaven();
  await mkdir(dir, { recursive: true });
  const deps = coordinates
    .map((c) => {
      const [groupId, artifactId, version] = c.split(":");
      return `<dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
    })
    .join("\n    ");
  await writeFile(
    join(dir, "pom.xml"),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.bourse.infra</groupId>
  <artifactId>${name}</artifactId>
  <version>1</version>
  <dependencies>
    ${deps}
  </dependencies>
</project>
`,
  );
  // Into a temporary directory first, so an interrupted download never looks like a cache hit.
  await run("mvn", ["-q", "-B", "dependency:copy-dependencies", `-DoutputDirectory=${lib}.partial`], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  const { rename } = await import("node:fs/promises");
  await rename(`${lib}.partial`, lib);
  return lib;
}
