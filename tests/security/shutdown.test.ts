import { describe, expect, it } from "vitest";
import { freePort } from "../infra/ports.ts";
import { freshDataDir } from "./harness.ts";
import { halfOpen, strayUpgrades } from "./hostile-clients.ts";
import { bourse } from "./processes.ts";

/**
 * Finding 5 for `bourse start` as a process: it exits 0 on SIGTERM with stray upgrades and a
 * half-open socket connected. The same stop with every kind of hostile client, for the embedded
 * exchange and for a `bourse gateway` of the multi-process layout, is in attacks.test.ts. No
 * test here waits on a clock: a stop that hangs fails by the test's own timeout.
 */
describe("shutdown under hostile clients", () => {
  it("`bourse start` exits 0 on SIGTERM after a stray upgrade to /ws and to /nope", async () => {
    const port = await freePort();
    const started = bourse("start", {
      BOURSE_DATA_DIR: await freshDataDir(),
      BOURSE_GATEWAY_PORT: String(port),
      BOURSE_ADMIN_PORT: String(await freePort()),
    });
    await started.ready;
    const url = `http://127.0.0.1:${port}`;
    await strayUpgrades(url);
    await halfOpen(url, "GET /api/v3/ping HTTP/1.1\r\n", true);
    const { code } = await started.stop();
    expect(code).toBe(0);
  }, 30_000);
});
