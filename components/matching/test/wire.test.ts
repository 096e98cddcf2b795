import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../src/engine.ts";
import { EventBuffer } from "../src/events.ts";
import { CommandType, OrderType, SelfTradePrevention, Side, TimeInForce } from "../src/protocol.ts";
import {
  decodeCommandMessage,
  decodeHandover,
  decodeOutcome,
  encodeCommandMessage,
  encodeHandover,
  encodeOutcome,
  MatchingMessage,
  messageType,
} from "../src/wire.ts";

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

/** A message as it may arrive: at an odd offset inside a larger buffer. */
function unaligned(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + 3);
  out.set(message, 3);
  return out.subarray(3);
}

describe("UBSCore <-> matching messages", () => {
  it("round-trip commands, outcomes and handovers exactly, aligned or not", () => {
    fc.assert(
      fc.property(id, id, id, id, fc.integer({ min: 0, max: 5 }), (marketId, seq, orderId, userId, books) => {
        const command = {
          type: CommandType.Place,
          orderId,
          userId,
          side: Side.Sell,
          orderType: OrderType.Limit,
          tif: TimeInForce.GTC,
          priceTicks: seq,
          qtyLots: orderId,
          quoteUnits: 0,
          stp: SelfTradePrevention.ExpireBoth,
        } as const;
        const c = unaligned(encodeCommandMessage({ marketId, seq, command }));
        expect(messageType(c)).toBe(MatchingMessage.Command);
        expect(decodeCommandMessage(c)).toEqual({ marketId, seq, command });

        const engine = new MatchingEngine({ quotePerTickLot: 1 });
        engine.execute(command);
        const o = decodeOutcome(
          unaligned(encodeOutcome(marketId, seq, engine.events.data, engine.events.count)),
        );
        expect(o.marketId).toBe(marketId);
        expect(o.seq).toBe(seq);
        expect(o.events).toEqual(engine.events.toBytes());

        const handover = Array.from({ length: books }, (_, i) => ({
          marketId: i + 1,
          matched: seq - 1,
          quotePerTickLot: orderId,
          snapshot: engine.snapshot(),
        }));
        expect(decodeHandover(unaligned(encodeHandover(handover)))).toEqual(handover);
      }),
    );
  });

  it("refuses what is not a whole message", () => {
    const outcome = encodeOutcome(1, 1, new EventBuffer().data, 1);
    expect(() => decodeOutcome(outcome.subarray(0, outcome.length - 8))).toThrow();
    expect(() => decodeCommandMessage(new Uint8Array(12))).toThrow();
    const handover = encodeHandover([
      { marketId: 1, matched: 0, quotePerTickLot: 1, snapshot: new Uint8Array(64) },
    ]);
    expect(() => decodeHandover(handover.subarray(0, 40))).toThrow();
    const negative = new Float64Array(new Uint8Array(handover).buffer);
    negative[5] = -1; // the book's slot count
    expect(() => decodeHandover(new Uint8Array(negative.buffer))).toThrow();
  });
});
