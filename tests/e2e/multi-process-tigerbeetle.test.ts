import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTigerBeetle, type TigerBeetleServer } from "../infra/tigerbeetle.ts";
import { crossTrade } from "./harness.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "./local-exchange.ts";

/**
 * The multi-process exchange (UBSCore, matching, a gateway, `bourse settlement` fed from Kafka,
 * history in Cassandra) with `ledger.kind: tigerbeetle` on a real replica: TigerBeetle, UBSCore and
 * settlement each SIGKILLed under order load and restarted; after all of it every acknowledged
 * order is there, money adds up to the deposits and reconcile finds no difference.
 */
let infra: LocalInfrastructure;
let tigerBeetle: TigerBeetleServer;
let exchange: LocalExchange;

beforeAll(async () => {
  [infra, tigerBeetle] = await Promise.all([startLocalInfrastructure(), startTigerBeetle()]);
  const ledger = {
    kind: "tigerbeetle" as const,
    clusterId: String(tigerBeetle.clusterId),
    addresses: [tigerBeetle.address],
  };
  exchange = await LocalExchange.start({ gateways: 1, keyspace: "bourse_e2e_tb", ledger, ...infra });
}, 600_000);

afterAll(async () => {
  exchange?.stop();
  await Promise.all([infra?.stop(), tigerBeetle?.stop()]);
});

describe("the multi-process exchange on a real TigerBeetle", () => {
  it("survives TigerBeetle, UBSCore and settlement killed mid-run; reconcile finds no difference", async () => {
    const { session } = exchange;
    const url = exchange.url(0);
    await crossTrade(session, url, url);
    let crash: Promise<void> = Promise.resolve();
    const first = await session.loadThenKill(session.crossingOrders(url, url), 20, () => {
      crash = tigerBeetle.restart();
    });
    await crash;
    const second = await session.loadThenKill(session.crossingOrders(url, url), 20, () =>
      exchange.ubscore.child.kill("SIGKILL"),
    );
    await exchange.restartUbsCore(false);
    const third = await session.loadThenKill(session.crossingOrders(url, url), 20, () =>
      exchange.settlement!.child.kill("SIGKILL"),
    );
    await exchange.restartSettlement(false);
    expect(first + second + third).toBeGreaterThanOrEqual(60);
    await exchange.checkInvariants(0);
  }, 600_000);
});
