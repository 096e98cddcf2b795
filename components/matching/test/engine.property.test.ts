import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COMMAND_STRIDE, decodeCommand, encodeCommand } from "../src/commands.ts";
import { MatchingEngine } from "../src/engine.ts";
import { decodeEventBytes } from "../src/events.ts";
import {
  type Command,
  CommandType,
  EventType,
  type MatchingEvent,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from "../src/protocol.ts";
import { ReferenceBook } from "./reference-model.ts";

const QUOTE_PER_TICK_LOT = 3;

/**
 * Random command streams over a narrow price band so that orders cross, sweep several levels,
 * self-trade, get amended and cancelled. Ids are mostly fresh, sometimes reused or unknown.
 */
const commandArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant(CommandType.Place as const),
      orderId: fc.integer({ min: 1, max: 60 }),
      userId: fc.integer({ min: 1, max: 3 }),
      side: fc.constantFrom(Side.Buy, Side.Sell),
      orderType: fc.constantFrom(OrderType.Limit, OrderType.Limit, OrderType.LimitMaker),
      tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
      priceTicks: fc.integer({ min: 95, max: 105 }),
      qtyLots: fc.integer({ min: 1, max: 12 }),
      quoteUnits: fc.constant(0),
      stp: fc.constantFrom(
        SelfTradePrevention.None,
        SelfTradePrevention.ExpireTaker,
        SelfTradePrevention.ExpireMaker,
        SelfTradePrevention.ExpireBoth,
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        orderId: fc.integer({ min: 1, max: 60 }),
        userId: fc.integer({ min: 1, max: 3 }),
        side: fc.constantFrom(Side.Buy, Side.Sell),
        mode: fc.constantFrom("qty", "quote", "both"),
        amount: fc.integer({ min: 1, max: 4000 }),
        stp: fc.constantFrom(
          SelfTradePrevention.None,
          SelfTradePrevention.ExpireMaker,
          SelfTradePrevention.ExpireBoth,
        ),
      })
      .map(
        (m): Command => ({
          type: CommandType.Place,
          orderId: m.orderId,
          userId: m.userId,
          side: m.side,
          orderType: OrderType.Market,
          tif: TimeInForce.IOC,
          priceTicks: 0,
          qtyLots: m.mode === "quote" ? 0 : (m.amount % 30) + 1,
          quoteUnits: m.mode === "qty" ? 0 : m.amount,
          stp: m.stp,
        }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant(CommandType.Cancel as const),
      orderId: fc.integer({ min: 1, max: 60 }),
      userId: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant(CommandType.Amend as const),
      orderId: fc.integer({ min: 1, max: 60 }),
      userId: fc.integer({ min: 1, max: 3 }),
      priceTicks: fc.integer({ min: 94, max: 106 }),
      qtyLots: fc.integer({ min: 0, max: 14 }),
    }),
  },
  {
    weight: 3,
    // Triggered orders around the band, so that trades set them off (and some would at once).
    arbitrary: fc
      .record({
        orderId: fc.integer({ min: 1, max: 60 }),
        userId: fc.integer({ min: 1, max: 3 }),
        side: fc.constantFrom(Side.Buy, Side.Sell),
        orderType: fc.constantFrom(
          OrderType.StopLoss,
          OrderType.StopLossLimit,
          OrderType.TakeProfit,
          OrderType.TakeProfitLimit,
        ),
        tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
        priceTicks: fc.integer({ min: 95, max: 105 }),
        stopPriceTicks: fc.oneof(fc.integer({ min: 95, max: 105 }), fc.constantFrom(0, -2)),
        qtyLots: fc.integer({ min: 1, max: 12 }),
        budget: fc.constantFrom(0, 0, 300),
        stp: fc.constantFrom(SelfTradePrevention.None, SelfTradePrevention.ExpireMaker),
      })
      .map((o): Command => {
        const market = o.orderType === OrderType.StopLoss || o.orderType === OrderType.TakeProfit;
        return {
          type: CommandType.Place,
          orderId: o.orderId,
          userId: o.userId,
          side: o.side,
          orderType: o.orderType,
          tif: market ? TimeInForce.IOC : o.tif,
          priceTicks: market ? 0 : o.priceTicks,
          qtyLots: o.qtyLots,
          quoteUnits: market ? o.budget : 0,
          stp: o.stp,
          ...(o.stopPriceTicks === 0 ? {} : { stopPriceTicks: o.stopPriceTicks }),
        };
      }),
  },
  {
    weight: 2,
    // Reduces in place (keepPriority): some by less than what remains, some by all of it or more.
    arbitrary: fc.record({
      type: fc.constant(CommandType.Reduce as const),
      orderId: fc.integer({ min: 1, max: 60 }),
      userId: fc.integer({ min: 1, max: 3 }),
      qtyLots: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.constantFrom(0, -1, 1.5)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant(CommandType.CancelAll as const),
      userId: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    // Malformed commands must be rejected without touching the book.
    arbitrary: fc.record({
      type: fc.constant(CommandType.Place as const),
      orderId: fc.integer({ min: 1, max: 60 }),
      userId: fc.integer({ min: 1, max: 3 }),
      side: fc.constantFrom(Side.Buy, Side.Sell),
      orderType: fc.constantFrom(OrderType.Limit, OrderType.Market, OrderType.LimitMaker),
      tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
      priceTicks: fc.constantFrom(0, -1, 100.5, 100),
      qtyLots: fc.constantFrom(0, -3, 2.5, 5),
      quoteUnits: fc.constantFrom(0, 7),
      stp: fc.constantFrom(0, 4),
    }),
  },
) as fc.Arbitrary<Command>;
const streamArb = (maxLength: number) => fc.array(commandArb, { minLength: 1, maxLength, size: "max" });

function runEngine(commands: Command[]): {
  engine: MatchingEngine;
  events: MatchingEvent[];
  bytes: Uint8Array[];
} {
  const engine = new MatchingEngine({
    quotePerTickLot: QUOTE_PER_TICK_LOT,
    initialOrders: 4,
    initialLevels: 2,
  });
  const events: MatchingEvent[] = [];
  const bytes: Uint8Array[] = [];
  for (const cmd of commands) {
    engine.events.clear();
    engine.execute(cmd);
    engine.checkInvariants();
    bytes.push(engine.events.toBytes());
    events.push(...engine.events.decode());
  }
  return { engine, events, bytes };
}

const add = (m: Map<number, number>, id: number, n: number) => m.set(id, (m.get(id) ?? 0) + n);

/** Per order id, the lots ordered and the lots the events account for (filled, cancelled, expired). */
class QuantityAccount {
  readonly ordered = new Map<number, number>();
  readonly accounted = new Map<number, number>();
  private readonly remaining = new Map<number, number>();
  // Market orders by quote amount have no ordered quantity; they are checked in quote units elsewhere.
  private readonly byQuote = new Set<number>();

  constructor(events: MatchingEvent[]) {
    for (const e of events) this.apply(e);
  }

  private apply(e: MatchingEvent): void {
    switch (e.type) {
      case EventType.Accepted:
        // Ids of finished orders may be reused: each acceptance starts a new order under that id.
        if (e.qtyLots === 0) this.byQuote.add(e.orderId);
        else {
          this.byQuote.delete(e.orderId);
          add(this.ordered, e.orderId, e.qtyLots);
          this.remaining.set(e.orderId, e.qtyLots);
        }
        break;
      case EventType.Trade:
        add(this.accounted, e.makerOrderId, e.qtyLots);
        this.remaining.set(e.makerOrderId, e.makerRemainingLots);
        if (!this.byQuote.has(e.takerOrderId)) {
          add(this.accounted, e.takerOrderId, e.qtyLots);
          this.remaining.set(e.takerOrderId, e.takerRemainingLots);
        }
        break;
      case EventType.Amended:
        // An amend re-states what is left: the order now asks for its fills plus the new quantity.
        add(this.ordered, e.orderId, e.qtyLots - this.remaining.get(e.orderId)!);
        this.remaining.set(e.orderId, e.qtyLots);
        break;
      case EventType.Cancelled:
        add(this.accounted, e.orderId, e.remainingLots);
        break;
      case EventType.Expired:
        if (!this.byQuote.has(e.orderId)) add(this.accounted, e.orderId, e.remainingLots);
        break;
    }
  }
}

describe("MatchingEngine against the reference model", () => {
  it("produces exactly the reference events and final book for random command streams", () => {
    let triggered = 0;
    fc.assert(
      fc.property(streamArb(150), (commands) => {
        const ref = new ReferenceBook(QUOTE_PER_TICK_LOT);
        for (const c of commands) ref.run(c);
        const { engine, events } = runEngine(commands);
        expect(events).toEqual(ref.events);
        expect(engine.restingOrders()).toEqual(ref.book());
        expect(engine.waitingOrders().map((o) => o.orderId)).toEqual(
          ref.stops.map((c) => c.orderId).sort((a, b) => a - b),
        );
        triggered += events.filter((e) => e.type === EventType.Triggered).length;
      }),
      { numRuns: 400 },
    );
    // Triggered orders must actually go off, or the comparison says nothing of them.
    expect(triggered).toBeGreaterThan(400);
  });

  it("is deterministic byte for byte", () => {
    fc.assert(
      fc.property(streamArb(100), (commands) => {
        expect(runEngine(commands).bytes).toEqual(runEngine(commands).bytes);
      }),
      { numRuns: 100 },
    );
  });

  it("restores from a snapshot at any point and continues identically", () => {
    fc.assert(
      fc.property(streamArb(100), fc.nat(), (commands, cutSeed) => {
        const cut = commands.length === 0 ? 0 : cutSeed % commands.length;
        const whole = runEngine(commands);
        const prefix = runEngine(commands.slice(0, cut));
        const restored = MatchingEngine.restore(prefix.engine.snapshot(), {
          quotePerTickLot: QUOTE_PER_TICK_LOT,
        });
        expect(restored.restingOrders()).toEqual(prefix.engine.restingOrders());
        const tail: Uint8Array[] = [];
        for (const cmd of commands.slice(cut)) {
          restored.events.clear();
          restored.execute(cmd);
          restored.checkInvariants();
          tail.push(restored.events.toBytes());
        }
        expect(tail).toEqual(whole.bytes.slice(cut));
        expect(restored.restingOrders()).toEqual(whole.engine.restingOrders());
        expect(restored.waitingOrders()).toEqual(whole.engine.waitingOrders());
        expect(restored.depth()).toEqual(whole.engine.depth());
      }),
      { numRuns: 100 },
    );
  });

  it("conserves quantity: ordered = filled + open + cancelled + expired for every order", () => {
    fc.assert(
      fc.property(streamArb(150), (commands) => {
        const { engine, events } = runEngine(commands);
        const { ordered, accounted } = new QuantityAccount(events);
        for (const o of engine.restingOrders()) add(accounted, o.orderId, o.qtyLots);
        for (const o of engine.waitingOrders()) add(accounted, o.orderId, o.qtyLots);
        expect(accounted).toEqual(ordered);
      }),
      { numRuns: 300 },
    );
  });

  it("encodes and decodes every command losslessly", () => {
    fc.assert(
      fc.property(commandArb, (cmd) => {
        const buf = new Float64Array(COMMAND_STRIDE);
        encodeCommand(cmd, buf);
        expect(decodeCommand(buf)).toEqual(cmd);
      }),
    );
  });

  it("round-trips events through bytes", () => {
    fc.assert(
      fc.property(streamArb(40), (commands) => {
        const { bytes, events } = runEngine(commands);
        expect(bytes.flatMap((b) => decodeEventBytes(b))).toEqual(events);
      }),
      { numRuns: 50 },
    );
  });
});
