import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { EventType, MatchingEngine, OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { UbsCore } from "../src/core.ts";
import type { OrderRecord, PlaceOrder } from "../src/types.ts";
import { commandArb, fundedCore, MoneyBook, USERS } from "./arbitraries.ts";

/**
 * Triggered orders (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT) in UBSCore: funds
 * frozen exactly from acceptance, open (NEW) but off the book until the last trade reaches the
 * stop price, then run; journaled and in the snapshot. BTCUSDT: tick 0.01 USDT, lot 0.00001 BTC.
 */
const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const BTC = exchange.asset("BTC")!.id;
const USDT = exchange.asset("USDT")!.id;
const USDT_UNIT = 100_000_000n;
let core: UbsCore;

const place = (o: Partial<PlaceOrder> & Pick<PlaceOrder, "userId" | "side" | "clientOrderId">): OrderRecord =>
  core.apply({
    kind: "place",
    symbol: "BTCUSDT",
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 6_000_000, // 60,000.00
    qtyLots: 10_000, // 0.1 BTC
    quoteUnits: 0n,
    stp: 0,
    time: 1000,
    ...o,
  }).order!;
const balance = (userId: number, asset: number) => core.balancesOf(userId)[asset - 1]!;
/** A trade of 0.01 BTC at `priceTicks` between users 2 (sells) and 3 (buys). */
const tradeAt = (priceTicks: number, time = 2000) => {
  place({ userId: 2, side: Side.Sell, clientOrderId: `m${priceTicks}`, priceTicks, qtyLots: 1_000, time });
  place({ userId: 3, side: Side.Buy, clientOrderId: `t${priceTicks}`, priceTicks, qtyLots: 1_000, time });
};

beforeEach(() => {
  core = new UbsCore(exchange);
  core.verify = true;
  for (const userId of [1, 2, 3]) {
    core.apply({ kind: "createUser", userId });
    core.apply({ kind: "credit", userId, asset: "USDT", amount: 100_000n * USDT_UNIT });
    core.apply({ kind: "credit", userId, asset: "BTC", amount: 1_00000000n });
  }
  tradeAt(6_000_000, 1000); // last price 60,000
});

describe("triggered orders: frozen from acceptance, off the book until their stop", () => {
  it("a stop-loss sell freezes its base, waits off the book, and sells when the price falls to its stop", () => {
    const stop = place({
      userId: 1,
      side: Side.Sell,
      clientOrderId: "sl",
      type: OrderType.StopLoss,
      tif: TimeInForce.IOC,
      priceTicks: 0,
      stopPriceTicks: 5_900_000,
    });
    expect(stop).toMatchObject({ status: "NEW", stopPriceTicks: 5_900_000, reserved: 10_000_000n });
    expect(stop.workingTime).toBeUndefined();
    expect(balance(1, BTC)).toEqual({ available: 90_000_000n, frozen: 10_000_000n });
    expect(core.restingOrders(1).map((o) => o.orderId)).not.toContain(stop.orderId);
    expect(core.openOrders(1).map((o) => o.orderId)).toEqual([stop.orderId]);
    place({ userId: 3, side: Side.Buy, clientOrderId: "bid", priceTicks: 5_800_000, qtyLots: 20_000 });
    tradeAt(5_950_000); // not yet
    expect(core.order(stop.orderId)!.status).toBe("NEW");
    tradeAt(5_900_000, 3000); // reached: sells 0.1 into the 58,000 bid
    const done = core.order(stop.orderId)!;
    expect(done).toMatchObject({ status: "FILLED", executedLots: 10_000, workingTime: 3000 });
    expect(balance(1, BTC)).toEqual({ available: 90_000_000n, frozen: 0n });
    // 0.1 x 58,000 = 5,800 USDT, less the 0.1% fee (5.8 USDT).
    expect(balance(1, USDT).available).toBe(100_000n * USDT_UNIT + 5_794_20000000n);
  });

  it("a take-profit limit buy freezes its notional at its limit price exactly, then rests when triggered", () => {
    const tp = place({
      userId: 1,
      side: Side.Buy,
      clientOrderId: "tp",
      type: OrderType.TakeProfitLimit,
      priceTicks: 5_500_000,
      stopPriceTicks: 5_600_000,
    });
    expect(balance(1, USDT).frozen).toBe(5_500n * USDT_UNIT); // 0.1 x 55,000
    tradeAt(5_600_000, 4000);
    expect(core.order(tp.orderId)).toMatchObject({ status: "NEW", workingTime: 4000 });
    expect(core.restingOrders(1).map((o) => o.orderId)).toContain(tp.orderId);
    expect(balance(1, USDT).frozen).toBe(5_500n * USDT_UNIT);
  });

  it("refuses a stop the last price has already reached (REJECTED, nothing frozen), and cancels a waiting one", () => {
    const before = balance(1, BTC).available;
    const reached = place({
      userId: 1,
      side: Side.Sell,
      clientOrderId: "r",
      type: OrderType.TakeProfitLimit,
      priceTicks: 5_000_000,
      stopPriceTicks: 5_900_000, // a take-profit sell waits for the price to rise to it: 60,000 is above
    });
    expect(reached.status).toBe("REJECTED");
    expect(balance(1, BTC)).toEqual({ available: before, frozen: 0n });
    const waiting = place({
      userId: 1,
      side: Side.Sell,
      clientOrderId: "w",
      type: OrderType.TakeProfitLimit,
      stopPriceTicks: 6_100_000,
    });
    const cancelled = core.apply({
      kind: "cancel",
      userId: 1,
      symbol: "BTCUSDT",
      orderId: waiting.orderId,
      time: 5000,
    });
    expect(cancelled.events.map((e) => e.type)).toEqual([EventType.Cancelled]);
    expect(core.order(waiting.orderId)!.status).toBe("CANCELED");
    expect(balance(1, BTC)).toEqual({ available: before, frozen: 0n });
  });
});

describe("triggered orders: refusals, snapshots and handovers", () => {
  it("refuses what cannot be a triggered order, changing nothing", () => {
    const snapshot = Buffer.from(core.snapshot()).toString();
    const base = { userId: 1, side: Side.Sell, clientOrderId: "x", type: OrderType.StopLossLimit } as const;
    for (const [bad, code] of [
      [{ ...base }, "OUT_OF_RANGE"], // no stop price
      [{ ...base, stopPriceTicks: 0 }, "OUT_OF_RANGE"],
      [{ ...base, stopPriceTicks: 1.5 }, "OUT_OF_RANGE"],
      [{ ...base, stopPriceTicks: 1e15 }, "OUT_OF_RANGE"],
      [{ ...base, type: OrderType.Limit, stopPriceTicks: 5_000_000 }, "INVALID_ARGUMENT"],
      [
        {
          ...base,
          type: OrderType.StopLoss,
          priceTicks: 0,
          tif: TimeInForce.IOC,
          stopPriceTicks: 5_000_000,
          qtyLots: 0,
          quoteUnits: 100n * USDT_UNIT,
        },
        "INVALID_ARGUMENT",
      ],
    ] as const) {
      expect(
        () => place(bad as never),
        `${bad.type} ${code} stop ${(bad as { stopPriceTicks?: number }).stopPriceTicks}`,
      ).toThrow(expect.objectContaining({ code }));
      expect(Buffer.from(core.snapshot()).toString()).toBe(snapshot);
    }
  });

  it("waits in the snapshot and in a handover to a matching service", () => {
    const stop = place({
      userId: 1,
      side: Side.Buy,
      clientOrderId: "s",
      type: OrderType.StopLossLimit,
      priceTicks: 6_200_000,
      stopPriceTicks: 6_100_000,
    });
    const restored = UbsCore.restore(exchange, core.snapshot());
    restored.checkInvariants();
    expect(restored.order(stop.orderId)).toEqual(core.order(stop.orderId));
    const remote = UbsCore.restore(exchange, core.snapshot(), undefined, "remote");
    const book = remote.matchingHandover().books.find((b) => b.marketId === 1)!;
    const engine = MatchingEngine.restore(book.snapshot, { quotePerTickLot: book.quotePerTickLot });
    expect(engine.waitingOrders().map((o) => [o.orderId, o.stopPriceTicks])).toEqual([
      [stop.orderId, 6_100_000],
    ]);
    expect(engine.restingOrders().map((o) => o.orderId)).not.toContain(stop.orderId);
    // The handed-over book knows the last price: a stop it has reached is refused there too.
    engine.execute({
      type: 0,
      orderId: 999,
      userId: 1,
      side: Side.Buy,
      orderType: OrderType.StopLoss,
      tif: TimeInForce.IOC,
      priceTicks: 0,
      qtyLots: 1,
      quoteUnits: 0,
      stp: 0,
      stopPriceTicks: 5_000_000,
    });
    expect(engine.events.decode()[0]?.type).toBe(EventType.Rejected);
  });
});

describe("triggered orders under random streams", () => {
  it("keep money conserved and frozen exactly what open orders reserve, and do go off", () => {
    let triggered = 0;
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 150, size: "max" }), (commands) => {
        const { core: c, credited } = fundedCore();
        const money = new MoneyBook(credited);
        for (const cmd of commands) {
          const result = money.applyChecked(c, cmd);
          triggered += result?.events.filter((e) => e.type === EventType.Triggered).length ?? 0;
        }
        const restored = UbsCore.restore(exchange, c.snapshot());
        for (const u of USERS) expect(restored.openOrders(u)).toEqual(c.openOrders(u));
      }),
      { numRuns: 150 },
    );
    expect(triggered).toBeGreaterThan(30);
  });
});
