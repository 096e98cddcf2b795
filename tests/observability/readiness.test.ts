import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { isBourseError } from "../../components/domain/src/index.ts";
import { observe, startGatewayProcess, startUbsCoreProcess } from "../../components/exchange/src/index.ts";
import { Health, serveObservability } from "../../components/observability/src/index.ts";
import { freePort } from "../infra/ports.ts";

/**
 * Readiness that means something: a component is `starting` until it serves; a gateway whose
 * replica lost UBSCore is no longer ready (while still live); a metrics address that cannot be
 * bound is a configuration error, typed, not a crash.
 */
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function config() {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-readiness-"));
  const transport = `127.0.0.1:${await freePort()}`;
  return loadConfig({
    overrides: {
      dataDir,
      demo: false,
      gateway: { port: 0, adminPort: 0 },
      ubscore: { listen: transport, address: transport },
      observability: { ubscore: "127.0.0.1:0", gateway: "127.0.0.1:0" },
    },
  });
}

const status = async (url: string, path: string) => {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as unknown };
};

describe("readiness", () => {
  it("is `starting` until the component serves", async () => {
    const observed = await observe(await config(), "ubscore");
    cleanup.push(() => observed.close());
    expect(await status(observed.url!, "/readyz")).toEqual({
      status: 503,
      body: { status: "failing", failing: { ubscore: "starting" } },
    });
    expect(await status(observed.url!, "/livez")).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("of a gateway follows its replica: ready while subscribed, not once UBSCore is gone, live throughout", async () => {
    const cfg = await config();
    const ubscore = await startUbsCoreProcess(cfg, false);
    const gateway = await startGatewayProcess(cfg, false);
    cleanup.push(() => gateway.close());
    expect(await status(ubscore.metricsUrl!, "/readyz")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await status(gateway.metricsUrl!, "/readyz")).toEqual({ status: 200, body: { status: "ok" } });
    await ubscore.close();
    await gateway.replica.closed;
    expect(await status(gateway.metricsUrl!, "/readyz")).toEqual({
      status: 503,
      body: { status: "failing", failing: { gateway: "the replica lost UBSCore" } },
    });
    expect(await status(gateway.metricsUrl!, "/livez")).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("refuses an address it cannot bind with INVALID_CONFIG", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => taken.close(() => r())));
    const port = (taken.address() as { port: number }).port;
    const refused = await serveObservability(`127.0.0.1:${port}`, new Health()).catch((e: unknown) => e);
    expect(isBourseError(refused, "INVALID_CONFIG")).toBe(true);
  });
});
