import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_PATHS, loadConfig } from "../src/load.ts";

describe("config sources", () => {
  it("has working defaults: the demo exchange on 127.0.0.1:8080 with embedded adapters", async () => {
    const c = await loadConfig();
    expect(c.gateway.port).toBe(8080);
    expect(c.gateway.host).toBe("127.0.0.1");
    expect(c.dataDir).toBe("./data");
    expect(c.ledger.kind).toBe("embedded");
    expect(c.exchange.markets.map((m) => m.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
  });

  it("layers file < env < overrides", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-config-"));
    const file = join(dir, "bourse.yaml");
    await writeFile(file, "gateway:\n  port: 9000\n  adminPort: 9001\ndataDir: /var/lib/bourse\n");
    const c = await loadConfig({
      file,
      env: { BOURSE_GATEWAY_PORT: "9100" },
      overrides: { dataDir: "/tmp/x" },
    });
    expect(c.gateway.port).toBe(9100);
    expect(c.gateway.adminPort).toBe(9001);
    expect(c.dataDir).toBe("/tmp/x");
  });

  it("gives every setting a BOURSE_* variable, from the schema, keeping the names already in use", async () => {
    const established = {
      BOURSE_DATA_DIR: "dataDir",
      BOURSE_GATEWAY_PORT: "gateway.port",
      BOURSE_ADMIN_PORT: "gateway.adminPort",
      BOURSE_ADMIN_TOKEN: "gateway.adminToken",
      BOURSE_UBSCORE_LISTEN: "ubscore.listen",
      BOURSE_AERON_DIR: "transport.dir",
      BOURSE_AERON_REPLY_CHANNEL: "transport.replyChannel",
      BOURSE_MATCHING_CHANNEL: "matching.channel",
      BOURSE_LINK_KEY_DIR: "links.keyDir",
    };
    for (const [name, path] of Object.entries(established)) expect(ENV_PATHS.get(name)?.join(".")).toBe(path);
    const c = await loadConfig({
      env: {
        BOURSE_GATEWAY_BACKEND_TIMEOUT_MS: "2500",
        BOURSE_UBSCORE_SNAPSHOT_EVERY: "500",
        BOURSE_GATEWAY_RATE_LIMIT_ORDERS_PER_10S: "7",
        BOURSE_MATCHING_KIND: "service",
        BOURSE_MATCHING_MAX_IN_FLIGHT: "9",
      },
    });
    expect(c.gateway.backendTimeoutMs).toBe(2500);
    expect(c.ubscore.snapshotEvery).toBe(500);
    expect(c.gateway.rateLimit.ordersPer10s).toBe(7);
    expect(c.matching).toMatchObject({ kind: "service", maxInFlight: 9 });
    expect(ENV_PATHS.size).toBeGreaterThan(55);
  });

  it("takes switches as true/false or 1/0 (BOURSE_VERIFY=1) and nothing else", async () => {
    expect((await loadConfig({})).verify).toBe(false);
    expect((await loadConfig({ env: { BOURSE_VERIFY: "1" } })).verify).toBe(true);
    expect((await loadConfig({ env: { BOURSE_DEMO: "0" } })).demo).toBe(false);
    expect((await loadConfig({ env: { BOURSE_LOG: "1" } })).observability.requestLog).toBe(true);
    expect((await loadConfig({ env: {} })).observability.requestLog).toBeUndefined();
    expect((await loadConfig({ env: { BOURSE_LOG: "0" } })).observability.requestLog).toBe(false);
    expect((await loadConfig({ env: { BOURSE_VERIFY: "true" } })).verify).toBe(true);
    await expect(loadConfig({ env: { BOURSE_VERIFY: "2" } })).rejects.toThrow(/verify/);
    await expect(loadConfig({ env: { BOURSE_VERIFY: "yes" } })).rejects.toThrow(/verify/);
  });

  it("takes UBSCore's writer lease from the environment, and refuses a renew deadline not below its duration", async () => {
    const env = {
      BOURSE_UBSCORE_LEASE_NAME: "demo-ubscore",
      BOURSE_UBSCORE_LEASE_NAMESPACE: "trading",
      BOURSE_UBSCORE_LEASE_IDENTITY: "demo-ubscore-0",
    };
    expect((await loadConfig({ env })).ubscore.lease).toEqual({
      name: "demo-ubscore",
      namespace: "trading",
      identity: "demo-ubscore-0",
      durationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryMs: 2_000,
    });
    expect((await loadConfig()).ubscore.lease).toBeUndefined();
    await expect(
      loadConfig({ env, overrides: { ubscore: { lease: { durationMs: 5_000, renewDeadlineMs: 5_000 } } } }),
    ).rejects.toThrow(/renewDeadlineMs must be below durationMs/);
  });
});

describe("config refusals", () => {
  it("names every invalid field", async () => {
    await expect(loadConfig({ env: { BOURSE_GATEWAY_PORT: "99999" } })).rejects.toThrow(/gateway\.port/);
    await expect(loadConfig({ overrides: { gateway: { prot: 1 } } })).rejects.toThrow(/gateway.*prot/s);
    await expect(loadConfig({ overrides: { ledger: { kind: "tigerbeetle" } } })).rejects.toThrow(
      /ledger\.addresses/,
    );
  });

  it("rejects an exchange whose markets do not add up", async () => {
    const bad = {
      exchange: {
        assets: [{ symbol: "BTC", decimals: 8 }],
        markets: [
          {
            symbol: "BTCUSDT",
            base: "BTC",
            quote: "USDT",
            tickSize: "0.01",
            stepSize: "0.001",
            minPrice: "0.01",
            maxPrice: "100",
            minQty: "0.001",
            maxQty: "10",
            minNotional: "1",
            makerFeePpm: 0,
            takerFeePpm: 0,
          },
        ],
      },
    };
    await expect(loadConfig({ overrides: bad })).rejects.toThrow(/unknown quote asset USDT/);
  });

  it("reports unreadable and unparsable files clearly", async () => {
    await expect(loadConfig({ file: "/nonexistent/bourse.yaml" })).rejects.toThrow(/cannot read config file/);
    const dir = await mkdtemp(join(tmpdir(), "bourse-config-"));
    const file = join(dir, "bad.json");
    await writeFile(file, "{not json");
    await expect(loadConfig({ file })).rejects.toThrow(/does not parse/);
  });
});
