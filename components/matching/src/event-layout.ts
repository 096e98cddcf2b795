import { EventType, type MatchingEvent } from "./protocol.ts";

/**
 * The one definition of the engine's binary event record: float64 slots, slot 0 the type, slot 1
 * the sequence number, then each type's fields in the order listed here. The engine writes
 * through the slot numbers derived below and `decodeEvent` reads through the same list, so the
 * two cannot disagree. Appending a field to a type keeps every record written before readable;
 * reordering them changes the stream's bytes (the golden test in event-layout.test.ts says so).
 */
export const TYPE_SLOT = 0;
export const SEQ_SLOT = 1;
const FIRST_FIELD_SLOT = 2;

type EventOf<T extends EventType> = Extract<MatchingEvent, { type: T }>;
type FieldOf<T extends EventType> = Exclude<keyof EventOf<T>, "type" | "seq">;

export const EVENT_FIELDS = {
  [EventType.Accepted]: [
    "orderId",
    "userId",
    "side",
    "orderType",
    "tif",
    "priceTicks",
    "qtyLots",
    "quoteUnits",
    "stopPriceTicks",
  ],
  [EventType.Trade]: [
    "tradeId",
    "takerOrderId",
    "takerUserId",
    "makerOrderId",
    "makerUserId",
    "takerSide",
    "priceTicks",
    "qtyLots",
    "takerRemainingLots",
    "makerRemainingLots",
  ],
  [EventType.Cancelled]: ["orderId", "userId", "remainingLots", "reason"],
  [EventType.Expired]: ["orderId", "userId", "remainingLots", "remainingQuoteUnits", "reason"],
  [EventType.Rejected]: ["orderId", "userId", "reason"],
  [EventType.Amended]: ["orderId", "userId", "priceTicks", "qtyLots", "keptPriority"],
  [EventType.BookLevel]: ["side", "priceTicks", "totalLots"],
  [EventType.Triggered]: ["orderId", "userId"],
} as const satisfies { readonly [T in EventType]: readonly FieldOf<T>[] };

/** Fields held as 1 or 0 in their slot and read back as booleans. */
export const FLAG_FIELDS: ReadonlySet<string> = new Set(["keptPriority"]);

/** Optional fields: 0 in their slot when absent (a record written before they existed too), left out. */
export const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(["stopPriceTicks"]);

/** Slots per record: the header and the longest type's fields. */
export const EVENT_STRIDE =
  FIRST_FIELD_SLOT + Math.max(...Object.values(EVENT_FIELDS).map((fields) => fields.length));

type Slots<F extends readonly string[]> = { readonly [K in F[number]]: number };

function slotsOf<F extends readonly string[]>(fields: F): Slots<F> {
  return Object.freeze(Object.fromEntries(fields.map((f, i) => [f, FIRST_FIELD_SLOT + i]))) as Slots<F>;
}

/** Each type's slot numbers by field name, for the engine's writes. */
export const ACCEPTED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Accepted]);
export const TRADE_SLOTS = slotsOf(EVENT_FIELDS[EventType.Trade]);
export const CANCELLED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Cancelled]);
export const EXPIRED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Expired]);
export const REJECTED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Rejected]);
export const AMENDED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Amended]);
export const BOOK_LEVEL_SLOTS = slotsOf(EVENT_FIELDS[EventType.BookLevel]);
export const TRIGGERED_SLOTS = slotsOf(EVENT_FIELDS[EventType.Triggered]);

/** The event whose record starts at slot `o` of `d`. */
export function decodeEvent(d: Float64Array, o: number): MatchingEvent {
  const type = d[o + TYPE_SLOT]!;
  const fields: readonly string[] | undefined = EVENT_FIELDS[type as EventType];
  if (fields === undefined) throw new Error(`unknown event type ${type} at slot ${o}`);
  const event: Record<string, number | boolean> = { type, seq: d[o + SEQ_SLOT]! };
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = d[o + FIRST_FIELD_SLOT + i]!;
    if (value === 0 && OPTIONAL_FIELDS.has(field)) continue;
    event[field] = FLAG_FIELDS.has(field) ? value === 1 : value;
  }
  return event as unknown as MatchingEvent;
}
