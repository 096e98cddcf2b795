import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { EventType, MatchingEngine, OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { applyJournaled, type CommandResult, UbsCore } from "../src/core.ts";
import type { AmendOrder, PlaceOrder, UbsCommand } from "../src/types.ts";
import { commandArb, fundedCore } from "./arbitraries.ts";

/**
 * Order amend keep priority (Binance `PUT /api/v3/order/amend/keepPriority`) in UBSCore: the
 * order shrinks where it stands, releases exactly what it no longer needs, takes its new client
 * order id; every refusal changes nothing. BTCUSDT: tick 0.01 USDT, lot 0.00001 BTC.
 */
const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const BTC = exchange.asset("BTC")!.id;
const USDT = exchange.asset("USDT")!.id;
const USDT_UNIT = 100_000_000n;
const BTC_LOTS = 100_000; // lots in 1 BTC
let core: UbsCore;

const place = (o: Partial<PlaceOrder> & Pick<PlaceOrder, "userId" | "side" | "clientOrderId">) =>
  core.apply({
    kind: "place",
    symbol: "BTCUSDT",
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 6_000_000, // 60,000.00
    qtyLots: BTC_LOTS,
    quoteUnits: 0n,
    stp: 0,
    time: 1000,
    ...o,
  }).order!;
const amend = (o: Partial<AmendOrder> & Pick<AmendOrder, "newQtyLots">): CommandResult =>
  core.apply({ kind: "amend", userId: 1, symbol: "BTCUSDT", newClientOrderId: "renamed", time: 2000, ...o });
const balance = (userId: number, asset: number) => core.balancesOf(userId)[asset - 1]!;

beforeEach(() => {
  core = new UbsCore(exchange);
  for (const userId of [1, 2]) core.apply({ kind: "createUser", userId });
  core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 100_000n * USDT_UNIT });
  core.apply({ kind: "credit", userId: 1, asset: "BTC", amount: 2n * 100_000_000n });
  core.apply({ kind: "credit", userId: 2, asset: "BTC", amount: 2n * 100_000_000n });
});

describe("amend keep priority", () => {
  it("a partly filled buy keeps frozen exactly what its new remainder needs, price improvement released", () => {
    place({ userId: 2, side: Side.Sell, clientOrderId: "s", priceTicks: 5_900_000, qtyLots: 10_000 });
    // Buys 0.5 at 60,000: takes 0.1 at 59,000 (5,900 USDT) and rests 0.4 with 24,100 USDT frozen.
    const buy = place({ userId: 1, side: Side.Buy, clientOrderId: "b", qtyLots: 50_000 });
    expect(buy.executedLots).toBe(10_000);
    expect(balance(1, USDT).frozen).toBe(24_100n * USDT_UNIT);
    const available = balance(1, USDT).available;
    // To 0.3 in all: 0.2 still to buy, 12,000 USDT needed; 12,100 USDT released.
    const result = amend({ orderId: buy.orderId, newQtyLots: 30_000 });
    expect(result.events.map((e) => e.type)).toEqual([EventType.Amended, EventType.BookLevel]);
    expect(balance(1, USDT).frozen).toBe(12_000n * USDT_UNIT);
    expect(balance(1, USDT).available - available).toBe(12_100n * USDT_UNIT);
    expect(result.order).toMatchObject({
      orderId: buy.orderId,
      clientOrderId: "renamed",
      origQtyLots: 30_000,
      executedLots: 10_000,
      status: "PARTIALLY_FILLED",
      updateTime: 2000,
    });
    expect(core.orderByClientId(1, "renamed")?.orderId).toBe(buy.orderId);
    expect(core.openOrders(1).map((o) => o.clientOrderId)).toEqual(["renamed"]);
    core.checkInvariants();
  });

  it("a sell releases the base it no longer offers and keeps its place in the queue", () => {
    const first = place({ userId: 1, side: Side.Sell, clientOrderId: "first" });
    place({ userId: 2, side: Side.Sell, clientOrderId: "second" });
    amend({ orderId: first.orderId, newQtyLots: 25_000, newClientOrderId: "first" });
    expect(balance(1, BTC)).toEqual({ available: 175_000_000n, frozen: 25_000_000n });
    expect(core.order(first.orderId)!.clientOrderId).toBe("first");
    // A buy of 0.3 fills the amended order first (0.25), then 0.05 of the one behind it.
    const buy = place({ userId: 1, side: Side.Buy, clientOrderId: "taker", qtyLots: 30_000 });
    expect(buy.fills.map((f) => f.qtyLots)).toEqual([25_000, 5_000]);
    expect(core.order(first.orderId)!.status).toBe("FILLED");
    expect(balance(1, BTC).frozen).toBe(0n);
    core.checkInvariants();
  });

  it("refuses, changing nothing, what Binance refuses", () => {
    const open = place({ userId: 1, side: Side.Sell, clientOrderId: "open", qtyLots: 50_000 });
    place({ userId: 1, side: Side.Sell, clientOrderId: "other", priceTicks: 6_100_000 });
    place({ userId: 1, side: Side.Buy, clientOrderId: "taker", qtyLots: 20_000 }); // fills 0.2 of "open"
    const closed = place({ userId: 2, side: Side.Sell, clientOrderId: "gone", priceTicks: 7_000_000 });
    core.apply({ kind: "cancel", userId: 2, symbol: "BTCUSDT", orderId: closed.orderId, time: 1500 });
    const before = Buffer.from(core.snapshot()).toString();
    const refusals: [Partial<AmendOrder> & Pick<AmendOrder, "newQtyLots">, string][] = [
      [{ orderId: open.orderId, newQtyLots: 50_000 }, "AMEND_REJECTED"], // no change
      [{ orderId: open.orderId, newQtyLots: 60_000 }, "AMEND_REJECTED"], // an increase
      [{ orderId: open.orderId, newQtyLots: 20_000 }, "AMEND_REJECTED"], // = executed: nothing left
      [{ orderId: open.orderId, newQtyLots: 0 }, "INVALID_ARGUMENT"],
      [{ orderId: open.orderId, newQtyLots: 1.5 }, "INVALID_ARGUMENT"],
      [{ orderId: open.orderId, newQtyLots: 30_000, newClientOrderId: "other" }, "AMEND_REJECTED"],
      [{ orderId: open.orderId, newQtyLots: 30_000, userId: 2 }, "UNKNOWN_ORDER"], // not theirs
      [{ orderId: open.orderId, newQtyLots: 30_000, symbol: "ETHUSDT" }, "UNKNOWN_ORDER"],
      [{ orderId: closed.orderId, newQtyLots: 1, userId: 2 }, "UNKNOWN_ORDER"],
      [{ clientOrderId: "nope", newQtyLots: 1 }, "UNKNOWN_ORDER"],
      [{ newQtyLots: 1 }, "INVALID_ARGUMENT"], // neither orderId nor origClientOrderId
      [{ orderId: open.orderId, newQtyLots: 30_000, symbol: "XYZ" }, "UNKNOWN_MARKET"],
    ];
    for (const [cmd, code] of refusals) {
      expect(() => amend(cmd), JSON.stringify(cmd)).toThrow(expect.objectContaining({ code }));
      expect(Buffer.from(core.snapshot()).toString()).toBe(before);
    }
  });

  it("is in the snapshot: a restored core holds the amended order and its reservation", () => {
    const sell = place({ userId: 1, side: Side.Sell, clientOrderId: "s" });
    amend({ clientOrderId: "s", newQtyLots: 40_000 });
    const restored = UbsCore.restore(exchange, core.snapshot());
    restored.checkInvariants();
    expect(restored.order(sell.orderId)).toEqual(core.order(sell.orderId));
    expect(restored.restingOrders(1)).toEqual(core.restingOrders(1));
    expect(restored.balancesOf(1)).toEqual(core.balancesOf(1));
  });
});

describe("amend keep priority with a matching service", () => {
  let engine: MatchingEngine;
  const deliver = (result: CommandResult): CommandResult => {
    const f = result.forwarded!;
    engine.events.clear();
    engine.execute(f.command);
    return core.apply({ kind: "matched", marketId: f.marketId, seq: f.seq, events: engine.events.toBytes() });
  };

  beforeEach(() => {
    const local = core;
    core = UbsCore.restore(exchange, local.snapshot(), undefined, "remote");
    engine = new MatchingEngine({ quotePerTickLot: Number(exchange.market("BTCUSDT")!.quotePerTickLot) });
  });

  it("renames and releases when the outcome comes back; one amend of an order at a time", () => {
    const sell = deliver(core.apply(placeCmd(1, Side.Sell, "s"))).order!;
    const pending = amend({ orderId: sell.orderId, newQtyLots: 60_000 });
    expect(core.order(sell.orderId)).toMatchObject({ clientOrderId: "s", origQtyLots: BTC_LOTS });
    expect(() => amend({ orderId: sell.orderId, newQtyLots: 50_000 })).toThrow(
      expect.objectContaining({ code: "AMEND_REJECTED" }),
    );
    const done = deliver(pending);
    expect(done.error).toBeUndefined();
    expect(done.order).toMatchObject({ clientOrderId: "renamed", origQtyLots: 60_000 });
    expect(balance(1, BTC).frozen).toBe(60_000_000n);
    core.checkInvariants();
  });

  it("a reduce overtaken by fills is refused by the book and changes nothing", () => {
    const sell = deliver(core.apply(placeCmd(1, Side.Sell, "s"))).order!;
    core.apply({ kind: "credit", userId: 2, asset: "USDT", amount: 100_000n * USDT_UNIT });
    const buy = core.apply(placeCmd(2, Side.Buy, "b", 70_000));
    // Admitted on what UBSCore knows (nothing filled), then the buy's fills reach the book first.
    const pending = amend({ orderId: sell.orderId, newQtyLots: 40_000 });
    expect(() => deliver(buy)).not.toThrow();
    const before = Buffer.from(core.snapshot()).toString();
    const refused = deliver(pending);
    expect(refused.error?.code).toBe("AMEND_REJECTED");
    expect(core.order(sell.orderId)).toMatchObject({ clientOrderId: "s", origQtyLots: BTC_LOTS });
    // Only the outcome's bookkeeping moved (its sequence); orders and money are as they were.
    const after = Buffer.from(core.snapshot()).toString();
    expect(after.split("\n").slice(1)).toEqual(before.split("\n").slice(1));
    core.checkInvariants();
  });
});

describe("amend keep priority under random streams", () => {
  it("every refused amend changes nothing, and done ones keep money exact", () => {
    let done = 0;
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 150, size: "max" }), (commands) => {
        const { core: c } = fundedCore();
        for (const cmd of commands) if (amendChecked(c, cmd)) done++;
      }),
      { numRuns: 150 },
    );
    // The streams must amend for real, or the property would hold vacuously.
    expect(done).toBeGreaterThan(10);
  });
});

/** Applies `cmd` as replay does; an amend refused must have changed nothing. True: an amend done. */
function amendChecked(c: UbsCore, cmd: UbsCommand): boolean {
  const before = cmd.kind === "amend" ? Buffer.from(c.snapshot()).toString() : "";
  const outcome = applyJournaled(c, cmd);
  c.checkInvariants();
  if (cmd.kind !== "amend") return false;
  if (outcome === undefined) expect(Buffer.from(c.snapshot()).toString()).toBe(before);
  return outcome !== undefined;
}

function placeCmd(userId: number, side: Side, clientOrderId: string, qtyLots = BTC_LOTS): PlaceOrder {
  return {
    kind: "place",
    userId,
    symbol: "BTCUSDT",
    clientOrderId,
    side,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 6_000_000,
    qtyLots,
    quoteUnits: 0n,
    stp: 0,
    time: 1000,
  };
}
