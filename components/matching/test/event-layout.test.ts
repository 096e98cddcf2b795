import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../src/engine.ts";
import {
  EVENT_FIELDS,
  EVENT_STRIDE,
  FLAG_FIELDS,
  OPTIONAL_FIELDS,
  SEQ_SLOT,
  TYPE_SLOT,
} from "../src/event-layout.ts";
import { decodeEventBytes } from "../src/events.ts";
import {
  CommandType,
  type EventType,
  type MatchingEvent,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from "../src/protocol.ts";

/** An engine that has written one event of every type, through every kind of command. */
function engineWithEveryEventType(): MatchingEngine {
  const engine = new MatchingEngine({ quotePerTickLot: 10, initialOrders: 2, initialLevels: 2 });
  const { None } = SelfTradePrevention;
  engine.place(1, 7, Side.Sell, OrderType.Limit, TimeInForce.GTC, 101, 5, 0, None);
  engine.place(2, 7, Side.Sell, OrderType.Limit, TimeInForce.GTC, 100, 3, 0, None);
  engine.place(3, 8, Side.Buy, OrderType.Limit, TimeInForce.IOC, 101, 9, 0, None);
  engine.place(4, 9, Side.Buy, OrderType.LimitMaker, TimeInForce.GTC, 102, 1, 0, None);
  engine.amend(4, 9, 103, 2);
  engine.amend(4, 9, 103, 1);
  engine.place(5, 9, Side.Buy, OrderType.Market, TimeInForce.IOC, 0, 0, 2550, None);
  engine.place(6, 9, Side.Buy, OrderType.Limit, TimeInForce.GTC, 90, 2, 0, None);
  engine.cancel(6, 9);
  engine.cancel(6, 9);
  // A stop-loss sell waits for a trade at 100 or below; the market sell's second fill sets it off.
  engine.place(7, 7, Side.Sell, OrderType.StopLoss, TimeInForce.IOC, 0, 1, 0, None, 100);
  engine.place(8, 9, Side.Buy, OrderType.Limit, TimeInForce.GTC, 100, 2, 0, None);
  const sell = { side: Side.Sell, orderType: OrderType.Market, tif: TimeInForce.IOC, priceTicks: 0 };
  engine.execute({
    type: CommandType.Place,
    orderId: 9,
    userId: 8,
    ...sell,
    qtyLots: 2,
    quoteUnits: 0,
    stp: None,
  });
  return engine;
}

// Written by the engine before the slots came from event-layout.ts (the rows from 25 on by the
// hand-written slots of the orders branch, which brought triggered orders): one row an event.
const golden = [
  [0, 1, 1, 7, 1, 0, 0, 101, 5, 0, 0, 0],
  [6, 2, 1, 101, 5, 0, 0, 0, 0, 0, 0, 0],
  [0, 3, 2, 7, 1, 0, 0, 100, 3, 0, 0, 0],
  [6, 4, 1, 100, 3, 0, 0, 0, 0, 0, 0, 0],
  [0, 5, 3, 8, 0, 0, 1, 101, 9, 0, 0, 0],
  [1, 6, 1, 3, 8, 2, 7, 0, 100, 3, 6, 0],
  [1, 7, 2, 3, 8, 1, 7, 0, 101, 5, 1, 0],
  [3, 8, 3, 8, 1, 0, 0, 0, 0, 0, 0, 0],
  [6, 9, 1, 100, 0, 0, 0, 0, 0, 0, 0, 0],
  [6, 10, 1, 101, 0, 0, 0, 0, 0, 0, 0, 0],
  [0, 11, 4, 9, 0, 2, 0, 102, 1, 0, 0, 0],
  [6, 12, 0, 102, 1, 0, 0, 0, 0, 0, 0, 0],
  [5, 13, 4, 9, 103, 2, 0, 0, 0, 0, 0, 0],
  [6, 14, 0, 102, 0, 0, 0, 0, 0, 0, 0, 0],
  [6, 15, 0, 103, 2, 0, 0, 0, 0, 0, 0, 0],
  [5, 16, 4, 9, 103, 1, 1, 0, 0, 0, 0, 0],
  [6, 17, 0, 103, 1, 0, 0, 0, 0, 0, 0, 0],
  [0, 18, 5, 9, 0, 1, 1, 0, 0, 2550, 0, 0],
  [3, 19, 5, 9, 0, 2550, 3, 0, 0, 0, 0, 0],
  [0, 20, 6, 9, 0, 0, 0, 90, 2, 0, 0, 0],
  [6, 21, 0, 90, 2, 0, 0, 0, 0, 0, 0, 0],
  [2, 22, 6, 9, 2, 0, 0, 0, 0, 0, 0, 0],
  [6, 23, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0],
  [4, 24, 6, 9, 1, 0, 0, 0, 0, 0, 0, 0],
  [0, 25, 7, 7, 1, 3, 1, 0, 1, 0, 100, 0],
  [0, 26, 8, 9, 0, 0, 0, 100, 2, 0, 0, 0],
  [6, 27, 0, 100, 2, 0, 0, 0, 0, 0, 0, 0],
  [0, 28, 9, 8, 1, 1, 1, 0, 2, 0, 0, 0],
  [1, 29, 3, 9, 8, 4, 9, 1, 103, 1, 1, 0],
  [1, 30, 4, 9, 8, 8, 9, 1, 100, 1, 0, 1],
  [6, 31, 0, 103, 0, 0, 0, 0, 0, 0, 0, 0],
  [6, 32, 0, 100, 1, 0, 0, 0, 0, 0, 0, 0],
  [7, 33, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0],
  [1, 34, 5, 7, 7, 8, 9, 1, 100, 1, 0, 0],
  [6, 35, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
];

/** A field's value, or a sequence number. */
const value = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

/** Any event of any type, its fields' values drawn at random. */
const anyEvent = fc
  .record({
    type: fc.constantFrom(...(Object.keys(EVENT_FIELDS).map(Number) as EventType[])),
    seq: value,
    // Zero now and then: an optional field's absence.
    values: fc.array(fc.oneof(value, fc.constant(0)), {
      minLength: EVENT_STRIDE,
      maxLength: EVENT_STRIDE,
    }),
  })
  .map(({ type, seq, values }) => {
    const fields = EVENT_FIELDS[type] as readonly string[];
    const entries = fields
      .map((f, i) => [f, FLAG_FIELDS.has(f) ? values[i]! % 2 === 1 : values[i]] as const)
      .filter(([f, v]) => !(OPTIONAL_FIELDS.has(f) && v === 0));
    return { type, seq, ...Object.fromEntries(entries) } as MatchingEvent;
  });

describe("the event layout", () => {
  it("keeps the engine's bytes of every event type as they were before the layout table", () => {
    const engine = engineWithEveryEventType();
    const bytes = engine.events.toBytes();
    expect(bytes).toEqual(new Uint8Array(new Float64Array(golden.flat()).buffer));
    expect(new Set(golden.map((row) => row[0]))).toEqual(new Set(Object.keys(EVENT_FIELDS).map(Number)));
  });

  it("decodes what is written through its slots, for any event of any type", () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), (events) => {
        const slots = new Float64Array(events.length * EVENT_STRIDE);
        events.forEach((e, i) => {
          const o = i * EVENT_STRIDE;
          slots[o + TYPE_SLOT] = e.type;
          slots[o + SEQ_SLOT] = e.seq;
          const fields = EVENT_FIELDS[e.type] as readonly string[];
          const record = e as unknown as Record<string, number | boolean>;
          fields.forEach((f, j) => {
            slots[o + 2 + j] = Number(record[f] ?? 0);
          });
        });
        expect(decodeEventBytes(new Uint8Array(slots.buffer))).toEqual(events);
      }),
    );
  });

  it("refuses a record of no known type", () => {
    const slots = new Float64Array(EVENT_STRIDE);
    slots[TYPE_SLOT] = Object.keys(EVENT_FIELDS).length;
    expect(() => decodeEventBytes(new Uint8Array(slots.buffer))).toThrow(/unknown event type 8/);
  });
});
