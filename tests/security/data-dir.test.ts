import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../components/domain/src/index.ts";
import { freePort } from "../infra/ports.ts";
import { admin, fileModes, freshDataDir, newUser, notPrivate, restingBuy, startExchange } from "./harness.ts";
import { bourse, Layout } from "./processes.ts";

/**
 * Finding 4: two processes on one data directory. The second is refused with a typed error
 * naming the first; the first goes on; once it is gone (even by SIGKILL) the directory is free.
 */
async function start(dataDir: string) {
  const env = {
    BOURSE_DATA_DIR: dataDir,
    BOURSE_GATEWAY_PORT: String(await freePort()),
    BOURSE_ADMIN_PORT: String(await freePort()),
  };
  return { process: bourse("start", env), url: `http://127.0.0.1:${env.BOURSE_GATEWAY_PORT}` };
}

describe("one writer per data directory", () => {
  it("refuses a second `bourse start` on the same data, and frees it when the first is killed", async () => {
    const dataDir = await freshDataDir();
    const first = await start(dataDir);
    await first.process.ready;
    const second = await start(dataDir);
    const refused = await second.process.exited;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `DATA_DIR_IN_USE: data directory .* in use by another bourse ubscore \\(pid ${first.process.child.pid}\\)`,
      ),
    );
    expect((await fetch(`${first.url}/api/v3/ping`)).status).toBe(200);
    // `bourse ubscore` is the same writer: refused the same way.
    const ubscore = bourse("ubscore", {
      BOURSE_DATA_DIR: dataDir,
      BOURSE_ADMIN_PORT: String(await freePort()),
    });
    expect((await ubscore.exited).stderr).toMatch(/DATA_DIR_IN_USE/);
    first.process.child.kill("SIGKILL");
    await first.process.exited;
    const third = await start(dataDir);
    await third.process.ready;
    expect((await fetch(`${third.url}/api/v3/ping`)).status).toBe(200);
    expect((await third.process.stop()).code).toBe(0);
  });

  it("refuses a second embedded exchange in the same process, and frees the directory on close", async () => {
    const dataDir = await freshDataDir();
    const first = await startExchange(dataDir);
    const second = await startExchange(dataDir).then(
      (e) => e,
      (e: unknown) => e,
    );
    expect(isBourseError(second, "DATA_DIR_IN_USE")).toBe(true);
    expect((await fetch(`${first.tradingUrl}/api/v3/ping`)).status).toBe(200);
    await first.close();
    const again = await startExchange(dataDir);
    await again.close();
  });
});

describe("what is under the data directory", () => {
  it("is the exchange user's alone: directories 0700, files 0600 (journals, snapshots, ledger, history)", async () => {
    const dataDir = join(await freshDataDir(), "data");
    const exchange = await startExchange(dataDir, {
      ubscore: { snapshotEvery: 100 },
      eventLog: { kind: "file" },
      gateway: { rateLimit: { ordersPer10s: 1_000 } },
    });
    const user = await newUser(exchange, { USDT: "100000", BTC: "1" });
    await admin(exchange.adminUrl, "POST", "/admin/v1/deposits", {
      userId: user.userId,
      asset: "USDT",
      amount: "10",
      wallet: "FUNDING",
    });
    for (let i = 0; i < 110; i++) await user.signed("POST", "/api/v3/order", restingBuy(`${20000 + i}`));
    await user.signed("POST", "/api/v3/order", { ...restingBuy("20000"), side: "SELL", quantity: "0.001" });
    await exchange.close();
    const found = await fileModes(dataDir);
    expect(found.filter((f) => !f.dir).length).toBeGreaterThan(10);
    expect(found.some((f) => f.path.includes("snapshots") && !f.dir)).toBe(true);
    expect(found.filter(notPrivate)).toEqual([]);
  });
});

describe("`bourse ubscore`", () => {
  it("comes up without demo users, whatever the config's demo says", async () => {
    const layout = await Layout.start(await freshDataDir(), { BOURSE_DEMO: undefined });
    try {
      const balances = await admin(layout.adminUrl, "GET", "/admin/v1/users/1/balances");
      expect(balances).toMatchObject({ status: 404, body: { msg: "Unknown user." } });
    } finally {
      await layout.ubscore.stop();
    }
  });
});
