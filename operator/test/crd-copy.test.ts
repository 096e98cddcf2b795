import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";

// Helm installs CRDs only from the chart's own crds/ directory; kubectl users apply crds/. Both
// must be the one definition, or the two ways of installing give different APIs.
it("the chart ships exactly the CRD in crds/", async () => {
  const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), "utf8");
  expect(await read("charts/bourse-operator/crds/exchanges.bourse.dev.yaml")).toBe(
    await read("crds/exchanges.bourse.dev.yaml"),
  );
});
