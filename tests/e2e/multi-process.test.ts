import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../api/client.ts";
import { crossTrade, type Session } from "./harness.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "./local-exchange.ts";

/**
 * The exchange as separate processes — `bourse ubscore`, `bourse matching` and two `bourse
 * gateway`s over Aeron IPC through the real media driver, `bourse settlement` fed from UBSCore's feed on a real Kafka (the
 * event stream is there too), history in a real Cassandra — driven through the public API by ccxt, with components killed (SIGKILL) and restarted
 * mid-run. After each: every acknowledged order is still there, no
 * fill is applied twice, each asset's total (users plus fees) equals the deposits to the unit,
 * reconcile (UBSCore against the ledger) reports no difference, and the store holds every trade.
 */
let infra: LocalInfrastructure;
let exchange: LocalExchange;
let session: Session;

beforeAll(async () => {
  infra = await startLocalInfrastructure();
  exchange = await LocalExchange.start({ gateways: 2, keyspace: "bourse_e2e", ...infra });
  session = exchange.session;
}, 600_000);

afterAll(async () => {
  exchange?.stop();
  await infra?.stop();
});

describe("the multi-process exchange", () => {
  it("trades across two gateways on one UBSCore; both gateways see the same state", async () => {
    await crossTrade(session, exchange.url(1), exchange.url(0));
    // Bob's view through gateway A equals his view through gateway B (one state, replicated).
    const [viaA, viaB] = [
      new TestClient(exchange.url(0), session.users.bob),
      new TestClient(exchange.url(1), session.users.bob),
    ];
    const accountA = await viaA.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    const accountB = await viaB.signed<{ balances: unknown[] }>("GET", "/api/v3/account");
    expect(accountA.body.balances).toEqual(accountB.body.balances);
    await exchange.checkInvariants(0);
  });

  it("survives a gateway killed mid-run: a restarted gateway serves everything acknowledged", async () => {
    const buyer = session.ccxt("alice", exchange.url(0));
    const acks = await session.loadThenKill(
      async (i) => ({
        who: "alice",
        orderId: (await buyer.createLimitBuyOrder("BTC/USDT", 0.01, 50000 + (i % 500))).id!,
      }),
      10,
      () => exchange.gateways[0]!.child.kill("SIGKILL"),
    );
    expect(acks).toBeGreaterThanOrEqual(10);
    await exchange.restartGateway(0, false);
    await exchange.checkInvariants(0);
    await exchange.checkInvariants(1);
  });

  it("survives UBSCore killed mid-run: gateways stop, everything restarts, nothing acknowledged is lost", async () => {
    // Crossing orders from both gateways: fills are being applied when UBSCore dies.
    const acks = await session.loadThenKill(
      session.crossingOrders(exchange.url(1), exchange.url(0)),
      20,
      () => exchange.ubscore.child.kill("SIGKILL"),
      // Transfers between wallets too: the transfer saga crashes with UBSCore and recovers.
      session.transferring(exchange.url(1)),
    );
    expect(acks).toBeGreaterThanOrEqual(20);
    expect(session.transfers.length).toBeGreaterThan(0);
    await exchange.restartUbsCore(false);
    await exchange.checkInvariants(0);
    await exchange.checkInvariants(1);
    // The event stream on Kafka: every trade once, across the crash (consumers drop repeats by lsn).
    await exchange.checkEventStream();
  });

  it("survives matching killed mid-run: orders wait for the restarted one, which takes the books over from UBSCore", async () => {
    let restarted: Promise<void> = Promise.resolve();
    const acks = await session.loadThenKill(
      session.crossingOrders(exchange.url(0), exchange.url(1)),
      15,
      () => {
        exchange.matching.child.kill("SIGKILL");
        restarted = exchange.restartMatching(false);
      },
    );
    await restarted;
    const more = await session.loadThenKill(
      session.crossingOrders(exchange.url(1), exchange.url(0)),
      10,
      () => {},
    );
    expect(acks + more).toBeGreaterThanOrEqual(25);
    await exchange.checkInvariants(0);
    await exchange.checkReplay(1);
  });

  it("survives settlement killed mid-run: trading goes on, the restarted settlement catches up once", async () => {
    const acks = await session.loadThenKill(
      session.crossingOrders(exchange.url(0), exchange.url(1)),
      15,
      () => exchange.settlement!.child.kill("SIGKILL"),
      session.transferring(exchange.url(0)),
    );
    // Orders keep being acknowledged while settlement is down (its feed waits in Kafka).
    const more = await session.loadThenKill(
      session.crossingOrders(exchange.url(1), exchange.url(0)),
      10,
      () => {},
    );
    expect(acks + more).toBeGreaterThanOrEqual(25);
    await exchange.restartSettlement(false);
    await exchange.checkInvariants(0);
    await exchange.checkInvariants(1);
  });
});
