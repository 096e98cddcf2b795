import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../components/config/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { sign } from "../../components/gateway/src/index.ts";
import { configureLog, log, REDACTED, redact } from "../../components/observability/src/index.ts";
import { type Credentials, limitOrder, TestClient } from "../api/client.ts";

/**
 * Structured logs: every line one JSON object with its time, level, component and exchange (and
 * the request id for a request); no secret ever written, whatever the request: API keys and
 * secret keys, signatures, listen keys, the operator token.
 */
describe("redact", () => {
  const secretKeys = fc.constantFrom(
    "secretKey",
    "signature",
    "adminToken",
    "authorization",
    "x-mbx-apikey",
    "apiKey",
    "listenKey",
    "linkKey",
    "password",
  );
  const secret = fc.stringMatching(/^[0-9a-f]{32,64}$/);

  it("replaces what sits under a secret-sounding key, at any depth", () => {
    fc.assert(
      fc.property(secretKeys, secret, fc.nat(5), fc.string(), (key, value, depth, benign) => {
        let doc: Record<string, unknown> = { [key]: value, note: benign };
        for (let i = 0; i < depth; i++) doc = { nested: doc, list: [doc] };
        const out = JSON.stringify(redact(doc));
        expect(out).not.toContain(value);
        expect(out).toContain(REDACTED);
      }),
    );
  });

  it("cuts signatures and listen keys out of URLs, and keeps the rest", () => {
    fc.assert(
      fc.property(secret, secret, (signature, listenKey) => {
        const urls = [
          `/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=${signature}`,
          `/api/v3/userDataStream?listenKey=${listenKey}`,
          `/ws/${listenKey}`,
          `/stream?streams=btcusdt@trade/${listenKey}`,
        ];
        const out = JSON.stringify(redact({ msg: urls.join(" "), req: { url: urls[0] } }));
        expect(out).not.toContain(signature);
        expect(out).not.toContain(listenKey);
        expect(out).toContain("symbol=BTCUSDT");
        expect(out).toContain("btcusdt@trade");
      }),
    );
  });
});

const ADMIN_TOKEN = "logs-test-operator-token-0123456789";
let exchange: EmbeddedExchange;
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split("\n").filter(Boolean));
    done();
  },
});

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bourse-logs-"));
  const config = await loadConfig({
    overrides: { dataDir, demo: false, gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN } },
  });
  configureLog({ component: "exchange", exchange: "logs-test" }, (line) => sink.write(line));
  exchange = await startEmbeddedExchange(config, sink);
});

afterAll(async () => {
  await exchange?.close();
});

describe("the exchange's logs", () => {
  it("are JSON lines with component, exchange, level and request id, holding no secret", async () => {
    const admin = (path: string, body: unknown) =>
      fetch(`${exchange.adminUrl}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const user = (await (await admin("/admin/v1/users", {})).json()) as Credentials & { userId: number };
    await admin("/admin/v1/deposits", { userId: user.userId, asset: "USDT", amount: "100000" });
    const client = new TestClient(exchange.tradingUrl, user);
    const signatures: string[] = [];
    const signedGet = async (path: string, params: Record<string, string>) => {
      const payload = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
      const signature = sign(user.secretKey, payload);
      signatures.push(signature);
      return client.raw("GET", path, `${payload}&signature=${signature}`);
    };
    expect((await signedGet("/api/v3/account", {})).status).toBe(200);
    expect((await client.signed("POST", "/api/v3/order", limitOrder("BUY", "0.01", "50000"))).status).toBe(
      200,
    );
    // A forged signature, a wrong operator token: refused, and logged without either.
    const forged = "f".repeat(64);
    signatures.push(forged);
    expect(
      (await client.raw("GET", "/api/v3/account", `timestamp=${Date.now()}&signature=${forged}`)).status,
    ).toBe(400);
    const wrongToken = "not-the-operator-token-0123456789";
    const denied = await fetch(`${exchange.adminUrl}/admin/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${wrongToken}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(denied.status).toBe(401);
    const { body } = await client.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "");
    await client.raw("PUT", "/api/v3/userDataStream", `listenKey=${body.listenKey}`);
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${exchange.tradingUrl.replace("http", "ws")}/ws/${body.listenKey}`);
      ws.once("open", () => {
        ws.close();
        resolve();
      });
      ws.once("error", reject);
    });
    log().child({ orderId: 7 }).warn("an event of the process", { secretKey: user.secretKey });
    await new Promise((r) => setTimeout(r, 100));

    expect(lines.length).toBeGreaterThan(10);
    const requestIds = new Set<unknown>();
    for (const line of lines) {
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(event, line).toMatchObject({
        exchange: "logs-test",
        level: expect.any(String),
        msg: expect.any(String),
      });
      expect(["gateway", "operator-api", "exchange"]).toContain(event.component);
      expect(["debug", "info", "warn", "error"]).toContain(event.level);
      if (event.req || event.res) requestIds.add(event.requestId);
    }
    expect(requestIds.size).toBeGreaterThan(5);
    expect(requestIds.has(undefined)).toBe(false);
    const all = lines.join("\n");
    for (const secret of [
      user.apiKey,
      user.secretKey,
      ADMIN_TOKEN,
      wrongToken,
      body.listenKey,
      ...signatures,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('"orderId":7');
    // The order placed through the API: its log line carries the request id and the order id.
    const placed = lines.map((l) => JSON.parse(l)).find((e) => e.msg === "order placed");
    expect(placed).toMatchObject({
      component: "gateway",
      requestId: expect.any(String),
      orderId: expect.any(Number),
    });
  });
});
