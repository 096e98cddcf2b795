import { invariant } from "../../domain/src/index.ts";
import { type CoreState, clientKey, inBook, isDone, isWaiting } from "./state.ts";

/** Adds `amount` of an asset to what a user's open orders, lists and withdrawals reserve. */
type Reserve = (userId: number, assetId: number, amount: bigint) => void;

/**
 * The money rules, each checked whole; throws an InvariantViolation at the first break:
 * - per asset, every balance (available + frozen) plus the fee account equals the net inflow;
 * - no balance is negative, and what a user has frozen in an asset is exactly what their open
 *   orders reserve in it plus their held withdrawals;
 * - every open order is indexed, and (local matching) the books hold exactly the open orders.
 * O(users x assets + open orders): for the suites and `verify` mode.
 */
export function checkInvariants(s: CoreState): void {
  for (const a of s.exchange.assets) {
    const total = totalOf(s, a.id);
    const inflow = s.netInflow[a.id - 1]!;
    invariant(total === inflow, () => `${a.symbol}: balances and fees hold ${total}, net inflow ${inflow}`);
  }
  const reserved = new Map<number, bigint[]>();
  const reserve: Reserve = (userId, assetId, amount) => {
    const r = reserved.get(userId) ?? s.exchange.assets.map(() => 0n);
    r[assetId - 1]! += amount;
    reserved.set(userId, r);
  };
  checkOpenOrders(s, reserve);
  for (const l of s.lists.values()) {
    invariant(
      l.reserved >= 0n && (l.reserved === 0n || l.listOrderStatus === "EXECUTING"),
      () => `order list ${l.orderListId}: reserves ${l.reserved} while ${l.listOrderStatus}`,
    );
    reserve(l.userId, l.reserveAsset, l.reserved);
  }
  for (const w of s.withdrawals.values()) if (w.status === "HELD") reserve(w.userId, w.assetId, w.amount);
  for (const [userId, bs] of s.balances) {
    bs.forEach((b, i) => {
      const want = reserved.get(userId)?.[i] ?? 0n;
      invariant(b.available >= 0n, () => `user ${userId} asset ${i + 1}: available ${b.available}`);
      invariant(
        b.frozen === want,
        () => `user ${userId} asset ${i + 1}: frozen ${b.frozen}, reserved ${want}`,
      );
    });
  }
  for (const engine of s.engines) engine?.checkInvariants();
}

function checkOpenOrders(s: CoreState, reserve: Reserve): void {
  const openPerMarket: number[] = [];
  for (const [userId, ids] of s.openByUser) {
    for (const id of ids) {
      const o = s.orders.get(id);
      invariant(
        o !== undefined && !isDone(o) && o.userId === userId,
        () => `open order ${id}: missing or closed`,
      );
      invariant(o.reserved >= 0n, () => `order ${id}: reserves ${o.reserved}`);
      invariant(
        s.openByClientId.get(clientKey(userId, o.clientOrderId)) === id,
        () => `order ${id}: not indexed by its client order id`,
      );
      reserve(userId, o.reserveAsset, o.reserved);
      if (!inBook(o)) {
        // An OTO's pending order reserves nothing until its working order fills (pending-orders.ts).
        invariant(o.reserved === 0n, () => `pending order ${id} reserves ${o.reserved}`);
        continue;
      }
      openPerMarket[o.marketId] = (openPerMarket[o.marketId] ?? 0) + 1;
      const engine = s.engines[o.marketId];
      invariant(
        !engine || (isWaiting(o) ? engine.isWaiting(id) : engine.isResting(id)),
        () => `open order ${id} is not in its book`,
      );
    }
  }
  s.engines.forEach((engine, marketId) => {
    const open = openPerMarket[marketId] ?? 0;
    const held = engine.restingOrderCount + engine.waitingOrderCount;
    invariant(held === open, () => `market ${marketId}: ${held} orders in the book, ${open} open`);
  });
}

/** Sum over users, frozen included, plus the fee account: what the tests hold constant. */
export function totalOf(s: CoreState, assetId: number): bigint {
  let total = s.fees[assetId - 1]!;
  for (const bs of s.balances.values()) total += bs[assetId - 1]!.available + bs[assetId - 1]!.frozen;
  return total;
}
