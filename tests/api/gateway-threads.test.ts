import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BourseConfig, loadConfig } from "../../components/config/src/index.ts";
import {
  type EmbeddedExchange,
  runtimeSharesPorts,
  startEmbeddedExchange,
} from "../../components/exchange/src/index.ts";
import { TEST_GATEWAY_THREADS } from "../support/gateway-threads.ts";
import { newUser, type User } from "../support/operator-api.ts";
import { until } from "../support/until.ts";
import { limitOrder } from "./client.ts";

/**
 * The embedded exchange with its trading API on gateway threads (gateway.threads): the threads
 * replaced when they die, keeping what UBSCore acknowledged; the shared port closed to other
 * users; the setting refused where this Node cannot share a port between threads. The client
 * suites (tests/clients) run ccxt, ccxt.pro and the Python clients on it as well.
 */
const ADMIN_TOKEN = "threads-operator-token-0123456789";

async function threadedConfig(threads: number): Promise<BourseConfig> {
  return loadConfig({
    overrides: {
      dataDir: await mkdtemp(join(tmpdir(), "bourse-threads-")),
      demo: false,
      verify: true,
      gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN, threads },
    },
  });
}

describe("which runtimes share the trading port between threads", () => {
  it("is Node 22.12 and later on 22, 23.1 and later", () => {
    const shares = ["20.20.2", "22.11.0", "22.12.0", "23.0.0", "23.1.0", "24.21.0"].map((v) =>
      runtimeSharesPorts(v),
    );
    expect(shares).toEqual([false, false, true, false, true, true]);
  });

  it.runIf(!runtimeSharesPorts())("refuses more than one thread here, leaving nothing open", async () => {
    const config = await threadedConfig(2);
    await expect(startEmbeddedExchange(config, false)).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: expect.stringContaining("gateway.threads 2 needs Node 22.12"),
    });
    // The data directory's lock and the operator API's port were given back.
    const exchange = await startEmbeddedExchange(
      { ...config, gateway: { ...config.gateway, threads: 1 } },
      false,
    );
    await exchange.close();
  });
});

describe(`the trading API on ${TEST_GATEWAY_THREADS} gateway thread(s)`, () => {
  let exchange: EmbeddedExchange;
  let alice: User;

  beforeAll(async () => {
    exchange = await startEmbeddedExchange(await threadedConfig(TEST_GATEWAY_THREADS), false);
    alice = await newUser(
      { adminUrl: exchange.adminUrl, tradingUrl: exchange.tradingUrl, token: ADMIN_TOKEN },
      { USDT: "1000" },
    );
  });

  afterAll(async () => {
    await exchange.close();
  });

  it("runs the threads it was asked for, off UBSCore's thread", () => {
    expect(exchange.gatewayThreads?.workers.length).toBe(TEST_GATEWAY_THREADS);
  });

  it("replaces threads that die, and their replicas know every acknowledged order", async () => {
    const first = await alice.signed<{ orderId: number }>(
      "POST",
      "/api/v3/order",
      limitOrder("BUY", "0.01", "20000"),
    );
    expect(first.status).toBe(200);
    const dead = exchange.gatewayThreads!.workers;
    await Promise.all(dead.map((w) => w.terminate()));
    await until(
      () => exchange.gatewayThreads!.workers.length === TEST_GATEWAY_THREADS,
      "the gateway threads to be replaced",
      { timeoutMs: 60_000 },
    );
    expect(exchange.gatewayThreads!.workers.some((w) => dead.includes(w))).toBe(false);
    const second = await until(
      async () => {
        const placed = await alice.signed<{ orderId: number }>(
          "POST",
          "/api/v3/order",
          limitOrder("BUY", "0.01", "21000"),
        );
        return placed.status === 200 && placed;
      },
      "an order through a replacement thread",
      { timeoutMs: 30_000, retryErrors: true },
    );
    const open = await alice.signed<{ orderId: number }[]>("GET", "/api/v3/openOrders", {
      symbol: "BTCUSDT",
    });
    expect(open.body.map((o) => o.orderId).sort()).toEqual([first.body.orderId, second.body.orderId].sort());
    const account = await alice.signed<{ balances: { asset: string; free: string; locked: string }[] }>(
      "GET",
      "/api/v3/account",
    );
    // 0.01 at 20,000 and 0.01 at 21,000 frozen: 410 USDT.
    expect(account.body.balances.find((b) => b.asset === "USDT")).toMatchObject({
      free: "590.00000000",
      locked: "410.00000000",
    });
  });

  it.runIf(process.getuid?.() === 0)(
    "keeps the shared trading port closed to another user's process",
    async () => {
      const port = Number(new URL(exchange.tradingUrl).port);
      // SO_REUSEPORT admits a socket of the same user only: another user's bind fails. (Python's
      // socket module sets the option on any kernel; this runtime may sit where nobody cannot read.)
      const script = [
        "import errno, socket",
        "s = socket.socket()",
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)",
        "try:",
        `    s.bind(("127.0.0.1", ${port})); s.listen(); print("LISTENING")`,
        "except OSError as e:",
        "    print(errno.errorcode[e.errno])",
      ].join("\n");
      const child = spawn("python3", ["-c", script], { uid: 65534, gid: 65534 });
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      await new Promise((resolve, reject) => child.on("exit", resolve).on("error", reject));
      expect(out.trim()).toBe("EADDRINUSE");
    },
  );
});
