import { beforeEach, describe, expect, it } from "vitest";
import { InvariantViolation } from "../../domain/src/errors.ts";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/exchange.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/protocol.ts";
import { UbsCore } from "../src/core.ts";
import type { PlaceOrder } from "../src/types.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const BTC = exchange.asset("BTC")!.id;
const USDT = exchange.asset("USDT")!.id;
let core: UbsCore;

const order = (
  o: Partial<PlaceOrder> & Pick<PlaceOrder, "userId" | "side" | "clientOrderId">,
): PlaceOrder => ({
  kind: "place",
  symbol: "BTCUSDT",
  type: OrderType.Limit,
  tif: TimeInForce.GTC,
  priceTicks: 0,
  qtyLots: 0,
  quoteUnits: 0n,
  stp: 0,
  time: 1000,
  ...o,
});
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
});
