import { isBourseError, type Market } from "../../domain/src/index.ts";
import { type Command, CommandType, OrderType, Side, triggersAs } from "../../matching/src/index.ts";
import { match } from "./execution.ts";
import { finish } from "./fills.ts";
import { checkOrderFilters } from "./order-filters.ts";
import { placeCommand, reservation } from "./orders.ts";
import { balance, type CommandResult, type CoreState, type Forwarded } from "./state.ts";
import type { OrderList, OrderRecord, OrderStatus, PlaceOrder } from "./types.ts";

/**
 * Binance's OTO and OTOCO order lists once placed (their admission: order-lists.ts): the pending
 * orders wait in UBSCore (PENDING_NEW, off the book, reserving nothing) until their working
 * order is fully filled, and are then checked for funds, frozen and placed by a command UBSCore
 * makes itself. An OPO's (One Pays the Other) pending SELL is of what the working BUY bought,
 * which the list holds locked as it arrives (lockReceived).
 *
 * Determinism: an activation is part of the command whose fill completed the working order (a
 * `place` with local books, the `matched` outcome with a matching service), runs at that
 * command's time, and takes the next order-command sequence of the market like any other: replay
 * of the journal makes the same activation at the same point, with the same sequence.
 */

/**
 * An order of a list that changed in UBSCore alone (no event of the book names it): placed as
 * PENDING_NEW, or ended with its working order. Reported as an executionReport before the
 * result's event `at` (after all of them when `at` is its length).
 */
export interface ListOrderChange {
  readonly orderId: number;
  readonly execution: "NEW" | "CANCELED" | "EXPIRED" | "REJECTED";
  readonly status: OrderStatus;
  readonly at: number;
}

/**
 * The pending orders' side of one command: the lists whose working order filled (to activate
 * once the command's events are applied), and what changed without the book's events.
 */
export class PendingOrders {
  private ready: OrderList[] = [];
  private changes: {
    orderId: number;
    execution: ListOrderChange["execution"];
    status: OrderStatus;
    at?: number;
  }[] = [];
  private changedLists = new Set<number>();

  /** Before each command: nothing carried over from one that failed. */
  reset(): void {
    this.ready = [];
    this.changes = [];
    this.changedLists.clear();
  }

  /** A new OTO's pending orders, reported PENDING_NEW before anything the book does with its working order. */
  placed(list: OrderList): void {
    for (const id of list.orderIds.slice(1))
      this.changes.push({ orderId: id, execution: "NEW", status: "PENDING_NEW", at: 0 });
    this.changedLists.add(list.orderListId);
  }

  /** The list's status changed (its pending pair ended it). */
  listChanged(list: OrderList): void {
    this.changedLists.add(list.orderListId);
  }

  /**
   * The working order of `list` is done. Filled: its pending orders are placed after the
   * command's events. Otherwise they end with it: cancelled with it, else expired; the list is done.
   */
  workingDone(s: CoreState, list: OrderList, status: OrderStatus): void {
    this.changedLists.add(list.orderListId);
    list.updateTime = s.now;
    if (status === "FILLED") {
      this.ready.push(list);
      return;
    }
    // Done first: ending the pending orders must not come back here.
    list.listStatusType = "ALL_DONE";
    list.listOrderStatus = status === "REJECTED" ? "REJECT" : "ALL_DONE";
    unlock(s, list);
    const end = status === "CANCELED" ? "CANCELED" : "EXPIRED";
    for (const id of list.orderIds.slice(1)) {
      finish(s, s.orders.get(id)!, end);
      this.changes.push({ orderId: id, execution: end, status: end });
    }
  }

  /**
   * Places the pending orders of every list whose working order this command filled (and of
   * those their own fills complete, with local books), and says so in the command's result.
   */
  settle(s: CoreState, result: CommandResult): CommandResult {
    let events = result.events;
    const activated: Forwarded[] = [];
    const changes: ListOrderChange[] = [];
    const take = () => {
      for (const c of this.changes.splice(0)) changes.push({ ...c, at: c.at ?? events.length });
    };
    take();
    for (let list = this.ready.shift(); list; list = this.ready.shift()) {
      const placed = this.activate(s, list);
      take();
      if (!placed) continue;
      if (placed.forwarded) activated.push(placed.forwarded);
      events = events.concat(placed.events);
      take();
    }
    const lists = [...this.changedLists];
    this.changedLists.clear();
    if (changes.length === 0 && activated.length === 0 && lists.length === 0) return result;
    return {
      ...result,
      events,
      ...(changes.length > 0 ? { listOrders: changes } : {}),
      ...(activated.length > 0 ? { activated } : {}),
      ...(lists.length > 0 ? { listsChanged: lists } : {}),
    };
  }

  /** The pending orders cannot be placed: rejected, the list done, nothing else changed. */
  private refuse(s: CoreState, list: OrderList, pending: readonly OrderRecord[]): void {
    list.listStatusType = "ALL_DONE";
    list.listOrderStatus = "ALL_DONE";
    list.updateTime = s.now;
    for (const o of pending) {
      finish(s, o, "REJECTED");
      this.changes.push({ orderId: o.orderId, execution: "REJECTED", status: "REJECTED" });
    }
  }

  /**
   * The pending order(s) of `list` go to the book, if the funds they need are available now (what
   * they would freeze as orders of their own; an OTOCO's pair one reservation, held by the list as
   * an OCO's). If not, they are rejected and the list is done: nothing else changes.
   */
  private activate(s: CoreState, list: OrderList): CommandResult | undefined {
    if (list.listOrderStatus !== "EXECUTING") return undefined;
    const market = s.exchange.marketById(list.marketId)!;
    const pending = list.orderIds.slice(1).map((id) => s.orders.get(id)!);
    // An OPO's pending quantity: the whole lots its working order bought (locked until now; it is
    // frozen again below as the order's own, in this same command).
    if (list.opo) {
      const lots = list.reserved / market.lotUnits;
      unlock(s, list);
      for (const o of pending) o.origQtyLots = Number(lots);
    }
    const needs = pending.map((o) => reservation(s, market, placeOf(market, o)));
    // The costlier of an OTOCO's legs: only one of them can trade.
    let amount = 0n;
    for (const n of needs) if (n.amount > amount) amount = n.amount;
    const funds = balance(s, list.userId, pending[0]!.reserveAsset);
    if (amount <= 0n || funds.available < amount || !pending.every((o) => passesFilters(market, o))) {
      this.refuse(s, list, pending);
      return undefined;
    }
    funds.available -= amount;
    funds.frozen += amount;
    for (const o of pending) {
      o.status = "NEW";
      o.updateTime = s.now;
      o.placedTime = s.now;
    }
    list.updateTime = s.now;
    if (pending.length === 1) {
      const o = pending[0]!;
      o.reserved = amount;
      return match(s, { market, command: placeCommand(o, o.origQtyLots, needs[0]!.budget) }, s.now);
    }
    list.reserved = amount;
    return match(s, { market, command: pairCommand(pending, amount) }, s.now);
  }
}

/** The list's locked funds (an OPO's purchase so far) back to available. */
function unlock(s: CoreState, list: OrderList): void {
  const b = balance(s, list.userId, list.reserveAsset);
  b.frozen -= list.reserved;
  b.available += list.reserved;
  list.reserved = 0n;
}

/**
 * What an OPO's working BUY receives (net of its fee) is locked for its pending SELL as it
 * arrives (Binance: not available for trading or withdrawal), held by the list.
 */
export function lockReceived(s: CoreState, order: OrderRecord, received: bigint): void {
  const list = order.orderListId === undefined ? undefined : s.lists.get(order.orderListId);
  if (!list?.opo || list.listOrderStatus !== "EXECUTING" || list.orderIds[0] !== order.orderId) return;
  const b = balance(s, order.userId, list.reserveAsset);
  b.available -= received;
  b.frozen += received;
  list.reserved += received;
}

/** An OPO's pending order, its quantity known only now, against the filters (LOT_SIZE, NOTIONAL). */
function passesFilters(market: Market, o: OrderRecord): boolean {
  try {
    checkOrderFilters(market, placeOf(market, o));
    return true;
  } catch (e) {
    if (isBourseError(e)) return false;
    throw e;
  }
}

/** A pending order's terms as the place command it would have been. */
function placeOf(market: Market, o: OrderRecord): PlaceOrder {
  return {
    kind: "place",
    userId: o.userId,
    symbol: market.symbol,
    clientOrderId: o.clientOrderId,
    side: o.side,
    type: o.type,
    tif: o.tif,
    priceTicks: o.priceTicks,
    qtyLots: o.origQtyLots,
    quoteUnits: 0n,
    stp: o.stp,
    time: o.time,
    ...(o.stopPriceTicks === undefined ? {} : { stopPriceTicks: o.stopPriceTicks }),
  };
}

/** An OTOCO's pair as the book's OCO: the legs in order id order, one budget for a market buy. */
function pairCommand(pending: OrderRecord[], amount: bigint): Command {
  const [first, second] = pending as [OrderRecord, OrderRecord];
  const leg = (o: OrderRecord) => ({
    orderType: o.type,
    tif: o.tif,
    priceTicks: o.priceTicks,
    stopPriceTicks: o.stopPriceTicks ?? 0,
  });
  const marketBuy = first.side === Side.Buy && pending.some((o) => triggersAs(o.type) === OrderType.Market);
  return {
    type: CommandType.PlaceOco,
    orderId: first.orderId,
    userId: first.userId,
    side: first.side,
    qtyLots: first.origQtyLots,
    quoteUnits: marketBuy ? Math.min(Number(amount), Number.MAX_SAFE_INTEGER) : 0,
    stp: first.stp,
    legs: [leg(first), leg(second)],
  };
}
