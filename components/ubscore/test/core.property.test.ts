import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/errors.ts";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/exchange.ts";
import { OrderType, SelfTradePrevention, Side, TimeInForce } from "../../matching/src/protocol.ts";
import { UbsCore } from "../src/core.ts";
import type { UbsCommand } from "../src/types.ts";

const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
const USERS = [1, 2, 3];
let tradesSeen = 0;

/** Orders around 100.00 USDT for 0.04-0.2 BTC (4-20 USDT): minNotional (5 USDT) passes mostly, not always. */
const commandArb: fc.Arbitrary<UbsCommand> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("credit" as const, "debit" as const),
      userId: fc.constantFrom(...USERS),
      asset: fc.constantFrom("BTC", "USDT", "ETH"),
      amount: fc.bigInt({ min: 1n, max: 10n ** 11n }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        userId: fc.constantFrom(...USERS),
        clientOrderId: fc.constantFrom("a", "b", "c", "d", "e", "f"),
        side: fc.constantFrom(Side.Buy, Side.Sell),
        type: fc.constantFrom(OrderType.Limit, OrderType.Limit, OrderType.Market, OrderType.LimitMaker),
        tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
        priceTicks: fc.integer({ min: 9_990, max: 10_010 }),
        qtyLots: fc.integer({ min: 4_000, max: 20_000 }),
        byQuote: fc.boolean(),
        quote: fc.bigInt({ min: 100_000_000n, max: 5_000_000_000n }),
        stp: fc.constantFrom(
          SelfTradePrevention.None,
          SelfTradePrevention.ExpireMaker,
          SelfTradePrevention.ExpireBoth,
        ),
        symbol: fc.constantFrom("BTCUSDT", "BTCUSDT", "ETHUSDT"),
      })
      .map((o): UbsCommand => {
        const market = o.type === OrderType.Market;
        return {
          kind: "place",
          userId: o.userId,
          symbol: o.symbol,
          clientOrderId: o.clientOrderId,
          side: o.side,
          type: o.type,
          tif: market ? TimeInForce.IOC : o.type === OrderType.LimitMaker ? TimeInForce.GTC : o.tif,
          priceTicks: market ? 0 : o.priceTicks,
          qtyLots: market && o.byQuote ? 0 : o.qtyLots,
          quoteUnits: market && o.byQuote ? o.quote : 0n,
          stp: o.stp,
          time: 1,
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("holdWithdrawal" as const),
      withdrawalId: fc.constantFrom("w1", "w2", "w3"),
      userId: fc.constantFrom(...USERS),
      asset: fc.constantFrom("BTC", "USDT"),
      amount: fc.bigInt({ min: 1n, max: 10n ** 10n }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("completeWithdrawal" as const, "cancelWithdrawal" as const),
      withdrawalId: fc.constantFrom("w1", "w2", "w3"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("cancel" as const),
      userId: fc.constantFrom(...USERS),
      symbol: fc.constant("BTCUSDT"),
      clientOrderId: fc.constantFrom("a", "b", "c", "d", "e", "f"),
      time: fc.constant(2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("cancelAll" as const),
      userId: fc.constantFrom(...USERS),
      symbol: fc.constantFrom("BTCUSDT", "ETHUSDT"),
      time: fc.constant(3),
    }),
  },
);

function fundedCore(): { core: UbsCore; credited: Map<number, bigint> } {
  const core = new UbsCore(exchange);
  const credited = new Map<number, bigint>(exchange.assets.map((a) => [a.id, 0n]));
  for (const userId of USERS) {
    core.apply({ kind: "createUser", userId });
    for (const [asset, amount] of [
      ["BTC", 5n * 10n ** 8n],
      ["ETH", 50n * 10n ** 8n],
      ["USDT", 100_000n * 10n ** 8n],
    ] as const) {
      core.apply({ kind: "credit", userId, asset, amount });
      const id = exchange.asset(asset)!.id;
      credited.set(id, credited.get(id)! + amount);
    }
  }
  return { core, credited };
}

describe("UbsCore money invariants", () => {
  it("conserves every asset, never goes negative, and freezes exactly the open orders' reservations", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 120, size: "max" }), (commands) => {
        const { core, credited } = fundedCore();
        const completed = new Set<string>();
        for (const cmd of commands) {
          try {
            core.apply(cmd);
            if (cmd.kind === "credit" || cmd.kind === "debit") {
              const id = exchange.asset(cmd.asset)!.id;
              credited.set(id, credited.get(id)! + (cmd.kind === "credit" ? cmd.amount : -cmd.amount));
            }
            // Money leaves only when a held withdrawal completes (once: repeats are no-ops).
            if (cmd.kind === "completeWithdrawal" && !completed.has(cmd.withdrawalId)) {
              const w = core.withdrawal(cmd.withdrawalId)!;
              completed.add(cmd.withdrawalId);
              credited.set(w.assetId, credited.get(w.assetId)! - w.amount);
            }
          } catch (e) {
            if (!isBourseError(e) || e.code === "INTERNAL") throw e;
          }
          for (const asset of exchange.assets) {
            expect(core.totalOf(asset.id)).toBe(credited.get(asset.id));
          }
        }
        tradesSeen += core.tradesOf(1).length + core.tradesOf(2).length;
        for (const userId of USERS) {
          const reserved = exchange.assets.map(() => 0n);
          for (const o of core.openOrders(userId)) reserved[o.reserveAsset - 1]! += o.reserved;
          for (const w of core.heldWithdrawals(userId)) reserved[w.assetId - 1]! += w.amount;
          core.balancesOf(userId).forEach((b, i) => {
            expect(b.available).toBeGreaterThanOrEqual(0n);
            expect(b.frozen).toBe(reserved[i]);
          });
        }
      }),
      { numRuns: 200 },
    );
    // The streams must actually trade, or the invariants above would hold vacuously.
    expect(tradesSeen).toBeGreaterThan(200);
  });

  it("a rejected command changes nothing", () => {
    const { core } = fundedCore();
    const before = JSON.stringify(
      USERS.map((u) => core.balancesOf(u)),
      (_, v) => (typeof v === "bigint" ? `${v}` : v),
    );
    const bad: UbsCommand[] = [
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
        priceTicks: 10_000_000,
        qtyLots: 100_000,
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
    const codes = bad.map((cmd) => {
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
    expect(
      JSON.stringify(
        USERS.map((u) => core.balancesOf(u)),
        (_, v) => (typeof v === "bigint" ? `${v}` : v),
      ),
    ).toBe(before);
  });
});
