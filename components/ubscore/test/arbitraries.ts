import fc from "fast-check";
import { expect } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition } from "../../domain/src/index.ts";
import { OrderType, SelfTradePrevention, Side, TimeInForce } from "../../matching/src/index.ts";
import {
  applyJournaled,
  type CommandResult,
  type MatchingMode,
  type Retention,
  UbsCore,
} from "../src/core.ts";
import type { UbsCommand } from "../src/types.ts";

/** Random UBSCore command streams, shared by the core's property tests. */
export const exchange = new ExchangeDefinition(DEMO_EXCHANGE);
export const USERS = [1, 2, 3];

/** Orders around 100.00 USDT for 0.04-0.2 BTC (4-20 USDT): minNotional (5 USDT) passes mostly, not always. */
export const commandArb: fc.Arbitrary<UbsCommand> = fc.oneof(
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
    weight: 2,
    // Triggered orders with stops around the traded band: some wait and go off, some are refused.
    arbitrary: fc
      .record({
        userId: fc.constantFrom(...USERS),
        clientOrderId: fc.constantFrom("a", "b", "c", "s", "t"),
        side: fc.constantFrom(Side.Buy, Side.Sell),
        type: fc.constantFrom(
          OrderType.StopLoss,
          OrderType.StopLossLimit,
          OrderType.TakeProfit,
          OrderType.TakeProfitLimit,
        ),
        tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
        priceTicks: fc.integer({ min: 9_990, max: 10_010 }),
        stopPriceTicks: fc.integer({ min: 9_990, max: 10_010 }),
        qtyLots: fc.integer({ min: 4_000, max: 20_000 }),
        symbol: fc.constantFrom("BTCUSDT", "BTCUSDT", "ETHUSDT"),
      })
      .map((o): UbsCommand => {
        const market = o.type === OrderType.StopLoss || o.type === OrderType.TakeProfit;
        return {
          kind: "place",
          userId: o.userId,
          symbol: o.symbol,
          clientOrderId: o.clientOrderId,
          side: o.side,
          type: o.type,
          tif: market ? TimeInForce.IOC : o.tif,
          priceTicks: market ? 0 : o.priceTicks,
          qtyLots: o.qtyLots,
          quoteUnits: 0n,
          stp: 0,
          time: 5,
          stopPriceTicks: o.stopPriceTicks,
        };
      }),
  },
  {
    weight: 2,
    // OCOs around the traded band, of every leg kind on either side: some are refused (kinds or
    // prices in the wrong place, client ids in use), some rest, trigger, fill or expire.
    arbitrary: fc
      .record({
        userId: fc.constantFrom(...USERS),
        listClientOrderId: fc.constantFrom("l1", "l2"),
        side: fc.constantFrom(Side.Buy, Side.Sell),
        profit: fc.constantFrom(OrderType.LimitMaker, OrderType.TakeProfit, OrderType.TakeProfitLimit),
        loss: fc.constantFrom(OrderType.StopLoss, OrderType.StopLossLimit, OrderType.LimitMaker),
        profitId: fc.constantFrom("a", "o", "p"),
        lossId: fc.constantFrom("b", "q", "r"),
        profitPrice: fc.integer({ min: 9_990, max: 10_010 }),
        profitStop: fc.integer({ min: 9_990, max: 10_010 }),
        lossPrice: fc.integer({ min: 9_990, max: 10_010 }),
        lossStop: fc.integer({ min: 9_990, max: 10_010 }),
        tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC),
        qtyLots: fc.integer({ min: 4_000, max: 20_000 }),
        symbol: fc.constantFrom("BTCUSDT", "BTCUSDT", "ETHUSDT"),
      })
      .map((o): UbsCommand => {
        const leg = (type: OrderType, price: number, stop: number) => {
          const market = type === OrderType.StopLoss || type === OrderType.TakeProfit;
          return {
            type,
            tif: market || type === OrderType.LimitMaker ? TimeInForce.GTC : o.tif,
            price: market ? 0 : price,
            stop: type === OrderType.LimitMaker ? 0 : stop,
          };
        };
        const profit = leg(o.profit, o.profitPrice, o.profitStop);
        const loss = leg(o.loss, o.lossPrice, o.lossStop);
        // A SELL takes profit above and stops its loss below; a BUY the other way round.
        const [above, below] = o.side === Side.Sell ? [profit, loss] : [loss, profit];
        const [aboveId, belowId] = o.side === Side.Sell ? [o.profitId, o.lossId] : [o.lossId, o.profitId];
        return {
          kind: "placeOco",
          userId: o.userId,
          symbol: o.symbol,
          listClientOrderId: o.listClientOrderId,
          side: o.side,
          qtyLots: o.qtyLots,
          stp: 0,
          time: 6,
          aboveClientOrderId: aboveId,
          aboveType: above.type,
          aboveTif: above.tif,
          abovePriceTicks: above.price,
          aboveStopPriceTicks: above.stop,
          belowClientOrderId: belowId,
          belowType: below.type,
          belowTif: below.tif,
          belowPriceTicks: below.price,
          belowStopPriceTicks: below.stop,
        };
      }),
  },
  {
    weight: 2,
    // OTOs and OTOCOs around the traded band: a working LIMIT or LIMIT_MAKER order of either
    // side, then one pending order of any type (a BUY-then-SELL often with no base to sell yet)
    // or an OCO pair; some refused, some activated by a fill, some rejected for want of funds then.
    arbitrary: fc
      .record({
        userId: fc.constantFrom(...USERS),
        listClientOrderId: fc.constantFrom("l1", "l3"),
        workingId: fc.constantFrom("w", "a", "x"),
        workingType: fc.constantFrom(OrderType.Limit, OrderType.LimitMaker),
        workingSide: fc.constantFrom(Side.Buy, Side.Sell),
        workingPrice: fc.integer({ min: 9_990, max: 10_010 }),
        workingQty: fc.integer({ min: 4_000, max: 20_000 }),
        pendingSide: fc.constantFrom(Side.Buy, Side.Sell),
        // 0: an OPO (One Pays the Other), the pending SELL of what the working BUY buys.
        pendingQty: fc.oneof(fc.integer({ min: 4_000, max: 400_000 }), fc.constant(0)),
        pendingId: fc.constantFrom("p", "y", "o"),
        pendingType: fc.constantFrom(
          OrderType.Limit,
          OrderType.Market,
          OrderType.LimitMaker,
          OrderType.StopLoss,
          OrderType.TakeProfitLimit,
        ),
        pendingPrice: fc.integer({ min: 9_990, max: 10_010 }),
        pendingStop: fc.integer({ min: 9_990, max: 10_010 }),
        below: fc.option(
          fc.record({
            id: fc.constantFrom("z", "q"),
            type: fc.constantFrom(OrderType.StopLoss, OrderType.StopLossLimit, OrderType.TakeProfit),
            price: fc.integer({ min: 9_990, max: 10_010 }),
            stop: fc.integer({ min: 9_990, max: 10_010 }),
          }),
        ),
        symbol: fc.constantFrom("BTCUSDT", "BTCUSDT", "ETHUSDT"),
      })
      .map((o): UbsCommand => {
        const terms = (type: OrderType, price: number, stop: number) => {
          const market =
            type === OrderType.Market || type === OrderType.StopLoss || type === OrderType.TakeProfit;
          const triggered = type >= OrderType.StopLoss;
          return {
            tif: market ? TimeInForce.IOC : TimeInForce.GTC,
            price: market ? 0 : price,
            stop: triggered ? stop : 0,
          };
        };
        const pending = terms(o.pendingType, o.pendingPrice, o.pendingStop);
        const below = o.below && terms(o.below.type, o.below.price, o.below.stop);
        return {
          kind: "placeOto",
          userId: o.userId,
          symbol: o.symbol,
          listClientOrderId: o.listClientOrderId,
          stp: 0,
          time: 7,
          workingClientOrderId: o.workingId,
          workingType: o.workingType,
          workingSide: o.workingSide,
          workingTif: TimeInForce.GTC,
          workingPriceTicks: o.workingPrice,
          workingQtyLots: o.workingQty,
          pendingSide: o.pendingSide,
          pendingQtyLots: o.pendingQty,
          pendingClientOrderId: o.pendingId,
          pendingType: o.pendingType,
          pendingTif: pending.tif,
          pendingPriceTicks: pending.price,
          pendingStopPriceTicks: pending.stop,
          ...(o.below && below
            ? {
                pendingBelowClientOrderId: o.below.id,
                pendingBelowType: o.below.type,
                pendingBelowTif: below.tif,
                pendingBelowPriceTicks: below.price,
                pendingBelowStopPriceTicks: below.stop,
              }
            : {}),
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
      clientOrderId: fc.constantFrom("a", "b", "c", "d", "e", "f", "o", "q", "w", "p", "z"),
      time: fc.constant(2),
    }),
  },
  {
    weight: 2,
    // Amend keep priority: mostly a real reduction, sometimes up, to the same, or to nothing.
    arbitrary: fc.record({
      kind: fc.constant("amend" as const),
      userId: fc.constantFrom(...USERS),
      symbol: fc.constantFrom("BTCUSDT", "ETHUSDT"),
      clientOrderId: fc.constantFrom("a", "b", "c", "d", "e", "f"),
      newClientOrderId: fc.constantFrom("a", "b", "g", "h"),
      newQtyLots: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
        { weight: 1, arbitrary: fc.constantFrom(0, -5, 1.5, 25_000) },
      ),
      time: fc.constant(4),
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

export function fundedCore(
  matching: MatchingMode = "local",
  retention?: Retention,
): {
  core: UbsCore;
  credited: Map<number, bigint>;
} {
  const core = new UbsCore(exchange, retention, matching);
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

/** What the users were credited minus what left the exchange, per asset: every total must equal it. */
export class MoneyBook {
  private readonly completed = new Set<string>();

  constructor(private readonly credited: Map<number, bigint>) {}

  /** Accounts for a command the core accepted. */
  applied(core: UbsCore, cmd: UbsCommand): void {
    if (cmd.kind === "credit" || cmd.kind === "debit") {
      const id = exchange.asset(cmd.asset)!.id;
      this.add(id, cmd.kind === "credit" ? cmd.amount : -cmd.amount);
    }
    // Money leaves only when a held withdrawal completes (once: repeats are no-ops).
    if (cmd.kind === "completeWithdrawal" && !this.completed.has(cmd.withdrawalId)) {
      const w = core.withdrawal(cmd.withdrawalId)!;
      this.completed.add(cmd.withdrawalId);
      this.add(w.assetId, -w.amount);
    }
  }

  /**
   * One command of a random stream, applied as replay applies it (a refusal changes nothing, a
   * bug throws), then money conserved and every invariant of the core checked.
   */
  applyChecked(core: UbsCore, cmd: UbsCommand): CommandResult | undefined {
    const result = applyJournaled(core, cmd);
    if (result) this.applied(core, cmd);
    this.expectConserved(core);
    core.checkInvariants();
    return result;
  }

  expectConserved(core: UbsCore): void {
    for (const asset of exchange.assets) expect(core.totalOf(asset.id)).toBe(this.credited.get(asset.id));
  }

  private add(assetId: number, amount: bigint): void {
    this.credited.set(assetId, this.credited.get(assetId)! + amount);
  }
}

/** Nothing negative, and each user's frozen funds are exactly their open orders' and withdrawals' holds. */
export function expectFrozenIsReserved(core: UbsCore): void {
  for (const userId of USERS) {
    const reserved = exchange.assets.map(() => 0n);
    for (const o of core.openOrders(userId)) reserved[o.reserveAsset - 1]! += o.reserved;
    // An OCO's one reservation is its list's while both legs are open (theirs are 0 then).
    for (const l of core.orderLists(userId, true)) reserved[l.reserveAsset - 1]! += l.reserved;
    for (const w of core.heldWithdrawals(userId)) reserved[w.assetId - 1]! += w.amount;
    core.balancesOf(userId).forEach((b, i) => {
      expect(b.available).toBeGreaterThanOrEqual(0n);
      expect(b.frozen).toBe(reserved[i]);
    });
  }
}
