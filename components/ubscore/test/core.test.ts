import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition, InvariantViolation } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { applyJournaled, UbsCore } from "../src/core.ts";
import type { PlaceOco, UbsCommand } from "../src/types.ts";
import { limitPlace } from "./fixtures.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const BTC = exchange.asset("BTC")!.id;
const USDT = exchange.asset("USDT")!.id;
let core: UbsCore;

const order = limitPlace;
const bal = (userId: number, asset: number) => {
  const b = core.balancesOf(userId)[asset - 1]!;
  return [b.available, b.frozen];
};

beforeEach(() => {
  core = new UbsCore(exchange);
  for (const userId of [1, 2]) core.apply({ kind: "createUser", userId });
  core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 100_000_00000000n }); // 100,000 USDT
  core.apply({ kind: "credit", userId: 2, asset: "BTC", amount: 2_00000000n }); // 2 BTC
});

describe("UbsCore worked examples (BTCUSDT: tick 0.01 USDT, lot 0.00001 BTC, fees 0.1%)", () => {
  it("freezes the notional for a buy, settles a fill at the maker's better price, fees in the assets received", () => {
    // Seller rests 0.5 BTC at 60,000.00.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 6_000_000, qtyLots: 50_000 }),
    );
    expect(bal(2, BTC)).toEqual([1_50000000n, 50000000n]);
    // Buyer bids 0.5 BTC at 61,000.00, resting first (no seller at that price yet): freezes
    // exactly the 30,500 USDT it may spend; the fee will come out of the BTC it receives.
    core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b0", priceTicks: 5_000_000, qtyLots: 50_000 }),
    );
    expect(bal(1, USDT)).toEqual([100_000_00000000n - 25_000_00000000n, 25_000_00000000n]);
    core.apply({ kind: "cancel", userId: 1, symbol: "BTCUSDT", clientOrderId: "b0", time: 2 });
    const { order: buy } = core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 6_100_000, qtyLots: 50_000 }),
    );
    expect(buy!.status).toBe("FILLED");
    // Filled at 60,000.00: pays 30,000 USDT, the rest of the reservation released; receives
    // 0.5 BTC minus its 0.1% taker fee (0.0005 BTC).
    expect(bal(1, USDT)).toEqual([100_000_00000000n - 30_000_00000000n, 0n]);
    expect(bal(1, BTC)).toEqual([49_950_000n, 0n]);
    // Seller receives 30,000 USDT minus its 30 USDT maker fee.
    expect(bal(2, USDT)).toEqual([29_970_00000000n, 0n]);
    expect(bal(2, BTC)).toEqual([1_50000000n, 0n]);
    expect(core.fees[USDT - 1]).toBe(30_00000000n);
    expect(core.fees[BTC - 1]).toBe(50_000n);
    expect(core.tradesOf(1)).toHaveLength(1);
  });

  it("releases a cancelled order's reservation and rejects a duplicate open client order id", () => {
    core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 5_000_000, qtyLots: 10_000 }),
    );
    expect(() =>
      core.apply(
        order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 5_000_000, qtyLots: 10_000 }),
      ),
    ).toThrow(expect.objectContaining({ code: "DUPLICATE_ORDER" }));
    const { order: cancelled } = core.apply({
      kind: "cancel",
      userId: 1,
      symbol: "BTCUSDT",
      clientOrderId: "b1",
      time: 2,
    });
    expect(cancelled!.status).toBe("CANCELED");
    expect(bal(1, USDT)).toEqual([100_000_00000000n, 0n]);
    // Once done, the client order id may be used again.
    core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 5_000_000, qtyLots: 10_000 }),
    );
  });

  it("a market buy by quote amount spends at most the amount; its fee comes out of the base", () => {
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 6_000_000, qtyLots: 100_000 }),
    );
    const { order: buy } = core.apply(
      order({
        userId: 1,
        side: Side.Buy,
        clientOrderId: "m1",
        type: OrderType.Market,
        tif: TimeInForce.IOC,
        quoteUnits: 1_000_00000000n,
      }),
    );
    expect(buy!.status).toBe("FILLED");
    // 1,000 USDT at 60,000.00 buys 1,666 whole lots (0.01666 BTC) for 999.60 USDT.
    const spent = 100_000_00000000n - bal(1, USDT)[0]!;
    expect(spent).toBe(999_60000000n);
    expect(spent).toBe(buy!.cumQuote);
    expect(bal(1, USDT)[1]).toBe(0n);
    expect(bal(1, BTC)).toEqual([1_666_000n - 1_666n, 0n]);
  });

  it("a market sell by quantity with no buyers expires and returns the base", () => {
    const { order: sell } = core.apply(
      order({
        userId: 2,
        side: Side.Sell,
        clientOrderId: "m2",
        type: OrderType.Market,
        tif: TimeInForce.IOC,
        qtyLots: 1000,
      }),
    );
    expect(sell!.status).toBe("EXPIRED");
    expect(bal(2, BTC)).toEqual([2_00000000n, 0n]);
  });
});

describe("checkInvariants", () => {
  beforeEach(() => {
    core = new UbsCore(exchange);
    core.verify = true;
    core.apply({ kind: "createUser", userId: 1 });
    core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 10n ** 12n });
    core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "a", priceTicks: 5_000_000, qtyLots: 10_000 }),
    );
  });

  it("finds money that came from nowhere", () => {
    core.fees[USDT - 1]! += 1n;
    expect(() => core.checkInvariants()).toThrow(/USDT: balances and fees hold/);
  });

  it("finds frozen money that no open order reserves", () => {
    (core.balancesOf(1)[USDT - 1] as { frozen: bigint; available: bigint }).frozen += 1n;
    (core.balancesOf(1)[USDT - 1] as { frozen: bigint; available: bigint }).available -= 1n;
    expect(() => core.checkInvariants()).toThrow(/frozen .* reserved/);
  });

  it("runs after every command in verify mode, a rejected one included", () => {
    core.fees[BTC - 1]! += 1n;
    expect(() => core.apply({ kind: "debit", userId: 1, asset: "USDT", amount: 10n ** 15n })).toThrow(
      InvariantViolation,
    );
  });

  it("takes a command of a kind it does not know for a bug, which stops a replay, not a refusal", () => {
    const unknown = { kind: "unknown" } as unknown as UbsCommand;
    expect(() => applyJournaled(core, unknown)).toThrow(InvariantViolation);
  });
});

/** An OCO of user `userId`; by default a SELL of 0.5 BTC: LIMIT_MAKER at 62,000 above, STOP_LOSS_LIMIT 58,000 / 57,900 below. */
const oco = (o: Partial<PlaceOco> & Pick<PlaceOco, "userId">): PlaceOco => ({
  kind: "placeOco",
  symbol: "BTCUSDT",
  listClientOrderId: "list",
  side: Side.Sell,
  qtyLots: 50_000,
  stp: 0,
  time: 3000,
  aboveClientOrderId: "above",
  aboveType: OrderType.LimitMaker,
  aboveTif: TimeInForce.GTC,
  abovePriceTicks: 6_200_000,
  aboveStopPriceTicks: 0,
  belowClientOrderId: "below",
  belowType: OrderType.StopLossLimit,
  belowTif: TimeInForce.GTC,
  belowPriceTicks: 5_790_000,
  belowStopPriceTicks: 5_800_000,
  ...o,
});

/** A third user with 100,000 USDT, and a last price: user 1 buys 0.01 BTC from user 2 at 60,000.00. */
function withLastPrice(): void {
  core.verify = true;
  core.apply({ kind: "createUser", userId: 3 });
  core.apply({ kind: "credit", userId: 3, asset: "USDT", amount: 100_000_00000000n });
  core.apply(
    order({ userId: 2, side: Side.Sell, clientOrderId: "s0", priceTicks: 6_000_000, qtyLots: 1_000 }),
  );
  core.apply(
    order({ userId: 1, side: Side.Buy, clientOrderId: "b0", priceTicks: 6_000_000, qtyLots: 1_000 }),
  );
  expect(bal(2, BTC)).toEqual([1_99000000n, 0n]);
}

describe("OCO order lists (one reservation for both legs)", () => {
  beforeEach(withLastPrice);

  it("a SELL OCO freezes its quantity once; a partial fill of the limit leg expires the stop leg", () => {
    const { orderList, orders } = core.apply(oco({ userId: 2 }));
    // 0.5 BTC frozen, not 1 BTC: both legs sell the same 0.5 BTC.
    expect(bal(2, BTC)).toEqual([1_49000000n, 50000000n]);
    expect(orderList).toMatchObject({
      orderListId: 1,
      contingencyType: "OCO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      orderIds: [3, 4],
    });
    expect(orders!.map((o) => [o.clientOrderId, o.type, o.status])).toEqual([
      ["below", OrderType.StopLossLimit, "NEW"],
      ["above", OrderType.LimitMaker, "NEW"],
    ]);
    // User 3 buys 0.2 BTC at 62,000.00 from the limit leg: 12,400 USDT.
    core.apply(
      order({ userId: 3, side: Side.Buy, clientOrderId: "b3", priceTicks: 6_200_000, qtyLots: 20_000 }),
    );
    const [below, above] = [core.order(3)!, core.order(4)!];
    expect(above.status).toBe("PARTIALLY_FILLED");
    expect(below.status).toBe("EXPIRED");
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    // The limit leg keeps 0.3 BTC frozen; the seller got 12,400 USDT less the 12.4 USDT maker fee.
    expect(bal(2, BTC)).toEqual([1_49000000n, 30000000n]);
    expect(bal(2, USDT)).toEqual([599_40000000n + 12_387_60000000n, 0n]);
    expect(above.reserved).toBe(30000000n);
    // Cancelling the leg left (the list is done) releases the rest.
    core.apply({ kind: "cancel", userId: 2, symbol: "BTCUSDT", orderId: 4, time: 4000 });
    expect(bal(2, BTC)).toEqual([1_79000000n, 0n]);
  });

  it("a BUY OCO freezes the costlier leg's notional; the stop leg triggering expires the limit leg", () => {
    // Below: LIMIT_MAKER 0.1 BTC at 59,000 (5,900 USDT); above: STOP_LOSS_LIMIT stop 61,000, limit 61,500 (6,150 USDT).
    core.apply(
      oco({
        userId: 3,
        side: Side.Buy,
        qtyLots: 10_000,
        aboveType: OrderType.StopLossLimit,
        abovePriceTicks: 6_150_000,
        aboveStopPriceTicks: 6_100_000,
        belowType: OrderType.LimitMaker,
        belowPriceTicks: 5_900_000,
        belowStopPriceTicks: 0,
      }),
    );
    expect(bal(3, USDT)).toEqual([100_000_00000000n - 6_150_00000000n, 6_150_00000000n]);
    // A trade at 61,000.00 (user 1 buys 0.01 BTC from user 2) sets the stop leg off.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 6_100_000, qtyLots: 1_000 }),
    );
    core.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 6_100_000, qtyLots: 1_000 }),
    );
    const [below, above] = [core.order(3)!, core.order(4)!];
    expect(below.status).toBe("EXPIRED");
    expect(above.status).toBe("NEW");
    expect(above.workingTime).toBeDefined();
    // The triggered leg rests at 61,500 for 0.1 BTC: it keeps exactly its 6,150 USDT.
    expect(above.reserved).toBe(6_150_00000000n);
    expect(bal(3, USDT)).toEqual([100_000_00000000n - 6_150_00000000n, 6_150_00000000n]);
    // User 2 sells it 0.1 BTC at 61,500: user 3 pays 6,150 USDT, gets 0.1 BTC less 0.0001 BTC fee.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s2", priceTicks: 6_150_000, qtyLots: 10_000 }),
    );
    expect(above.status).toBe("FILLED");
    expect(bal(3, USDT)).toEqual([100_000_00000000n - 6_150_00000000n, 0n]);
    expect(bal(3, BTC)).toEqual([9_990_000n, 0n]);
    expect(core.orderList(1)!.listOrderStatus).toBe("ALL_DONE");
  });
});

describe("OCO order lists: cancels, refusals, snapshots", () => {
  beforeEach(withLastPrice);

  it("cancelling one leg cancels the list and releases the one reservation", () => {
    core.apply(oco({ userId: 2 }));
    const { order: cancelled } = core.apply({
      kind: "cancel",
      userId: 2,
      symbol: "BTCUSDT",
      orderId: 3,
      time: 4000,
    });
    expect(cancelled!.status).toBe("CANCELED");
    expect(core.order(4)!.status).toBe("CANCELED");
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(bal(2, BTC)).toEqual([1_99000000n, 0n]);
    expect(core.openOrders(2)).toEqual([]);
  });

  it("refuses, changing nothing, legs of the wrong kinds or prices on the wrong side of the last price", () => {
    const before = Buffer.from(core.snapshot()).toString();
    // The limit leg at 59,000 is below the last price 60,000: Binance's -2010.
    expect(() => core.apply(oco({ userId: 2, abovePriceTicks: 5_900_000 }))).toThrow(
      expect.objectContaining({ code: "ORDER_REJECTED" }),
    );
    // Stop at 60,500 is above the last price.
    expect(() => core.apply(oco({ userId: 2, belowStopPriceTicks: 6_050_000 }))).toThrow(
      expect.objectContaining({ code: "ORDER_REJECTED" }),
    );
    // A SELL's stop-loss belongs below.
    expect(() =>
      core.apply(
        oco({
          userId: 2,
          aboveType: OrderType.StopLoss,
          aboveStopPriceTicks: 6_200_000,
          abovePriceTicks: 0,
          belowType: OrderType.LimitMaker,
          belowStopPriceTicks: 0,
        }),
      ),
    ).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => core.apply(oco({ userId: 2, aboveClientOrderId: "below" }))).toThrow(
      expect.objectContaining({ code: "DUPLICATE_ORDER" }),
    );
    expect(() => core.apply(oco({ userId: 2, qtyLots: 500_000 }))).toThrow(
      expect.objectContaining({ code: "INSUFFICIENT_BALANCE" }),
    );
    expect(Buffer.from(core.snapshot()).toString()).toBe(before);
  });

  it("keeps open lists across a snapshot, and their link in the book", () => {
    core.apply(oco({ userId: 2 }));
    const restored = UbsCore.restore(exchange, core.snapshot());
    restored.verify = true;
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(core.snapshot()));
    // A trade at 58,000 sets the stop leg off: the restored book still expires the limit leg.
    restored.apply(
      order({ userId: 1, side: Side.Buy, clientOrderId: "b1", priceTicks: 5_800_000, qtyLots: 100 }),
    );
    restored.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 5_800_000, qtyLots: 100 }),
    );
    expect(restored.order(4)!.status).toBe("EXPIRED");
    expect(restored.order(3)!.workingTime).toBeDefined();
    expect(restored.orderList(1)!.listOrderStatus).toBe("ALL_DONE");
  });
});
