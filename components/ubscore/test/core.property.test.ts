import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import type { UbsCore } from "../src/core.ts";
import type { OrderRecord, UbsCommand } from "../src/types.ts";
import { commandArb, expectFrozenIsReserved, fundedCore, MoneyBook, USERS } from "./arbitraries.ts";

let tradesSeen = 0;
/** OCOs placed, and those whose contingency the market resolved (a leg traded or triggered). */
let listsPlaced = 0;
let listsResolved = 0;
let otosActivated = 0;
let otosUnfunded = 0;

/** Counts the OCOs a run placed, and those a leg's trade or trigger resolved. */
function countLists(core: UbsCore): void {
  for (const userId of USERS) {
    for (const list of core.orderLists(userId)) {
      listsPlaced++;
      const legs = list.orderIds.map((id) => core.order(id)!);
      if (legs.some((o) => o.executedLots > 0 || o.workingTime !== undefined)) listsResolved++;
      if (list.contingencyType === "OTO") countOto(legs);
    }
  }
}

/** An OTO's pending orders go to the book, or are refused for want of funds, once it fills. */
function countOto([working, ...pending]: OrderRecord[]): void {
  if (pending.some((o) => o.placedTime !== undefined)) otosActivated++;
  if (working!.status === "FILLED" && pending[0]!.status === "REJECTED") otosUnfunded++;
}

/** The users' balances, as text to compare before and after. */
const balancesText = (core: UbsCore) =>
  JSON.stringify(
    USERS.map((u) => core.balancesOf(u)),
    (_, v) => (typeof v === "bigint" ? `${v}` : v),
  );

/** Commands a funded core refuses: each for another reason (see the codes the test expects). */
const badCommands: UbsCommand[] = [
  { kind: "debit", userId: 1, asset: "BTC", amount: 6n * 10n ** 8n },
  { kind: "credit", userId: 99, asset: "BTC", amount: 1n },
  { kind: "credit", userId: 1, asset: "DOGE", amount: 1n },
  {
    kind: "place",
    userId: 1,
    symbol: "BTCUSDT",
    clientOrderId: "x",
    side: Side.Buy,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    // 1.00001 BTC at 100,000.00: one lot's worth more than the user's 100,000 USDT.
    priceTicks: 10_000_000,
    qtyLots: 100_001,
    quoteUnits: 0n,
    stp: 0,
    time: 1,
  },
  {
    kind: "place",
    userId: 1,
    symbol: "BTCUSDT",
    clientOrderId: "y",
    side: Side.Buy,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 100,
    qtyLots: 1,
    quoteUnits: 0n,
    stp: 0,
    time: 1,
  },
  {
    kind: "place",
    userId: 1,
    symbol: "XYZ",
    clientOrderId: "z",
    side: 0,
    type: 0,
    tif: 0,
    priceTicks: 1,
    qtyLots: 1,
    quoteUnits: 0n,
    stp: 0,
    time: 1,
  },
];

describe("UbsCore money invariants", () => {
  it("conserves every asset, never goes negative, and freezes exactly the open orders' reservations", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 120, size: "max" }), (commands) => {
        const { core, credited } = fundedCore();
        const money = new MoneyBook(credited);
        for (const cmd of commands) money.applyChecked(core, cmd);
        tradesSeen += core.tradesOf(1).length + core.tradesOf(2).length;
        countLists(core);
        expectFrozenIsReserved(core);
      }),
      { numRuns: 200 },
    );
    // The streams must actually trade, or the invariants above would hold vacuously.
    expect(tradesSeen).toBeGreaterThan(200);
    expect(listsPlaced).toBeGreaterThan(100);
    expect(listsResolved).toBeGreaterThan(20);
    expect(otosActivated).toBeGreaterThan(10);
    expect(otosUnfunded).toBeGreaterThan(0);
  });

  it("keeps them with every closed order forgotten at once (retention 0)", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 120, size: "max" }), (commands) => {
        const { core, credited } = fundedCore("local", { closedOrders: 0, tradesPerMarket: 5 });
        const money = new MoneyBook(credited);
        for (const cmd of commands) money.applyChecked(core, cmd);
        expectFrozenIsReserved(core);
      }),
      { numRuns: 100 },
    );
  });

  it("a rejected command changes nothing", () => {
    const { core } = fundedCore();
    const before = balancesText(core);
    const codes = badCommands.map((cmd) => {
      try {
        core.apply(cmd);
        return "accepted";
      } catch (e) {
        return isBourseError(e) ? e.code : "thrown";
      }
    });
    expect(codes).toEqual([
      "INSUFFICIENT_BALANCE",
      "UNKNOWN_USER",
      "UNKNOWN_ASSET",
      "INSUFFICIENT_BALANCE",
      "BELOW_MIN_NOTIONAL",
      "UNKNOWN_MARKET",
    ]);
    expect(balancesText(core)).toBe(before);
  });
});
