import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { pythonTool } from "../infra/python-tools.ts";
import { moneyTotals } from "../support/money.ts";

/**
 * Fuzzing the trading API from its own OpenAPI document with schemathesis (from PyPI): positive
 * and negative cases for every operation, signed like a Binance client (binance_signing.py), with
 * a bounded budget and a fixed seed. No response may be a 5xx or break the documented schema;
 * afterwards every asset still adds up to its deposits and UBSCore agrees with the ledger, so the
 * requests it rejected changed nothing they should not have.
 */
const SCHEMATHESIS = "4.32.5";
const MAX_EXAMPLES = Number(process.env.BOURSE_FUZZ_EXAMPLES ?? 25);
const SEED = Number(process.env.BOURSE_FUZZ_SEED ?? 1);
let exchange: EmbeddedExchange;
let schemathesis: string;
/** Method and path of each request the gateways logged, by request id, and their answers. */
const requests = new Map<string, { method: string; path: string }>();
const answered: { method: string; path: string; status: number }[] = [];
const commands: string[] = [];

/** Reads fastify's JSON log lines: which request got which status. */
function requestLog(): PassThrough {
  const stream = new PassThrough();
  createInterface({ input: stream }).on("line", (line) => {
    const entry = JSON.parse(line) as {
      requestId?: string;
      req?: { method: string; url: string };
      res?: { statusCode: number };
    };
    if (!entry.requestId) return;
    if (entry.req)
      requests.set(entry.requestId, { method: entry.req.method, path: entry.req.url.split("?")[0]! });
    const req = requests.get(entry.requestId);
    if (entry.res && req) answered.push({ ...req, status: entry.res.statusCode });
  });
  return stream;
}

/** How many requests to `method path` succeeded. */
const succeeded = (method: string, path: string) =>
  answered.filter((a) => a.method === method && a.path === path && a.status < 300).length;

beforeAll(async () => {
  schemathesis = await pythonTool("schemathesis", SCHEMATHESIS);
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-fuzz-"));
  const unlimited = { weightPerMinute: 1e12, ordersPer10s: 1e12, ordersPerDay: 1e12 };
  const config = await loadConfig({
    overrides: {
      dataDir,
      demo: true,
      verify: true,
      gateway: { port: 0, adminPort: 0, rateLimit: unlimited },
    },
  });
  exchange = await startEmbeddedExchange(config, requestLog());
}, 600_000);

afterAll(async () => {
  await exchange?.close();
});

describe("the trading API under schemathesis", () => {
  it(`answers ${MAX_EXAMPLES} examples per operation and phase without a 5xx or a schema violation, and money still adds up`, async () => {
    const before = await moneyTotals(exchange);
    exchange.service.onCommand((cmd) => commands.push(cmd.kind));
    const alice = exchange.demoKeys[0]!;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        schemathesis,
        [
          "run",
          `${exchange.tradingUrl}/openapi.json`,
          "--checks",
          "not_a_server_error,response_schema_conformance",
          "--max-examples",
          String(MAX_EXAMPLES),
          "--seed",
          String(SEED),
          "--workers",
          "1",
          "--phases",
          "examples,coverage,fuzzing",
          "--no-color",
        ],
        {
          env: {
            ...process.env,
            PYTHONPATH: import.meta.dirname,
            SCHEMATHESIS_HOOKS: "binance_signing",
            BOURSE_FUZZ_API_KEY: alice.apiKey,
            BOURSE_FUZZ_SECRET: alice.secretKey,
            BOURSE_FUZZ_SEED: String(SEED),
          },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 600_000,
        },
        (error, stdout, stderr) =>
          error && error.code !== 1 ? reject(error) : resolve(`${stdout}${stderr}`),
      );
    });
    const summary = output.match(/(\d+) generated, (\d+) passed/);
    const changes = ["place", "placeOco", "placeOto", "cancel", "cancelAll", "transferIn", "transferOut"].map(
      (k) => `${commands.filter((c) => c === k).length} ${k}`,
    );
    process.stdout.write(
      `schemathesis: ${summary?.[0] ?? "no summary"} (seed ${SEED}); state changes from accepted requests: ${changes.join(", ")}\n`,
    );
    expect(output, output.slice(-4000)).not.toMatch(/\d+ failed|errored/);
    expect(summary?.[1]).toBe(summary?.[2]);
    expect(Number(summary?.[1])).toBeGreaterThan(500);
    expect(await moneyTotals(exchange)).toEqual(before);
    // Each state change comes from a request that succeeded, one for one: a rejected one changed nothing.
    const count = (kind: string) => commands.filter((k) => k === kind).length;
    expect(count("place")).toBe(succeeded("POST", "/api/v3/order"));
    expect(count("placeOco")).toBe(succeeded("POST", "/api/v3/orderList/oco"));
    expect(count("placeOto")).toBe(
      ["oto", "otoco", "opo", "opoco"].reduce(
        (n, kind) => n + succeeded("POST", `/api/v3/orderList/${kind}`),
        0,
      ),
    );
    // An order list is cancelled by cancelling one of its orders (the book cancels the other).
    expect(count("cancel")).toBe(
      succeeded("DELETE", "/api/v3/order") + succeeded("DELETE", "/api/v3/orderList"),
    );
    expect(count("cancelAll")).toBe(succeeded("DELETE", "/api/v3/openOrders"));
    expect(count("transferIn") + count("transferOut")).toBe(succeeded("POST", "/sapi/v1/asset/transfer"));
    expect(count("place")).toBeGreaterThan(0);
    expect((await exchange.reconcile()).differences).toEqual([]);
  }, 900_000);
});
