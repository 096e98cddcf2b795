import { beforeEach, describe, expect, it } from "vitest";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { UbsCore } from "../src/core.ts";
import type { PlaceOrder, PlaceOto } from "../src/types.ts";
import { exchange, limitPlace } from "./fixtures.ts";

const BTC = exchange.asset("BTC")!.id;
const USDT = exchange.asset("USDT")!.id;
let core: UbsCore;

const order = (o: Parameters<typeof limitPlace>[0]): PlaceOrder => limitPlace({ time: 2000, ...o });

/**
 * User 1's OTO by default: BUY 0.1 BTC LIMIT at 60,000.00 (6,000 USDT frozen), then SELL 0.0999
 * BTC LIMIT_MAKER at 62,000.00 (what the buy leaves after its 0.1% fee in BTC).
 */
const oto = (o: Partial<PlaceOto> = {}): PlaceOto => ({
  kind: "placeOto",
  userId: 1,
  symbol: "BTCUSDT",
  listClientOrderId: "list",
  stp: 0,
  time: 3000,
  workingClientOrderId: "working",
  workingType: OrderType.Limit,
  workingSide: Side.Buy,
  workingTif: TimeInForce.GTC,
  workingPriceTicks: 6_000_000,
  workingQtyLots: 10_000,
  pendingSide: Side.Sell,
  pendingQtyLots: 9_990,
  pendingClientOrderId: "pending",
  pendingType: OrderType.LimitMaker,
  pendingTif: TimeInForce.GTC,
  pendingPriceTicks: 6_200_000,
  pendingStopPriceTicks: 0,
  ...o,
});

const bal = (userId: number, asset: number) => {
  const b = core.balancesOf(userId)[asset - 1]!;
  return [b.available, b.frozen];
};

/** User 2 sells 0.1 BTC at 60,000.00, taking user 1's working BUY. */
const fillWorking = () =>
  core.apply(
    order({ userId: 2, side: Side.Sell, clientOrderId: "s", priceTicks: 6_000_000, qtyLots: 10_000 }),
  );

beforeEach(() => {
  core = new UbsCore(exchange);
  core.verify = true;
  for (const userId of [1, 2, 3]) core.apply({ kind: "createUser", userId });
  core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 100_000_00000000n });
  core.apply({ kind: "credit", userId: 2, asset: "BTC", amount: 2_00000000n });
  core.apply({ kind: "credit", userId: 3, asset: "USDT", amount: 100_000_00000000n });
});

describe("OTO order lists (BTCUSDT: tick 0.01 USDT, lot 0.00001 BTC, fees 0.1%)", () => {
  it("freezes the working order only; the take-profit SELL needs no BTC until the BUY fills", () => {
    const placed = core.apply(oto());
    expect(bal(1, USDT)).toEqual([94_000_00000000n, 6_000_00000000n]);
    expect(bal(1, BTC)).toEqual([0n, 0n]);
    expect(core.orderList(1)).toMatchObject({
      contingencyType: "OTO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      orderIds: [1, 2],
    });
    expect([core.order(1)!.status, core.order(2)!.status]).toEqual(["NEW", "PENDING_NEW"]);
    expect(placed.listOrders).toEqual([{ orderId: 2, execution: "NEW", status: "PENDING_NEW", at: 0 }]);
    // The pending order is open (its client id taken) but not in the book.
    expect(core.openOrders(1).map((o) => o.orderId)).toEqual([1, 2]);
    expect(core.restingOrders(1).map((o) => o.orderId)).toEqual([1]);

    const filled = fillWorking();
    // The buyer got 0.1 BTC less the 0.0001 BTC maker fee; the SELL froze exactly that and rests.
    expect(core.order(1)!.status).toBe("FILLED");
    expect(core.order(2)).toMatchObject({ status: "NEW", reserved: 9_990_000n, placedTime: 2000 });
    expect(bal(1, BTC)).toEqual([0n, 9_990_000n]);
    expect(bal(1, USDT)).toEqual([94_000_00000000n, 0n]);
    expect(core.restingOrders(1).map((o) => o.orderId)).toEqual([2]);
    expect(filled.listsChanged).toEqual([1]);
    expect(core.orderList(1)!.listOrderStatus).toBe("EXECUTING");

    // User 3 buys 0.0999 BTC at 62,000.00 = 6,193.80 USDT; user 1 gets it less 6.1938 USDT.
    core.apply(
      order({ userId: 3, side: Side.Buy, clientOrderId: "b", priceTicks: 6_200_000, qtyLots: 9_990 }),
    );
    expect(core.order(2)!.status).toBe("FILLED");
    expect(bal(1, BTC)).toEqual([0n, 0n]);
    expect(bal(1, USDT)).toEqual([100_187_60620000n, 0n]);
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
  });

  it("rejects the pending order, changing nothing else, when its funds are not there once the working order fills", () => {
    // 0.1 BTC to sell, but the BUY leaves 0.0999 BTC after its fee.
    core.apply(oto({ pendingQtyLots: 10_000 }));
    const filled = fillWorking();
    expect(core.order(2)!.status).toBe("REJECTED");
    expect(filled.listOrders).toEqual([{ orderId: 2, execution: "REJECTED", status: "REJECTED", at: 3 }]);
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(bal(1, BTC)).toEqual([9_990_000n, 0n]);
    expect(bal(1, USDT)).toEqual([94_000_00000000n, 0n]);
    expect(core.openOrders(1)).toEqual([]);
  });

  it("cancelling the pending order cancels the working order and the list; a cancelled working order cancels the pending one", () => {
    core.apply(oto());
    const cancelled = core.apply({
      kind: "cancel",
      userId: 1,
      symbol: "BTCUSDT",
      clientOrderId: "pending",
      time: 4000,
    });
    expect([core.order(1)!.status, core.order(2)!.status]).toEqual(["CANCELED", "CANCELED"]);
    expect(cancelled.listOrders).toEqual([{ orderId: 2, execution: "CANCELED", status: "CANCELED", at: 2 }]);
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(bal(1, USDT)).toEqual([100_000_00000000n, 0n]);
    // The ids are free again; a LIMIT_MAKER working order that would take is rejected, and so its list.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "ask", priceTicks: 5_900_000, qtyLots: 1_000 }),
    );
    core.apply(oto({ workingType: OrderType.LimitMaker }));
    expect([core.order(4)!.status, core.order(5)!.status]).toEqual(["REJECTED", "EXPIRED"]);
    expect(core.orderList(2)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "REJECT" });
    expect(bal(1, USDT)).toEqual([100_000_00000000n, 0n]);
  });
});

describe("OTO order lists refused or restored", () => {
  it("refuses, changing nothing, a working order of another type, ids in use, and a working order it cannot pay", () => {
    core.apply(oto());
    const before = JSON.stringify([bal(1, USDT), core.openOrders(1).length], (_, v) => `${v}`);
    expect(() => core.apply(oto({ listClientOrderId: "other", workingType: OrderType.Market }))).toThrow(
      /LIMIT or LIMIT_MAKER/,
    );
    expect(() => core.apply(oto({ listClientOrderId: "other", workingClientOrderId: "w2" }))).toThrow(
      "Duplicate order sent.",
    );
    expect(() => core.apply(oto({ workingClientOrderId: "w2", pendingClientOrderId: "p2" }))).toThrow(
      /listClientOrderId is already in use/,
    );
    expect(() =>
      core.apply(oto({ listClientOrderId: "l2", workingClientOrderId: "w2", pendingClientOrderId: "w2" })),
    ).toThrow("Duplicate order sent.");
    expect(() =>
      core.apply(
        oto({
          listClientOrderId: "l2",
          workingClientOrderId: "w2",
          pendingClientOrderId: "p2",
          workingQtyLots: 200_000,
        }),
      ),
    ).toThrow(/insufficient balance/);
    expect(() =>
      core.apply(
        oto({
          listClientOrderId: "l2",
          workingClientOrderId: "w2",
          pendingClientOrderId: "p2",
          pendingQtyLots: 1,
        }),
      ),
    ).toThrow(/NOTIONAL/);
    expect(JSON.stringify([bal(1, USDT), core.openOrders(1).length], (_, v) => `${v}`)).toBe(before);
  });

  it("survives a snapshot with its pending order waiting, and activates the same after it", () => {
    core.apply(oto());
    const restored = UbsCore.restore(exchange, core.snapshot());
    restored.verify = true;
    fillWorking();
    restored.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s", priceTicks: 6_000_000, qtyLots: 10_000 }),
    );
    expect(restored.order(2)).toEqual(core.order(2));
    expect(restored.balancesOf(1)).toEqual(core.balancesOf(1));
  });
});

describe("OPO order lists (One Pays the Other)", () => {
  it("locks what the working BUY receives as it fills, and sells exactly that, in whole lots", () => {
    // OPO: BUY 0.1 BTC at 60,000; the pending SELL's quantity is what the buy receives.
    core.apply(oto({ pendingQtyLots: 0 }));
    expect(core.order(2)).toMatchObject({ status: "PENDING_NEW", origQtyLots: 0 });
    // User 2 sells 0.04 BTC of it: user 1 receives 0.04 less 0.00004 BTC, locked for the SELL.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 6_000_000, qtyLots: 4_000 }),
    );
    expect(bal(1, BTC)).toEqual([0n, 3_996_000n]);
    expect(core.orderList(1)!.reserved).toBe(3_996_000n);
    // The rest: 0.0999 BTC in all, 9,990 lots: the SELL asks for them, frozen as its own.
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s2", priceTicks: 6_000_000, qtyLots: 6_000 }),
    );
    expect(core.order(2)).toMatchObject({ status: "NEW", origQtyLots: 9_990, reserved: 9_990_000n });
    expect(core.orderList(1)!.reserved).toBe(0n);
    expect(bal(1, BTC)).toEqual([0n, 9_990_000n]);
  });

  it("unlocks what a partly filled working BUY bought when it is cancelled", () => {
    core.apply(oto({ pendingQtyLots: 0 }));
    core.apply(
      order({ userId: 2, side: Side.Sell, clientOrderId: "s1", priceTicks: 6_000_000, qtyLots: 4_000 }),
    );
    core.apply({ kind: "cancel", userId: 1, symbol: "BTCUSDT", orderId: 1, time: 4000 });
    expect([core.order(1)!.status, core.order(2)!.status]).toEqual(["CANCELED", "CANCELED"]);
    expect(bal(1, BTC)).toEqual([3_996_000n, 0n]);
    expect(bal(1, USDT)).toEqual([100_000_00000000n - 2_400_00000000n, 0n]);
  });

  it("is a BUY then SELL only", () => {
    expect(() => core.apply(oto({ pendingQtyLots: 0, pendingSide: Side.Buy }))).toThrow(/OPO/);
  });
});

describe("OTOCO order lists", () => {
  /**
   * User 2 SELLs 0.5 BTC LIMIT at 60,000.00, then BUYs 0.4 BTC back: above STOP_LOSS_LIMIT (stop
   * 61,000, limit 61,500: 24,600 USDT), below LIMIT_MAKER at 58,000 (23,200 USDT).
   */
  const otoco = (o: Partial<PlaceOto> = {}): PlaceOto =>
    oto({
      userId: 2,
      workingSide: Side.Sell,
      workingQtyLots: 50_000,
      pendingSide: Side.Buy,
      pendingQtyLots: 40_000,
      pendingClientOrderId: "above",
      pendingType: OrderType.StopLossLimit,
      pendingTif: TimeInForce.GTC,
      pendingPriceTicks: 6_150_000,
      pendingStopPriceTicks: 6_100_000,
      pendingBelowClientOrderId: "below",
      pendingBelowType: OrderType.LimitMaker,
      pendingBelowTif: TimeInForce.GTC,
      pendingBelowPriceTicks: 5_800_000,
      pendingBelowStopPriceTicks: 0,
      ...o,
    });

  it("places the pending pair as an OCO once the working order fills, one reservation for both", () => {
    core.apply(otoco());
    expect(bal(2, BTC)).toEqual([1_50000000n, 50000000n]);
    expect([1, 2, 3].map((id) => core.order(id)!.status)).toEqual(["NEW", "PENDING_NEW", "PENDING_NEW"]);
    // User 3 buys the 0.5 BTC at 60,000.00: user 2 gets 30,000 USDT less 30 USDT.
    core.apply(
      order({ userId: 3, side: Side.Buy, clientOrderId: "b", priceTicks: 6_000_000, qtyLots: 50_000 }),
    );
    expect([1, 2, 3].map((id) => core.order(id)!.status)).toEqual(["FILLED", "NEW", "NEW"]);
    // The costlier leg's 24,600 USDT, held by the list.
    expect(core.orderList(1)!.reserved).toBe(24_600_00000000n);
    expect(bal(2, USDT)).toEqual([5_370_00000000n, 24_600_00000000n]);
    // Cancelling one leg cancels the pair; the list is done and everything is released.
    core.apply({ kind: "cancel", userId: 2, symbol: "BTCUSDT", orderId: 3, time: 5000 });
    expect([2, 3].map((id) => core.order(id)!.status)).toEqual(["CANCELED", "CANCELED"]);
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(bal(2, USDT)).toEqual([29_970_00000000n, 0n]);
  });

  it("keeps the list, and the pair's reservation, when the filled working order is forgotten", () => {
    core = new UbsCore(exchange, { closedOrders: 0, tradesPerMarket: 10 });
    core.verify = true;
    for (const userId of [1, 2, 3]) core.apply({ kind: "createUser", userId });
    core.apply({ kind: "credit", userId: 2, asset: "BTC", amount: 2_00000000n });
    core.apply({ kind: "credit", userId: 3, asset: "USDT", amount: 100_000_00000000n });
    core.apply(otoco());
    core.apply(
      order({ userId: 3, side: Side.Buy, clientOrderId: "b", priceTicks: 6_000_000, qtyLots: 50_000 }),
    );
    // The next command forgets the filled working order (and the buyer's); the pair trades on.
    core.apply({ kind: "credit", userId: 3, asset: "BTC", amount: 40_000_000n });
    expect(core.order(1)).toBeUndefined();
    expect(core.orderList(1)!.reserved).toBe(24_600_00000000n);
    // User 3 sells 0.4 BTC at 58,000 to the below leg: 23,200 USDT; the list is done, all released.
    core.apply(
      order({ userId: 3, side: Side.Sell, clientOrderId: "s", priceTicks: 5_800_000, qtyLots: 40_000 }),
    );
    expect([core.order(2)!.status, core.order(3)!.status]).toEqual(["EXPIRED", "FILLED"]);
    expect(core.orderList(1)).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(bal(2, USDT)).toEqual([29_970_00000000n - 23_200_00000000n, 0n]);
    expect(bal(2, BTC)).toEqual([1_50000000n + 39_960_000n, 0n]);
  });

  it("refuses a pending pair that is not an OCO's", () => {
    expect(() => core.apply(otoco({ pendingBelowPriceTicks: 6_200_000 }))).toThrow(
      /relationship of the prices/,
    );
    expect(() =>
      core.apply(otoco({ pendingBelowType: OrderType.StopLoss, pendingBelowStopPriceTicks: 5_800_000 })),
    ).toThrow(/LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT/);
    expect(core.orderLists(2)).toEqual([]);
  });
});
