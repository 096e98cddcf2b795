import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Side, stringifyExact } from "../../domain/src/index.ts";
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

  it("writes the bytes it wrote before its layouts became tables", () => {
    const big = (1n << 100n) + 0x0102030405060708n;
    const encoded = encodeHistory({
      orders: [
        {
          orderId: 31,
          userId: 32,
          marketId: 33,
          clientOrderId: "web-34",
          side: 1,
          type: 2,
          tif: 1,
          priceTicks: 35,
          origQtyLots: 36,
          executedLots: 37,
          cumQuote: big,
          status: "PARTIALLY_FILLED",
          time: 38,
          updateTime: 39,
          quoteOrderUnits: 40n,
          stp: 3,
        },
      ],
      trades: [
        {
          tradeId: 41,
          marketId: 42,
          priceTicks: 43,
          qtyLots: 44,
          quoteUnits: big,
          time: 45,
          buyerOrderId: 46,
          sellerOrderId: 47,
          buyerUserId: 48,
          sellerUserId: 49,
          takerSide: 1,
          buyerFee: 50n,
          sellerFee: 51n,
        },
      ],
    });
    expect(encoded.toString("hex")).toBe(
      "020000000100000001000000000000000000000000003f40010102010301060020000000210000000000000000804140" +
        "000000000000424000000000008042400000000000004340000000000080434008070605040302010000000010000000" +
        "280000000000000000000000000000007765622d33340000000000000000000000000000000000000000000000000000" +
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000010100002a000000" +
        "300000003100000000000000008044400000000000804540000000000000464000000000008046400000000000004740" +
        "000000000080474008070605040302010000000010000000320000000000000000000000000000003300000000000000" +
        "000000000000000000000000000000000000000000000000",
    );
  });
});
