import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringifyExact } from "../../domain/src/json.ts";
import { Side } from "../../matching/src/protocol.ts";
import { decodeHistory, encodeHistory, ORDER_STATUSES } from "../src/history-codec.ts";
import type { HistoryBatch, StoredOrder, StoredTrade } from "../src/port.ts";

const u128 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const small = fc.integer({ min: 0, max: 255 });

const order: fc.Arbitrary<StoredOrder> = fc.record({
  orderId: id,
  userId: u32,
  marketId: u32,
  clientOrderId: fc.stringMatching(/^[.A-Z:/a-z0-9_-]{0,36}$/),
  side: small,
  type: small,
  tif: small,
  priceTicks: id,
  origQtyLots: id,
  executedLots: id,
  cumQuote: u128,
  status: fc.constantFrom(...ORDER_STATUSES),
  time: id,
  updateTime: id,
  quoteOrderUnits: u128,
  stp: small,
});

const trade: fc.Arbitrary<StoredTrade> = fc.record({
  tradeId: id,
  marketId: u32,
  priceTicks: id,
  qtyLots: id,
  quoteUnits: u128,
  time: id,
  buyerOrderId: id,
  sellerOrderId: id,
  buyerUserId: u32,
  sellerUserId: u32,
  takerSide: fc.constantFrom(Side.Buy, Side.Sell),
  buyerFee: u128,
  sellerFee: u128,
});

const batch: fc.Arbitrary<HistoryBatch> = fc.record({
  orders: fc.array(order, { maxLength: 40, size: "max" }),
  trades: fc.array(trade, { maxLength: 40, size: "max" }),
});

describe("history codec", () => {
  it("decodes exactly what it encoded, to the last unit of every amount (property)", () => {
    fc.assert(
      fc.property(batch, (b) => {
        expect(decodeHistory(encodeHistory(b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it("decodes a batch inside a larger record, at any offset", () => {
    fc.assert(
      fc.property(batch, fc.nat(64), (b, offset) => {
        const encoded = encodeHistory(b);
        const record = new Uint8Array(offset + encoded.length);
        record.set(encoded, offset);
        expect(decodeHistory(record.subarray(offset))).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });

  it("still reads batches written as JSON by earlier releases", () => {
    fc.assert(
      fc.property(batch, (b) => {
        expect(decodeHistory(Buffer.from(stringifyExact(b)))).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a client order id that does not fit its slot", () => {
    const [o] = fc.sample(order, { numRuns: 1, seed: 1 });
    expect(() => encodeHistory({ orders: [{ ...o!, clientOrderId: "x".repeat(73) }], trades: [] })).toThrow(
      RangeError,
    );
  });
});
