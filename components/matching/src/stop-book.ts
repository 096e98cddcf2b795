import {
  type OrderType,
  type SelfTradePrevention,
  type Side,
  stopReached,
  type TimeInForce,
} from "./protocol.ts";

/** A triggered order waiting off the book for its stop price: the place command it runs as. */
export interface StopOrder {
  readonly orderId: number;
  readonly userId: number;
  readonly side: Side;
  /** The triggered type (StopLoss, StopLossLimit, TakeProfit, TakeProfitLimit). */
  readonly orderType: OrderType;
  readonly tif: TimeInForce;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteUnits: number;
  readonly stp: SelfTradePrevention;
  readonly stopPriceTicks: number;
}

/** Slots of a stop order in a snapshot, in StopOrder's field order. */
export const STOP_SLOTS = 10;

/**
 * The triggered orders of one book that wait for their stop price, by order id. Checked after
 * each command that traded: a scan of all of them, which is fine for the few an exchange of
 * this kind holds (an index by stop price would be the step up if they grow many).
 */
export class StopBook {
  private readonly byId = new Map<number, StopOrder>();

  get size(): number {
    return this.byId.size;
  }

  has(orderId: number): boolean {
    return this.byId.has(orderId);
  }

  get(orderId: number): StopOrder | undefined {
    return this.byId.get(orderId);
  }

  add(order: StopOrder): void {
    this.byId.set(order.orderId, order);
  }

  delete(orderId: number): void {
    this.byId.delete(orderId);
  }

  /** Every waiting order, in order id order (the order they trigger in when due together). */
  all(): StopOrder[] {
    return [...this.byId.values()].sort((a, b) => a.orderId - b.orderId);
  }

  /** The orders a trade at `lastPrice` sets off, in order id order, taken out of the book. */
  takeReached(lastPrice: number): StopOrder[] {
    const due = this.all().filter((o) => stopReached(o.orderType, o.side, o.stopPriceTicks, lastPrice));
    for (const o of due) this.byId.delete(o.orderId);
    return due;
  }

  static toSlots(o: StopOrder): number[] {
    return [
      o.orderId,
      o.userId,
      o.side,
      o.orderType,
      o.tif,
      o.priceTicks,
      o.qtyLots,
      o.quoteUnits,
      o.stp,
      o.stopPriceTicks,
    ];
  }

  static fromSlots(d: Float64Array, r: number): StopOrder {
    return {
      orderId: d[r]!,
      userId: d[r + 1]!,
      side: d[r + 2] as Side,
      orderType: d[r + 3] as OrderType,
      tif: d[r + 4] as TimeInForce,
      priceTicks: d[r + 5]!,
      qtyLots: d[r + 6]!,
      quoteUnits: d[r + 7]!,
      stp: d[r + 8] as SelfTradePrevention,
      stopPriceTicks: d[r + 9]!,
    };
  }
}
