import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedExchange } from "../../components/exchange/src/index.ts";
import { freePort } from "../infra/ports.ts";
import { type ServerProcess, startProcess } from "../infra/process.ts";
import { admin, freshDataDir, newUser, restingBuy, startExchange } from "./harness.ts";

/**
 * Finding 8's last item: with the ledger (a real TigerBeetle) gone, the operator API still
 * answers every call, with a clear error, within gateway.backendTimeoutMs, instead of never.
 */
const BIN = process.env.TIGERBEETLE_BIN ?? "/work/shared/tigerbeetle/tigerbeetle";
let tigerbeetle: ServerProcess;
let exchange: EmbeddedExchange;
let port: number;
let startTigerBeetle: () => ServerProcess;

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/**
 * A reconcile's differences once one completes: under load (or while settlement catches up
 * with a ledger just back) one may give way with 503 first; at most twenty of those.
 */
async function reconciled(): Promise<unknown[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const reply = await admin<{ differences: unknown[] }>(
      exchange.adminUrl,
      "POST",
      "/admin/v1/reconcile",
      {},
    );
    if (reply.status === 200) return reply.body.differences;
    expect(reply.status).toBe(503);
  }
  throw new Error("no reconcile completed");
}

describe.skipIf(!existsSync(BIN))("the operator API with the ledger down", () => {
  beforeAll(async () => {
    const dir = await freshDataDir();
    const file = join(dir, "0_0.tigerbeetle");
    execFileSync(BIN, ["format", "--cluster=0", "--replica=0", "--replica-count=1", file], {
      stdio: "ignore",
    });
    port = await freePort();
    startTigerBeetle = () =>
      startProcess(
        BIN,
        ["start", `--addresses=127.0.0.1:${port}`, "--cache-grid=32MiB", file],
        join(dir, "tigerbeetle.log"),
      );
    tigerbeetle = startTigerBeetle();
    while (!(await listening(port))) await new Promise((r) => setTimeout(r, 250));
    exchange = await startExchange(join(dir, "data"), {
      ledger: { kind: "tigerbeetle", addresses: [`127.0.0.1:${port}`] },
      gateway: { backendTimeoutMs: 5_000, reconcileTimeoutMs: 3_000 },
    });
  }, 300_000);

  afterAll(async () => {
    await exchange?.close();
    await tigerbeetle?.stop();
  });

  it("answers 503 instead of waiting forever, trading goes on, and all is settled once it is back", async () => {
    const user = await newUser(exchange, { USDT: "100" });
    expect(await reconciled()).toEqual([]);
    tigerbeetle.child.kill("SIGKILL");
    await new Promise((resolve) => tigerbeetle.child.once("exit", resolve));
    const calls = [
      admin(exchange.adminUrl, "POST", "/admin/v1/deposits", {
        userId: user.userId,
        asset: "USDT",
        amount: "5",
        wallet: "FUNDING",
      }),
      admin(exchange.adminUrl, "POST", "/admin/v1/reconcile", {}),
    ];
    const [deposit, reconcile] = await Promise.all(calls);
    expect(deposit).toMatchObject({ status: 503, body: { code: -1007 } });
    expect(reconcile).toMatchObject({ status: 503, body: { code: -1001 } });
    // UBSCore itself goes on: a reconcile that timed out does not hold it.
    expect((await admin(exchange.adminUrl, "POST", "/admin/v1/users", {})).status).toBe(201);
    expect((await user.signed("POST", "/api/v3/order", restingBuy())).status).toBe(200);
    // The ledger back: settlement catches up and nothing was lost or paid twice.
    tigerbeetle = startTigerBeetle();
    while (!(await listening(port))) await new Promise((r) => setTimeout(r, 250));
    expect(await reconciled()).toEqual([]);
  }, 120_000);
});
