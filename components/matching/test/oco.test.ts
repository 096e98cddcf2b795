import { beforeEach, describe, expect, it } from "vitest";
import { COMMAND_STRIDE, decodeCommand, encodeCommand } from "../src/commands.ts";
import { MatchingEngine } from "../src/engine.ts";
import {
  CancelReason,
  type Command,
  CommandType,
  EventType,
  ExpireReason,
  type MatchingEvent,
  OrderType,
  type PlaceOcoCommand,
  RejectReason,
  Side,
  TimeInForce,
} from "../src/protocol.ts";

/** OCOs in the book: two orders linked so that the first to trade, trigger or expire expires the other. */
let engine: MatchingEngine;

function run(cmd: Command): MatchingEvent[] {
  engine.execute(cmd);
  engine.checkInvariants();
  const events = engine.events.decode();
  engine.events.clear();
  return events;
}

const limit = (
  orderId: number,
  userId: number,
  side: Side,
  priceTicks: number,
  qtyLots: number,
): Command => ({
  type: CommandType.Place,
  orderId,
  userId,
  side,
  orderType: OrderType.Limit,
  tif: TimeInForce.GTC,
  priceTicks,
  qtyLots,
  quoteUnits: 0,
  stp: 0,
});

/** User 1 sells 10 lots: LIMIT_MAKER at 110 (order 11) or STOP_LOSS at 90 (order 10). */
const sellOco = (o: Partial<PlaceOcoCommand> = {}): PlaceOcoCommand => ({
  type: CommandType.PlaceOco,
  orderId: 10,
  userId: 1,
  side: Side.Sell,
  qtyLots: 10,
  quoteUnits: 0,
  stp: 0,
  legs: [
    { orderType: OrderType.StopLoss, tif: TimeInForce.IOC, priceTicks: 0, stopPriceTicks: 90 },
    { orderType: OrderType.LimitMaker, tif: TimeInForce.GTC, priceTicks: 110, stopPriceTicks: 0 },
  ],
  ...o,
});

const kinds = (events: MatchingEvent[]) =>
  events.filter((e) => e.type !== EventType.BookLevel).map((e) => [e.type, "orderId" in e ? e.orderId : 0]);

beforeEach(() => {
  engine = new MatchingEngine({ quotePerTickLot: 10 });
  // Last price 100.
  run(limit(1, 2, Side.Sell, 100, 1));
  run(limit(2, 3, Side.Buy, 100, 1));
});

describe("OCO in the matching engine", () => {
  it("places both legs: the stop leg waits, the limit leg rests", () => {
    expect(kinds(run(sellOco()))).toEqual([
      [EventType.Accepted, 10],
      [EventType.Accepted, 11],
    ]);
    expect(engine.isWaiting(10)).toBe(true);
    expect(engine.isResting(11)).toBe(true);
    expect(engine.ocoPairs()).toEqual([[10, 11]]);
  });

  it("a partial fill of the limit leg expires the stop leg, in the same command", () => {
    run(sellOco());
    const events = run(limit(20, 3, Side.Buy, 110, 4));
    expect(kinds(events)).toEqual([
      [EventType.Accepted, 20],
      [EventType.Trade, 0],
      [EventType.Expired, 10],
    ]);
    expect(events.find((e) => e.type === EventType.Expired)).toMatchObject({
      reason: ExpireReason.OrderListDone,
      remainingLots: 10,
    });
    expect(engine.isWaiting(10)).toBe(false);
    expect(engine.ocoPairs()).toEqual([]);
    // The stop price is reached later: nothing waits for it any more.
    run(limit(21, 2, Side.Buy, 80, 1));
    expect(kinds(run(limit(22, 3, Side.Sell, 80, 1)))).toEqual([
      [EventType.Accepted, 22],
      [EventType.Trade, 0],
    ]);
  });

  it("the stop leg triggering expires the resting limit leg before it runs", () => {
    run(sellOco());
    run(limit(20, 3, Side.Buy, 90, 5));
    const events = run(limit(21, 2, Side.Sell, 90, 1));
    expect(kinds(events)).toEqual([
      [EventType.Accepted, 21],
      [EventType.Trade, 0],
      [EventType.Triggered, 10],
      [EventType.Expired, 11],
      [EventType.Trade, 0],
      [EventType.Expired, 10],
    ]);
    expect(engine.isResting(11)).toBe(false);
  });

  it("two stop legs: the take-profit one firing expires the stop-loss one", () => {
    run(
      sellOco({
        legs: [
          sellOco().legs[0],
          { orderType: OrderType.TakeProfit, tif: TimeInForce.IOC, priceTicks: 0, stopPriceTicks: 110 },
        ],
      }),
    );
    run(limit(20, 3, Side.Buy, 105, 20));
    run(limit(21, 2, Side.Sell, 110, 1));
    const events = run(limit(22, 3, Side.Buy, 110, 1));
    expect(kinds(events)).toEqual([
      [EventType.Accepted, 22],
      [EventType.Trade, 0],
      [EventType.Triggered, 11],
      [EventType.Expired, 10],
      [EventType.Trade, 0],
    ]);
    expect(engine.waitingOrderCount).toBe(0);
  });
});

describe("OCO in the matching engine: cancels, refusals, snapshots", () => {
  it("cancelling one leg cancels both", () => {
    run(sellOco());
    const events = run({ type: CommandType.Cancel, orderId: 11, userId: 1 });
    expect(kinds(events)).toEqual([
      [EventType.Cancelled, 10],
      [EventType.Cancelled, 11],
    ]);
    expect(events[0]).toMatchObject({ reason: CancelReason.User });
    expect(engine.waitingOrderCount + engine.restingOrderCount).toBe(0);
  });

  it("refuses both legs when one cannot be placed, and an OCO with no leg to wait", () => {
    // A LIMIT_MAKER at 100 would take the bid there.
    run(limit(20, 3, Side.Buy, 100, 5));
    const cross = sellOco({
      legs: [
        sellOco().legs[0],
        { orderType: OrderType.LimitMaker, tif: TimeInForce.GTC, priceTicks: 100, stopPriceTicks: 0 },
      ],
    });
    expect(run(cross)).toEqual([
      expect.objectContaining({
        type: EventType.Rejected,
        orderId: 10,
        reason: RejectReason.PostOnlyWouldTake,
      }),
      expect.objectContaining({
        type: EventType.Rejected,
        orderId: 11,
        reason: RejectReason.PostOnlyWouldTake,
      }),
    ]);
    const stopReached = sellOco({
      legs: [
        { orderType: OrderType.StopLoss, tif: TimeInForce.IOC, priceTicks: 0, stopPriceTicks: 100 },
        sellOco().legs[1],
      ],
    });
    expect(run(stopReached).map((e) => e.type === EventType.Rejected && e.reason)).toEqual([
      RejectReason.WouldTriggerImmediately,
      RejectReason.WouldTriggerImmediately,
    ]);
    const bothRest = sellOco({ legs: [sellOco().legs[1], { ...sellOco().legs[1], priceTicks: 120 }] });
    expect(run(bothRest).map((e) => e.type === EventType.Rejected && e.reason)).toEqual([
      RejectReason.InvalidCommand,
      RejectReason.InvalidCommand,
    ]);
    expect(engine.waitingOrderCount).toBe(0);
  });

  it("keeps its link through a snapshot (version 3); a version 2 snapshot still restores", () => {
    run(sellOco());
    const restored = MatchingEngine.restore(engine.snapshot(), { quotePerTickLot: 10 });
    expect(restored.ocoPairs()).toEqual([[10, 11]]);
    expect(restored.snapshot()).toEqual(engine.snapshot());
    // Version 2: the 6-slot header, one resting order, no waiting ones.
    const v2 = new Float64Array([2, 5, 1, 1, 100, 0, 9, 4, Side.Buy, 90, 3, 0, 0]);
    const old = MatchingEngine.restore(new Uint8Array(v2.buffer), { quotePerTickLot: 10 });
    expect(old.restingOrders()).toEqual([
      { orderId: 9, userId: 4, side: Side.Buy, priceTicks: 90, qtyLots: 3 },
    ]);
    expect(old.ocoPairs()).toEqual([]);
  });

  it("crosses the wire in its command slots", () => {
    const slots = new Float64Array(COMMAND_STRIDE);
    const cmd = sellOco();
    encodeCommand(cmd, slots);
    expect(decodeCommand(slots)).toEqual(cmd);
  });
});
