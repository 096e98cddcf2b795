import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type ExchangeSpec,
  type InfrastructureEndpoints,
  renderExchangeConfig,
} from "../src/exchange-config.ts";

const infra: InfrastructureEndpoints = {
  tigerbeetle: { clusterId: "170141183460469231731687303715884105727", addresses: ["10.0.0.11:3001"] },
  kafkaBrokers: ["demo-kafka-0.demo-kafka:9092"],
  store: { contactPoints: ["demo-scylla-0.demo-scylla"], localDataCenter: "datacenter1" },
  ubscore: "demo-ubscore.trading.svc:7100",
  ubscoreAeron: "demo-ubscore-0.demo-ubscore-headless.trading.svc:7200",
  settlement: "demo-settlement.trading.svc:7300",
  matching: "demo-matching.trading.svc:7400",
  matchingAeron: "demo-matching-0.demo-matching-headless.trading.svc:7401",
};

async function exampleSpec(): Promise<ExchangeSpec> {
  return parse(await readFile(new URL("../../examples/exchange.yaml", import.meta.url), "utf8")).spec;
}

describe("renderExchangeConfig", () => {
  it("turns the example Exchange into a valid Bourse configuration on the real adapters", async () => {
    const config = renderExchangeConfig("demo", await exampleSpec(), infra);
    expect(config.exchange.markets.map((m) => m.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
    expect(config.ledger).toEqual({
      kind: "tigerbeetle",
      clusterId: infra.tigerbeetle.clusterId,
      addresses: ["10.0.0.11:3001"],
    });
    expect(config.eventLog).toEqual({
      kind: "kafka",
      brokers: infra.kafkaBrokers,
      topicPrefix: "bourse-demo",
    });
    expect(config.store).toMatchObject({ kind: "cassandra", keyspace: "bourse_demo" });
    expect(config.demo).toBe(false);
  });

  it("runs settlement as a service: listening on every interface, dialled by UBSCore at its Service", async () => {
    const config = renderExchangeConfig("demo", await exampleSpec(), infra);
    expect(config.settlement).toEqual({
      kind: "service",
      listen: "0.0.0.0:7300",
      address: "demo-settlement.trading.svc:7300",
    });
    expect(config.ubscore).toMatchObject({ listen: "0.0.0.0:7100", address: infra.ubscore });
  });

  it("runs matching as a service: dialled by UBSCore at its Service, or over Aeron at its pod's endpoint", async () => {
    const spec = await exampleSpec();
    const tcp = renderExchangeConfig("demo", { ...spec, transport: "tcp" }, infra);
    expect(tcp.matching).toEqual({
      kind: "service",
      listen: "0.0.0.0:7400",
      address: "demo-matching.trading.svc:7400",
      stream: 1002,
      maxInFlight: 10_000,
    });
    const aeron = renderExchangeConfig("demo", { ...spec, transport: "aeron" }, infra);
    // The channel as UBSCore publishes to it; matching's pod overrides it to listen.
    expect(aeron.matching).toEqual({
      kind: "service",
      listen: "0.0.0.0:7400",
      address: "demo-matching.trading.svc:7400",
      stream: 1002,
      maxInFlight: 10_000,
      channel: "aeron:udp?endpoint=demo-matching-0.demo-matching-headless.trading.svc:7401",
    });
  });

  it("applies the CRD's fee defaults to markets that leave them out", async () => {
    const spec = await exampleSpec();
    const [first] = spec.markets;
    const { makerFeePpm: _m, takerFeePpm: _t, ...withoutFees } = first!;
    const config = renderExchangeConfig("demo", { ...spec, markets: [withoutFees] }, infra);
    expect(config.exchange.markets[0]).toMatchObject({ makerFeePpm: 1000, takerFeePpm: 1000 });
  });

  it("rejects what the API server cannot see: a tick size finer than the quote asset allows", async () => {
    const spec = await exampleSpec();
    const bad = { ...spec, markets: [{ ...spec.markets[0]!, tickSize: "0.000000001" }] };
    expect(() => renderExchangeConfig("demo", bad, infra)).toThrow(
      /Exchange demo: exchange: .*tickSize has more than 8 decimal places/,
    );
  });
});
