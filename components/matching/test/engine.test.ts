import { beforeEach, describe, expect, it } from "vitest";
import { InvariantViolation } from "../../domain/src/index.ts";
import { MatchingEngine } from "../src/engine.ts";
import {
  CancelReason,
  CommandType,
  EventType,
  ExpireReason,
  type MatchingEvent,
  OrderType,
  RejectReason,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from "../src/protocol.ts";

const { Buy, Sell } = Side;
let engine: MatchingEngine;
let nextId = 1;

beforeEach(() => {
  engine = new MatchingEngine({ quotePerTickLot: 10, initialOrders: 2, initialLevels: 2 });
  nextId = 1;
});

function drain(): MatchingEvent[] {
  engine.checkInvariants();
  const events = engine.events.decode();
  engine.events.clear();
  return events;
}

interface PlaceOptions {
  user?: number;
  type?: OrderType;
  tif?: TimeInForce;
  quote?: number;
  stp?: SelfTradePrevention;
  id?: number;
}

function place(side: Side, price: number, qty: number, o: PlaceOptions = {}): MatchingEvent[] {
  const type = o.type ?? OrderType.Limit;
  const tif = o.tif ?? (type === OrderType.Market ? TimeInForce.IOC : TimeInForce.GTC);
  engine.place(o.id ?? nextId++, o.user ?? 1, side, type, tif, price, qty, o.quote ?? 0, o.stp ?? 0);
  return drain();
}

const market = (side: Side, qty: number, o: PlaceOptions = {}) =>
  place(side, 0, qty, { ...o, type: OrderType.Market });
const types = (events: MatchingEvent[]) => events.map((e) => EventType[e.type]);
const trades = (events: MatchingEvent[]) =>
  events.flatMap((e) => (e.type === EventType.Trade ? [[e.makerOrderId, e.priceTicks, e.qtyLots]] : []));
const book = () => engine.restingOrders().map((o) => [o.orderId, o.side, o.priceTicks, o.qtyLots]);

describe("limit orders", () => {
  it("rest, report their level, and match at the maker's price in price-time priority", () => {
    expect(types(place(Sell, 101, 5))).toEqual(["Accepted", "BookLevel"]);
    place(Sell, 100, 3); // 2: better price
    place(Sell, 100, 4); // 3: same price, later
    const events = place(Buy, 102, 9, { user: 2 });
    expect(trades(events)).toEqual([
      [2, 100, 3],
      [3, 100, 4],
      [1, 101, 2],
    ]);
    expect(events.filter((e) => e.type === EventType.BookLevel)).toEqual([
      expect.objectContaining({ side: Sell, priceTicks: 100, totalLots: 0 }),
      expect.objectContaining({ side: Sell, priceTicks: 101, totalLots: 3 }),
    ]);
    expect(book()).toEqual([[1, Sell, 101, 3]]);
    expect(engine.bestAsk()).toBe(101);
    expect(engine.bestBid()).toBe(0);
  });

  it("numbers events and trades without gaps", () => {
    place(Sell, 100, 1);
    place(Sell, 100, 1);
    const events = place(Buy, 100, 2, { user: 2 });
    expect(events.map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(
      events.filter((e) => e.type === EventType.Trade).map((e) => (e as { tradeId: number }).tradeId),
    ).toEqual([1, 2]);
  });

  it("IOC trades what it can and expires the rest; FOK trades all or nothing", () => {
    place(Sell, 100, 5);
    const ioc = place(Buy, 100, 8, { tif: TimeInForce.IOC, user: 2 });
    expect(types(ioc)).toEqual(["Accepted", "Trade", "Expired", "BookLevel"]);
    expect(ioc[2]).toMatchObject({ remainingLots: 3, reason: ExpireReason.IocRemainder });
    place(Sell, 100, 5);
    const fok = place(Buy, 100, 6, { tif: TimeInForce.FOK, user: 2 });
    expect(types(fok)).toEqual(["Accepted", "Expired"]);
    expect(fok[1]).toMatchObject({ remainingLots: 6, reason: ExpireReason.FokUnfilled });
    expect(trades(place(Buy, 100, 5, { tif: TimeInForce.FOK, user: 2 }))).toEqual([[3, 100, 5]]);
  });

  it("post-only (LIMIT_MAKER) is rejected if it would take, rests otherwise", () => {
    place(Sell, 100, 5);
    expect(place(Buy, 100, 1, { type: OrderType.LimitMaker })).toEqual([
      expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.PostOnlyWouldTake }),
    ]);
    expect(types(place(Buy, 99, 1, { type: OrderType.LimitMaker }))).toEqual(["Accepted", "BookLevel"]);
  });
});

describe("market orders", () => {
  it("by quantity sweep the book and expire what is left", () => {
    place(Sell, 100, 2);
    place(Sell, 105, 2);
    const events = market(Buy, 6, { user: 2 });
    expect(trades(events)).toEqual([
      [1, 100, 2],
      [2, 105, 2],
    ]);
    expect(events.find((e) => e.type === EventType.Expired)).toMatchObject({ remainingLots: 2 });
    expect(market(Sell, 1)).toContainEqual(expect.objectContaining({ reason: ExpireReason.NoLiquidity }));
  });

  it("by quote amount buy whole lots while the rest of the amount pays for one", () => {
    place(Sell, 100, 2); // one lot costs 100 ticks x 10 = 1000 quote units
    place(Sell, 200, 5); // one lot costs 2000
    const events = place(Buy, 0, 0, { type: OrderType.Market, quote: 6500, user: 2 });
    // 2 lots at 100 (2000), then 2 lots at 200 (4000): 500 left, less than one lot.
    expect(trades(events)).toEqual([
      [1, 100, 2],
      [2, 200, 2],
    ]);
    expect(events.find((e) => e.type === EventType.Expired)).toMatchObject({
      remainingLots: 0,
      remainingQuoteUnits: 500,
      reason: ExpireReason.IocRemainder,
    });
  });

  it("by quantity within a quote budget stop when the budget cannot pay for the next lot", () => {
    place(Sell, 100, 2); // 1000 quote units a lot
    place(Sell, 200, 5); // 2000 a lot
    const events = place(Buy, 0, 6, { type: OrderType.Market, quote: 4500, user: 2 });
    expect(trades(events)).toEqual([
      [1, 100, 2],
      [2, 200, 1],
    ]);
    expect(events.find((e) => e.type === EventType.Expired)).toMatchObject({
      remainingLots: 3,
      remainingQuoteUnits: 500,
      reason: ExpireReason.IocRemainder,
    });
  });

  it("are rejected when malformed (price on a market order, no quantity, negative quote, fractional price)", () => {
    for (const bad of [
      () => engine.place(50, 1, Buy, OrderType.Market, TimeInForce.IOC, 100, 1, 0, 0),
      () => engine.place(51, 1, Buy, OrderType.Market, TimeInForce.IOC, 0, 0, 0, 0),
      () => engine.place(52, 1, Buy, OrderType.Market, TimeInForce.IOC, 0, 1, -10, 0),
      () => engine.place(53, 1, Buy, OrderType.Limit, TimeInForce.GTC, 100.5, 1, 0, 0),
    ]) {
      bad();
      expect(drain()).toEqual([
        expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.InvalidCommand }),
      ]);
    }
    expect(book()).toEqual([]);
  });
});

describe("self-trade prevention", () => {
  beforeEach(() => {
    place(Sell, 100, 2, { user: 7 }); // 1
    place(Sell, 100, 2, { user: 9 }); // 2
  });

  it("NONE lets a user trade with itself", () => {
    expect(trades(place(Buy, 100, 1, { user: 7 }))).toEqual([[1, 100, 1]]);
  });

  it("EXPIRE_TAKER expires the incoming order and leaves the maker", () => {
    const events = place(Buy, 100, 3, { user: 7, stp: SelfTradePrevention.ExpireTaker });
    expect(types(events)).toEqual(["Accepted", "Expired"]);
    expect(events[1]).toMatchObject({ orderId: 3, remainingLots: 3, reason: ExpireReason.SelfTrade });
    expect(book()).toEqual([
      [1, Sell, 100, 2],
      [2, Sell, 100, 2],
    ]);
  });

  it("EXPIRE_MAKER expires the resting order and keeps matching", () => {
    const events = place(Buy, 100, 3, { user: 7, stp: SelfTradePrevention.ExpireMaker });
    expect(events.find((e) => e.type === EventType.Expired)).toMatchObject({
      orderId: 1,
      reason: ExpireReason.SelfTrade,
    });
    expect(trades(events)).toEqual([[2, 100, 2]]);
    expect(book()).toEqual([[3, Buy, 100, 1]]);
  });

  it("EXPIRE_BOTH expires both", () => {
    const events = place(Buy, 100, 3, { user: 7, stp: SelfTradePrevention.ExpireBoth });
    expect(
      events.filter((e) => e.type === EventType.Expired).map((e) => (e as { orderId: number }).orderId),
    ).toEqual([1, 3]);
    expect(book()).toEqual([[2, Sell, 100, 2]]);
  });
});

describe("cancel, cancel-all and duplicate ids", () => {
  it("cancels only the owner's live orders", () => {
    place(Buy, 99, 5, { user: 1 });
    engine.cancel(1, 2);
    expect(drain()).toEqual([
      expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.NotOwner }),
    ]);
    engine.cancel(1, 1);
    expect(drain()).toEqual([
      expect.objectContaining({
        type: EventType.Cancelled,
        orderId: 1,
        remainingLots: 5,
        reason: CancelReason.User,
      }),
      expect.objectContaining({ type: EventType.BookLevel, priceTicks: 99, totalLots: 0 }),
    ]);
    engine.cancel(1, 1);
    expect(drain()).toEqual([
      expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.UnknownOrder }),
    ]);
  });

  it("cancel-all removes one user's orders in id order and no one else's", () => {
    place(Buy, 99, 1, { user: 1 });
    place(Buy, 98, 1, { user: 2 });
    place(Sell, 101, 1, { user: 1 });
    engine.cancelAll(1);
    expect(drain().flatMap((e) => (e.type === EventType.Cancelled ? [[e.orderId, e.reason]] : []))).toEqual([
      [1, CancelReason.CancelAll],
      [3, CancelReason.CancelAll],
    ]);
    expect(book()).toEqual([[2, Buy, 98, 1]]);
  });

  it("rejects a duplicate live order id", () => {
    place(Buy, 99, 1, { id: 77 });
    expect(place(Buy, 98, 1, { id: 77 })).toEqual([
      expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.DuplicateOrderId }),
    ]);
  });
});

describe("amend and reduce", () => {
  it("amend down keeps time priority; amend up or to a new price loses it", () => {
    place(Buy, 99, 5); // 1
    place(Buy, 99, 5); // 2
    engine.amend(1, 1, 99, 3);
    expect(drain()[0]).toMatchObject({ type: EventType.Amended, keptPriority: true, qtyLots: 3 });
    expect(book()).toEqual([
      [1, Buy, 99, 3],
      [2, Buy, 99, 5],
    ]);
    engine.amend(1, 1, 99, 4);
    expect(drain()[0]).toMatchObject({ type: EventType.Amended, keptPriority: false });
    expect(book()).toEqual([
      [2, Buy, 99, 5],
      [1, Buy, 99, 4],
    ]);
  });

  it("an amend to a crossing price trades like a new order", () => {
    place(Sell, 101, 2, { user: 2 }); // 1
    place(Buy, 99, 5); // 2
    engine.amend(2, 1, 101, 5);
    const events = drain();
    expect(types(events).slice(0, 2)).toEqual(["Amended", "Trade"]);
    expect(book()).toEqual([[2, Buy, 101, 3]]);
  });

  it("reduce takes lots off in place, keeps priority, and refuses to take all that is left", () => {
    place(Buy, 99, 5); // 1
    place(Buy, 99, 5); // 2
    place(Sell, 99, 1, { user: 2 }); // 3: fills 1 lot of order 1
    engine.reduce(1, 1, 2);
    expect(drain()).toEqual([
      expect.objectContaining({ type: EventType.Amended, orderId: 1, qtyLots: 2, keptPriority: true }),
      expect.objectContaining({ type: EventType.BookLevel, side: Buy, priceTicks: 99, totalLots: 7 }),
    ]);
    expect(book()).toEqual([
      [1, Buy, 99, 2],
      [2, Buy, 99, 5],
    ]);
    for (const [id, user, lots, reason] of [
      [1, 1, 2, RejectReason.ReduceToNothing],
      [1, 1, 0, RejectReason.InvalidCommand],
      [1, 2, 1, RejectReason.NotOwner],
      [9, 1, 1, RejectReason.UnknownOrder],
    ] as const) {
      engine.reduce(id, user, lots);
      expect(drain()).toEqual([expect.objectContaining({ type: EventType.Rejected, reason })]);
    }
    expect(book()).toEqual([
      [1, Buy, 99, 2],
      [2, Buy, 99, 5],
    ]);
    // Still first in the queue: the next sell fills order 1 before order 2.
    expect(trades(place(Sell, 99, 3, { user: 2 }))).toEqual([
      [1, 99, 2],
      [2, 99, 1],
    ]);
  });
});

/** Places a stop or take-profit order of 2 lots for user 1: a market one unless given a limit price. */
const placeStop = (id: number, side: Side, orderType: OrderType, stopPriceTicks: number, priceTicks = 0) => {
  const market = priceTicks === 0;
  engine.execute({
    type: CommandType.Place,
    orderId: id,
    userId: 1,
    side,
    orderType,
    tif: market ? TimeInForce.IOC : TimeInForce.GTC,
    priceTicks,
    qtyLots: 2,
    quoteUnits: 0,
    stp: 0,
    stopPriceTicks,
  });
  return drain();
};

/** Makes a trade of 1 lot at `price` between users 2 and 3 (ids from nextId), so triggers see it. */
const tradeAt = (price: number) => {
  engine.execute({
    type: CommandType.Place,
    orderId: nextId,
    userId: 2,
    side: Sell,
    orderType: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: price,
    qtyLots: 1,
    quoteUnits: 0,
    stp: 0,
  });
  engine.execute({
    type: CommandType.Place,
    orderId: nextId + 1,
    userId: 3,
    side: Buy,
    orderType: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: price,
    qtyLots: 1,
    quoteUnits: 0,
    stp: 0,
  });
  nextId += 2;
  return drain();
};

describe("triggered orders", () => {
  it("wait off the book, are refused if already reached, and go off in id order when a trade reaches them", () => {
    nextId = 100;
    tradeAt(100);
    expect(placeStop(1, Buy, OrderType.StopLoss, 99)).toEqual([
      expect.objectContaining({ type: EventType.Rejected, reason: RejectReason.WouldTriggerImmediately }),
    ]);
    expect(placeStop(2, Sell, OrderType.StopLossLimit, 99, 98)[0]).toMatchObject({
      type: EventType.Accepted,
      orderType: OrderType.StopLossLimit,
      stopPriceTicks: 99,
    });
    placeStop(3, Buy, OrderType.TakeProfit, 98);
    placeStop(4, Sell, OrderType.TakeProfitLimit, 101, 102);
    expect(book()).toEqual([]);
    expect(engine.waitingOrders().map((o) => o.orderId)).toEqual([2, 3, 4]);
    place(Buy, 98, 5, { user: 3 }); // liquidity for the stop-loss sell
    // A trade at 99 sets off the stop-loss sell (it sells 2 at 98), whose trade at 98 sets off the
    // take-profit buy (a market order that finds no ask and expires).
    const events = tradeAt(99);
    expect(types(events).filter((t) => t === "Triggered")).toEqual(["Triggered", "Triggered"]);
    expect(
      events.filter((e) => e.type === EventType.Triggered).map((e) => "orderId" in e && e.orderId),
    ).toEqual([2, 3]);
    expect(engine.waitingOrders().map((o) => o.orderId)).toEqual([4]);
    // Cancel and cancel-all reach a waiting order.
    engine.cancel(4, 2);
    expect(drain()[0]).toMatchObject({ type: EventType.Rejected, reason: RejectReason.NotOwner });
    engine.cancelAll(1);
    expect(drain()).toEqual([
      expect.objectContaining({ type: EventType.Cancelled, orderId: 4, remainingLots: 2 }),
    ]);
    expect(engine.waitingOrderCount).toBe(0);
  });

  it("survive a snapshot, with the last price; a version 1 snapshot still restores", () => {
    nextId = 100;
    tradeAt(100);
    placeStop(7, Sell, OrderType.StopLoss, 95);
    const restored = MatchingEngine.restore(engine.snapshot(), { quotePerTickLot: 10 });
    expect(restored.waitingOrders()).toEqual(engine.waitingOrders());
    restored.execute({
      type: CommandType.Place,
      orderId: 8,
      userId: 1,
      side: Buy,
      orderType: OrderType.StopLoss,
      tif: TimeInForce.IOC,
      priceTicks: 0,
      qtyLots: 1,
      quoteUnits: 0,
      stp: 0,
      stopPriceTicks: 100,
    });
    expect(restored.events.decode()[0]).toMatchObject({ reason: RejectReason.WouldTriggerImmediately });
    const v1 = new Float64Array([1, 5, 1, 1, 9, 4, Buy, 90, 3, 0, 0]);
    const old = MatchingEngine.restore(new Uint8Array(v1.buffer), { quotePerTickLot: 10 });
    expect(old.restingOrders()).toEqual([{ orderId: 9, userId: 4, side: Buy, priceTicks: 90, qtyLots: 3 }]);
    expect(old.waitingOrderCount).toBe(0);
  });
});

describe("depth", () => {
  it("aggregates levels best first with the last update id", () => {
    place(Buy, 99, 1);
    place(Buy, 99, 2);
    place(Buy, 97, 4);
    place(Sell, 102, 3);
    const depth = engine.depth(5);
    expect(depth).toEqual({
      lastUpdateId: engine.lastSeq,
      bids: [
        { priceTicks: 99, totalLots: 3 },
        { priceTicks: 97, totalLots: 4 },
      ],
      asks: [{ priceTicks: 102, totalLots: 3 }],
    });
    expect(engine.depth(1).bids).toHaveLength(1);
  });

  it("grows past its initial capacity without losing orders", () => {
    for (let i = 0; i < 500; i++) place(i % 2 ? Buy : Sell, i % 2 ? 1000 - (i % 50) : 1100 + (i % 50), 1);
    expect(engine.restingOrderCount).toBe(500);
    expect(engine.depth().bids.reduce((s, l) => s + l.totalLots, 0)).toBe(250);
  });
});

describe("snapshot bytes", () => {
  it("restore accepts a view into a larger buffer (a Node Buffer from base64, say)", () => {
    place(Buy, 99, 5);
    place(Sell, 101, 3);
    const pooled = Buffer.from(Buffer.from(engine.snapshot()).toString("base64"), "base64");
    const restored = MatchingEngine.restore(pooled, { quotePerTickLot: 10 });
    expect(restored.restingOrders()).toEqual(engine.restingOrders());
  });
});

describe("checkInvariants", () => {
  /** The engine's private arrays, to break a book the way only a bug could. */
  type Insides = Record<"lvTotal" | "oPrev" | "oQty" | "oPrice", Float64Array | Int32Array>;
  const insides = () => engine as unknown as Insides;

  beforeEach(() => {
    place(Buy, 100, 2);
    place(Buy, 100, 3);
    place(Sell, 105, 1);
    engine.checkInvariants();
  });

  it("finds a level whose total is not the sum of its orders", () => {
    insides().lvTotal[0]! += 1;
    expect(() => engine.checkInvariants()).toThrow(InvariantViolation);
  });

  it("finds a broken back link", () => {
    insides().oPrev[1] = 1;
    expect(() => engine.checkInvariants()).toThrow(/back link/);
  });

  it("finds an order with no quantity left resting", () => {
    insides().oQty[0] = 0;
    insides().lvTotal[0] = 3;
    expect(() => engine.checkInvariants()).toThrow(/quantity/);
  });

  it("finds an order resting at a price other than its level's", () => {
    insides().oPrice[2] = 99;
    expect(() => engine.checkInvariants()).toThrow(/price/);
  });
});
