import { invariant } from "../../domain/src/index.ts";
import {
  ACCEPTED_SLOTS,
  AMENDED_SLOTS,
  BOOK_LEVEL_SLOTS,
  CANCELLED_SLOTS,
  EXPIRED_SLOTS,
  REJECTED_SLOTS,
  SEQ_SLOT,
  TRADE_SLOTS,
  TRIGGERED_SLOTS,
  TYPE_SLOT,
} from "./event-layout.ts";
import { EventBuffer } from "./events.ts";
import { OrderIndex } from "./order-index.ts";
import {
  CancelReason,
  type Command,
  CommandType,
  EventType,
  ExpireReason,
  isTriggered,
  type OcoLeg,
  OrderType,
  type PlaceOcoCommand,
  RejectReason,
  SelfTradePrevention,
  Side,
  stopReached,
  TimeInForce,
  triggersAs,
} from "./protocol.ts";
import { STOP_SLOTS, StopBook, type StopOrder } from "./stop-book.ts";

/**
 * A price-time-priority order book for one market, built for a hot path that allocates nothing
 * per command:
 * - orders live in struct-of-arrays typed-array pools with a free list (slot = index);
 * - each price level holds its orders in an intrusive doubly linked list (FIFO = time priority);
 * - each side keeps its active levels in a sorted array of keys with the best level at the END
 *   (bids keyed by price, asks by -price), so the best is O(1) and the prices that orders
 *   usually arrive at (near the touch) insert and delete with short shifts;
 * - events go into a preallocated binary EventBuffer that the caller drains.
 * Every quantity and price is an integer number of lots/ticks below 2^53, so float64 is exact.
 */
export interface MatchingEngineOptions {
  /** Quote units per (tick x lot): converts a fill to quote for market orders by quote amount. */
  readonly quotePerTickLot: number;
  readonly initialOrders?: number;
  readonly initialLevels?: number;
}

const NIL = -1;

export interface RestingOrder {
  readonly orderId: number;
  readonly userId: number;
  readonly side: Side;
  readonly priceTicks: number;
  readonly qtyLots: number;
}

/** A resting order as a snapshot holds it: what the engine needs to put it back in its place. */
export interface BookOrder extends RestingOrder {
  readonly stp: SelfTradePrevention;
  readonly postOnly: boolean;
}

export interface DepthLevel {
  readonly priceTicks: number;
  readonly totalLots: number;
}

export interface Depth {
  readonly lastUpdateId: number;
  readonly bids: DepthLevel[];
  readonly asks: DepthLevel[];
}

export class MatchingEngine {
  readonly events = new EventBuffer();
  private readonly quotePerTickLot: number;
  private seq = 0;
  private tradeSeq = 0;
  /** The last trade's price: what sets triggered orders off (0 before the first trade). */
  private lastPrice = 0;
  /** Triggered orders waiting for their stop price, off the book. */
  private readonly stops = new StopBook();
  /** The two open orders of each OCO, each id to the other's (both directions). */
  private readonly links = new Map<number, number>();
  /** Triggered orders taken off the stop book by a trade and not yet run (see triggerStops). */
  private due: StopOrder[] = [];

  // Order pool (struct of arrays).
  private oId: Float64Array;
  private oUser: Float64Array;
  private oPrice: Float64Array;
  private oQty: Float64Array;
  private oSide: Uint8Array;
  private oStp: Uint8Array;
  private oPostOnly: Uint8Array;
  private oNext: Int32Array;
  private oPrev: Int32Array;
  private oLevel: Int32Array;
  private orderFree = NIL;
  private orderHigh = 0;
  private readonly slotOf: OrderIndex;
  /** 1 while the order is in the book (and so in slotOf). */
  private oIndexed: Uint8Array;

  // Level pool.
  private lvPrice: Float64Array;
  private lvTotal: Float64Array;
  private lvHead: Int32Array;
  private lvTail: Int32Array;
  private lvSide: Uint8Array;
  private lvAlive: Uint8Array;
  private levelFree = NIL;
  private levelHigh = 0;

  // Sides: ascending keys, best at the end. Index 0 = bids (key = price), 1 = asks (key = -price).
  private keys: [Float64Array, Float64Array];
  private lvOf: [Int32Array, Int32Array];
  private depthN: [number, number] = [0, 0];

  // Levels changed by the current command, reported as BookLevel events at its end.
  private touchedSide = new Uint8Array(64);
  private touchedPrice = new Float64Array(64);
  private touchedLevel = new Int32Array(64);
  private touchedN = 0;

  constructor(options: MatchingEngineOptions) {
    if (!Number.isSafeInteger(options.quotePerTickLot) || options.quotePerTickLot <= 0) {
      throw new RangeError("quotePerTickLot must be a positive safe integer");
    }
    this.quotePerTickLot = options.quotePerTickLot;
    const orders = options.initialOrders ?? 4096;
    const levels = options.initialLevels ?? 1024;
    this.oId = new Float64Array(orders);
    this.oUser = new Float64Array(orders);
    this.oPrice = new Float64Array(orders);
    this.oQty = new Float64Array(orders);
    this.oSide = new Uint8Array(orders);
    this.oStp = new Uint8Array(orders);
    this.oPostOnly = new Uint8Array(orders);
    this.oNext = new Int32Array(orders);
    this.oPrev = new Int32Array(orders);
    this.oLevel = new Int32Array(orders);
    this.oIndexed = new Uint8Array(orders);
    this.slotOf = new OrderIndex(orders);
    this.lvPrice = new Float64Array(levels);
    this.lvTotal = new Float64Array(levels);
    this.lvHead = new Int32Array(levels);
    this.lvTail = new Int32Array(levels);
    this.lvSide = new Uint8Array(levels);
    this.lvAlive = new Uint8Array(levels);
    this.keys = [new Float64Array(levels), new Float64Array(levels)];
    this.lvOf = [new Int32Array(levels), new Int32Array(levels)];
  }

  /** The sequence number of the last event produced (the book's update id). */
  get lastSeq(): number {
    return this.seq;
  }

  get lastTradeId(): number {
    return this.tradeSeq;
  }

  get restingOrderCount(): number {
    return this.slotOf.size;
  }

  /** Runs a command, then every triggered order its trades set off (and theirs, in turn). */
  execute(cmd: Command): void {
    const trades = this.tradeSeq;
    switch (cmd.type) {
      case CommandType.Place:
        this.place(
          cmd.orderId,
          cmd.userId,
          cmd.side,
          cmd.orderType,
          cmd.tif,
          cmd.priceTicks,
          cmd.qtyLots,
          cmd.quoteUnits,
          cmd.stp,
          cmd.stopPriceTicks ?? 0,
        );
        break;
      case CommandType.Cancel:
        this.cancel(cmd.orderId, cmd.userId);
        break;
      case CommandType.CancelAll:
        this.cancelAll(cmd.userId);
        break;
      case CommandType.Amend:
        this.amend(cmd.orderId, cmd.userId, cmd.priceTicks, cmd.qtyLots);
        break;
      case CommandType.Reduce:
        this.reduce(cmd.orderId, cmd.userId, cmd.qtyLots);
        break;
      case CommandType.PlaceOco:
        this.placeOco(cmd);
        break;
      default:
        this.reject(0, 0, RejectReason.InvalidCommand);
    }
    if (this.tradeSeq !== trades) this.triggerStops();
  }

  /**
   * Runs the waiting orders the last price has reached, in order id order, each as the market
   * or limit order it becomes; their trades move the price on, which may set off more.
   */
  private triggerStops(): void {
    for (this.due = this.stops.takeReached(this.lastPrice); this.due.length > 0; ) {
      // One at a time: an OCO leg that fires takes its partner out of `due` (expirePartner).
      for (let o = this.due.shift(); o !== undefined; o = this.due.shift()) {
        const e = this.begin(EventType.Triggered);
        this.events.data[e + TRIGGERED_SLOTS.orderId] = o.orderId;
        this.events.data[e + TRIGGERED_SLOTS.userId] = o.userId;
        this.expirePartner(o.orderId);
        const type = triggersAs(o.orderType);
        this.run(o.orderId, o.userId, o.side, type, o.tif, o.priceTicks, o.qtyLots, o.quoteUnits, o.stp);
      }
      this.due = this.stops.takeReached(this.lastPrice);
    }
  }

  /**
   * Places both legs of an OCO, or refuses both (each with the first leg's reason): every check
   * that could refuse one is made before either is placed. Neither leg can trade as it is placed
   * (a LIMIT_MAKER that would is refused, as is a triggered leg the last price has reached), so
   * the pair is linked before anything can touch either.
   */
  private placeOco(cmd: PlaceOcoCommand): void {
    const { orderId, userId, side, qtyLots, quoteUnits, stp, legs } = cmd;
    const ids = [orderId, orderId + 1] as const;
    const reason = this.ocoRefusal(cmd);
    if (reason !== undefined) {
      for (const id of ids) this.reject(id, userId, reason);
      return;
    }
    legs.forEach((leg, i) => {
      const budget = triggersAs(leg.orderType) === OrderType.Market && side === Side.Buy ? quoteUnits : 0;
      const { orderType, tif, priceTicks, stopPriceTicks } = leg;
      this.place(orderId + i, userId, side, orderType, tif, priceTicks, qtyLots, budget, stp, stopPriceTicks);
    });
    this.links.set(ids[0], ids[1]);
    this.links.set(ids[1], ids[0]);
  }

  /** Why an OCO cannot be placed as it stands (undefined: it can). */
  private ocoRefusal(cmd: PlaceOcoCommand): RejectReason | undefined {
    // One leg waits for its stop price: two that rest could both trade in one sweep.
    if (!cmd.legs.some((leg) => isTriggered(leg.orderType))) return RejectReason.InvalidCommand;
    for (const [i, leg] of cmd.legs.entries()) {
      const reason = this.legRefusal(cmd, cmd.orderId + i, leg);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /** Why one leg of an OCO could not be placed (undefined: it could). */
  private legRefusal(cmd: PlaceOcoCommand, id: number, leg: OcoLeg): RejectReason | undefined {
    const { userId, side, qtyLots, stp } = cmd;
    const { orderType, tif, priceTicks, stopPriceTicks } = leg;
    const budget = triggersAs(orderType) === OrderType.Market && side === Side.Buy ? cmd.quoteUnits : 0;
    const valid = validPlace(id, userId, side, orderType, tif, priceTicks, qtyLots, budget, stp);
    const stopValid = (stopPriceTicks !== 0) === isTriggered(orderType) && isSafeNat(stopPriceTicks);
    if (!valid || !stopValid || (orderType !== OrderType.LimitMaker && !isTriggered(orderType)))
      return RejectReason.InvalidCommand;
    if (this.slotOf.has(id) || this.stops.has(id)) return RejectReason.DuplicateOrderId;
    if (orderType === OrderType.LimitMaker && this.crosses(side, priceTicks))
      return RejectReason.PostOnlyWouldTake;
    if (isTriggered(orderType) && stopReached(orderType, side, stopPriceTicks, this.lastPrice))
      return RejectReason.WouldTriggerImmediately;
    return undefined;
  }

  /**
   * The OCO leg `orderId` traded, triggered or expired: its partner expires (Binance: the list is
   * ALL_DONE). The partner waits for its stop price (the stop book, or `due` when the same trades
   * reached both), or rests only if `orderId` is the one waiting: the two never rest together.
   */
  private expirePartner(orderId: number): void {
    const partner = this.links.get(orderId);
    if (partner === undefined) return;
    this.unlinkList(orderId);
    const waiting = this.stops.get(partner) ?? this.due.find((o) => o.orderId === partner);
    if (waiting) {
      this.emitExpired(partner, waiting.userId, waiting.qtyLots, 0, ExpireReason.OrderListDone);
      this.stops.delete(partner);
      this.due = this.due.filter((o) => o.orderId !== partner);
      return;
    }
    const slot = this.slotOf.get(partner);
    this.emitExpired(partner, this.oUser[slot]!, this.oQty[slot]!, 0, ExpireReason.OrderListDone);
    this.unlink(slot);
    this.freeOrder(slot);
  }

  /** Forgets the OCO link of `orderId`, both ways. */
  private unlinkList(orderId: number): void {
    const partner = this.links.get(orderId);
    if (partner === undefined) return;
    this.links.delete(orderId);
    this.links.delete(partner);
  }

  place(
    orderId: number,
    userId: number,
    side: Side,
    orderType: OrderType,
    tif: TimeInForce,
    priceTicks: number,
    qtyLots: number,
    quoteUnits: number,
    stp: SelfTradePrevention,
    stopPriceTicks = 0,
  ): void {
    const valid = validPlace(orderId, userId, side, orderType, tif, priceTicks, qtyLots, quoteUnits, stp);
    if (!valid || (stopPriceTicks !== 0) !== isTriggered(orderType) || !isSafeNat(stopPriceTicks)) {
      this.reject(orderId, userId, RejectReason.InvalidCommand);
      return;
    }
    if (this.slotOf.has(orderId) || this.stops.has(orderId)) {
      this.reject(orderId, userId, RejectReason.DuplicateOrderId);
      return;
    }
    if (orderType === OrderType.LimitMaker && this.crosses(side, priceTicks)) {
      this.reject(orderId, userId, RejectReason.PostOnlyWouldTake);
      return;
    }
    if (isTriggered(orderType)) {
      this.hold({
        orderId,
        userId,
        side,
        orderType,
        tif,
        priceTicks,
        qtyLots,
        quoteUnits,
        stp,
        stopPriceTicks,
      });
      return;
    }
    this.emitAccepted(orderId, userId, side, orderType, tif, priceTicks, qtyLots, quoteUnits, 0);
    this.run(orderId, userId, side, orderType, tif, priceTicks, qtyLots, quoteUnits, stp);
  }

  /** Accepts a triggered order to wait off the book; one the last price already reached is refused. */
  private hold(o: StopOrder): void {
    if (stopReached(o.orderType, o.side, o.stopPriceTicks, this.lastPrice)) {
      this.reject(o.orderId, o.userId, RejectReason.WouldTriggerImmediately);
      return;
    }
    this.emitAccepted(
      o.orderId,
      o.userId,
      o.side,
      o.orderType,
      o.tif,
      o.priceTicks,
      o.qtyLots,
      o.quoteUnits,
      o.stopPriceTicks,
    );
    this.stops.add(o);
  }

  /** Runs an accepted order (a new one, or a triggered one) against the book: it trades, rests or expires. */
  private run(
    orderId: number,
    userId: number,
    side: Side,
    orderType: OrderType,
    tif: TimeInForce,
    priceTicks: number,
    qtyLots: number,
    quoteUnits: number,
    stp: SelfTradePrevention,
  ): void {
    const isMarket = orderType === OrderType.Market;
    if (tif === TimeInForce.FOK && !this.canFillEntirely(userId, side, priceTicks, qtyLots, stp)) {
      this.emitExpired(orderId, userId, qtyLots, 0, ExpireReason.FokUnfilled);
      return;
    }
    const limit = isMarket ? (side === Side.Buy ? Number.POSITIVE_INFINITY : 0) : priceTicks;
    const slot = this.allocOrder(
      orderId,
      userId,
      side,
      limit,
      qtyLots,
      stp,
      orderType === OrderType.LimitMaker,
    );
    const outcome = this.takeLiquidity(slot, quoteUnits);
    if (outcome === TAKER_EXPIRED_BY_STP) {
      this.emitExpired(orderId, userId, this.oQty[slot]!, this.quoteLeft, ExpireReason.SelfTrade);
      this.freeOrder(slot);
    } else if (quoteUnits > 0) {
      this.endByQuote(slot, qtyLots, outcome);
    } else {
      this.restOrExpire(slot, isMarket || tif !== TimeInForce.GTC, isMarket, outcome);
    }
    this.flushTouched();
  }

  /** By quote amount, or by quantity within a quote budget: done when either runs out, never rests. */
  private endByQuote(slot: number, qtyLots: number, outcome: number): void {
    const remaining = this.oQty[slot]!;
    if (qtyLots > 0 ? remaining > 0 : this.quoteLeft > 0) {
      const reason = outcome === NOTHING_TRADED ? ExpireReason.NoLiquidity : ExpireReason.IocRemainder;
      this.emitExpired(this.oId[slot]!, this.oUser[slot]!, remaining, this.quoteLeft, reason);
    }
    this.freeOrder(slot);
  }

  /** By quantity: a remainder rests (GTC limit) or expires (IOC, FOK's none, market). */
  private restOrExpire(slot: number, expires: boolean, isMarket: boolean, outcome: number): void {
    const remaining = this.oQty[slot]!;
    if (remaining > 0 && !expires) {
      this.rest(slot);
      return;
    }
    if (remaining > 0) {
      const reason =
        isMarket && outcome === NOTHING_TRADED ? ExpireReason.NoLiquidity : ExpireReason.IocRemainder;
      this.emitExpired(this.oId[slot]!, this.oUser[slot]!, remaining, 0, reason);
    }
    this.freeOrder(slot);
  }

  /** Cancels the order, and the other order of its OCO if it has one (Binance cancels the list). */
  cancel(orderId: number, userId: number): void {
    const stop = this.stops.get(orderId);
    if (stop && stop.userId !== userId) {
      this.reject(orderId, userId, RejectReason.NotOwner);
      return;
    }
    if (!stop && this.ownedSlot(orderId, userId) === NIL) return;
    const partner = this.links.get(orderId);
    this.unlinkList(orderId);
    for (const id of partner === undefined ? [orderId] : [orderId, partner].sort((a, b) => a - b))
      this.cancelOpen(id, CancelReason.User);
    this.flushTouched();
  }

  /** Cancels an open order: one that waits for its stop price or rests. */
  private cancelOpen(orderId: number, reason: CancelReason): void {
    const stop = this.stops.get(orderId);
    if (stop) {
      this.cancelStop(stop, reason);
      return;
    }
    const slot = this.slotOf.get(orderId);
    this.emitCancelled(slot, reason);
    this.unlink(slot);
    this.freeOrder(slot);
  }

  /** Cancels every resting order of the user, in ascending order id. Not on the hot path: O(book). */
  cancelAll(userId: number): void {
    // [order id, slot in the book or NIL for a waiting triggered order]
    const owned: [number, number][] = [];
    for (const [id, slot] of this.slotOf.entries()) if (this.oUser[slot] === userId) owned.push([id, slot]);
    for (const o of this.stops.all()) if (o.userId === userId) owned.push([o.orderId, NIL]);
    owned.sort((a, b) => a[0] - b[0]);
    for (const [id, slot] of owned) {
      // Both orders of an OCO are the user's, so both are cancelled here: no cascade.
      this.unlinkList(id);
      if (slot === NIL) {
        this.cancelStop(this.stops.get(id)!, CancelReason.CancelAll);
        continue;
      }
      this.emitCancelled(slot, CancelReason.CancelAll);
      this.unlink(slot);
      this.freeOrder(slot);
    }
    this.flushTouched();
  }

  private cancelStop(o: StopOrder, reason: CancelReason): void {
    this.emitCancelledOrder(o.orderId, o.userId, o.qtyLots, reason);
    this.stops.delete(o.orderId);
  }

  /**
   * Changes a resting order. Same price and a smaller (or equal) quantity keeps its place in the
   * queue; anything else is a cancel-replace under the same id: it goes to the back of its new
   * level and, if the new price crosses, trades first like a new GTC limit order. A post-only
   * order that would cross is rejected and stays as it was.
   */
  amend(orderId: number, userId: number, priceTicks: number, qtyLots: number): void {
    const slot = this.ownedSlot(orderId, userId);
    if (slot === NIL) return;
    if (!isPositiveSafe(priceTicks) || !isPositiveSafe(qtyLots)) {
      this.reject(orderId, userId, RejectReason.InvalidCommand);
      return;
    }
    const side = this.oSide[slot] as Side;
    const oldPrice = this.oPrice[slot]!;
    const oldQty = this.oQty[slot]!;
    if (priceTicks === oldPrice && qtyLots <= oldQty) {
      this.shrink(slot, qtyLots);
      return;
    }
    if (this.oPostOnly[slot] === 1 && this.crosses(side, priceTicks)) {
      this.reject(orderId, userId, RejectReason.PostOnlyWouldTake);
      return;
    }
    this.unlink(slot);
    this.emitAmended(orderId, userId, priceTicks, qtyLots, false);
    this.oPrice[slot] = priceTicks;
    this.oQty[slot] = qtyLots;
    const outcome = this.takeLiquidity(slot, 0);
    if (outcome === TAKER_EXPIRED_BY_STP) {
      this.emitExpired(orderId, userId, this.oQty[slot]!, 0, ExpireReason.SelfTrade);
      this.freeOrder(slot);
    } else if (this.oQty[slot] === 0) {
      this.freeOrder(slot);
    } else {
      this.rest(slot);
    }
    this.flushTouched();
  }

  /** Takes `lots` off a resting order in place: it keeps its place in the queue (Binance keepPriority). */
  reduce(orderId: number, userId: number, lots: number): void {
    const slot = this.ownedSlot(orderId, userId);
    if (slot === NIL) return;
    if (!isPositiveSafe(lots)) {
      this.reject(orderId, userId, RejectReason.InvalidCommand);
      return;
    }
    if (lots >= this.oQty[slot]!) {
      this.reject(orderId, userId, RejectReason.ReduceToNothing);
      return;
    }
    this.shrink(slot, this.oQty[slot]! - lots);
  }

  /** The resting order's slot, or NIL after rejecting an unknown order or another user's. */
  private ownedSlot(orderId: number, userId: number): number {
    const slot = this.slotOf.get(orderId);
    if (slot === NIL) this.reject(orderId, userId, RejectReason.UnknownOrder);
    else if (this.oUser[slot] !== userId) {
      this.reject(orderId, userId, RejectReason.NotOwner);
      return NIL;
    }
    return slot;
  }

  /** Lowers a resting order's quantity to `qtyLots` (<= what it has) where it stands. */
  private shrink(slot: number, qtyLots: number): void {
    const side = this.oSide[slot] as Side;
    const price = this.oPrice[slot]!;
    const oldQty = this.oQty[slot]!;
    this.emitAmended(this.oId[slot]!, this.oUser[slot]!, price, qtyLots, true);
    if (qtyLots < oldQty) {
      this.oQty[slot] = qtyLots;
      const lv = this.oLevel[slot]!;
      this.lvTotal[lv]! -= oldQty - qtyLots;
      this.touch(side, price, lv);
    }
    this.flushTouched();
  }

  /** Each OCO whose two orders are open, as [lower id, higher id], by the lower id. */
  ocoPairs(): [number, number][] {
    const pairs: [number, number][] = [];
    for (const [a, b] of this.links) if (a < b) pairs.push([a, b]);
    return pairs.sort((x, y) => x[0] - y[0]);
  }

  isResting(orderId: number): boolean {
    return this.slotOf.has(orderId);
  }

  /** Is the order a triggered order still waiting for its stop price? */
  isWaiting(orderId: number): boolean {
    return this.stops.has(orderId);
  }

  get waitingOrderCount(): number {
    return this.stops.size;
  }

  /** The triggered orders waiting for their stop price, in order id order. */
  waitingOrders(): StopOrder[] {
    return this.stops.all();
  }

  bestBid(): number {
    const n = this.depthN[Side.Buy];
    return n === 0 ? 0 : this.lvPrice[this.lvOf[Side.Buy][n - 1]!]!;
  }

  bestAsk(): number {
    const n = this.depthN[Side.Sell];
    return n === 0 ? 0 : this.lvPrice[this.lvOf[Side.Sell][n - 1]!]!;
  }

  /** L2 depth from the best price outwards, with the update id it is consistent with. */
  depth(limit = Number.POSITIVE_INFINITY): Depth {
    const side = (s: Side): DepthLevel[] => {
      const out: DepthLevel[] = [];
      for (let i = this.depthN[s] - 1; i >= 0 && out.length < limit; i--) {
        const lv = this.lvOf[s][i]!;
        out.push({ priceTicks: this.lvPrice[lv]!, totalLots: this.lvTotal[lv]! });
      }
      return out;
    };
    return { lastUpdateId: this.seq, bids: side(Side.Buy), asks: side(Side.Sell) };
  }

  /** Resting orders in priority order: bids best first, then asks best first. */
  restingOrders(): RestingOrder[] {
    const out: RestingOrder[] = [];
    for (const s of [Side.Buy, Side.Sell]) {
      for (let i = this.depthN[s] - 1; i >= 0; i--) {
        for (let o = this.lvHead[this.lvOf[s][i]!]!; o !== NIL; o = this.oNext[o]!) {
          out.push({
            orderId: this.oId[o]!,
            userId: this.oUser[o]!,
            side: s,
            priceTicks: this.oPrice[o]!,
            qtyLots: this.oQty[o]!,
          });
        }
      }
    }
    return out;
  }

  /**
   * Checks the book's structure (not crossed; levels sorted, alive and summing their orders;
   * every list linked both ways; every resting order indexed; every slot either resting or free)
   * and throws an InvariantViolation at the first break. O(orders + levels): for tests and
   * `verify` mode, never the hot path.
   */
  checkInvariants(): void {
    let resting = 0;
    for (const side of [Side.Buy, Side.Sell]) resting += this.checkSide(side);
    const bid = this.bestBid();
    const ask = this.bestAsk();
    invariant(bid === 0 || ask === 0 || bid < ask, () => `book crossed: bid ${bid} >= ask ${ask}`);
    invariant(resting === this.slotOf.size, () => `${resting} resting orders, ${this.slotOf.size} indexed`);
    for (const o of this.stops.all()) {
      invariant(!this.slotOf.has(o.orderId), () => `order ${o.orderId} both waits for its stop and rests`);
      invariant(
        !stopReached(o.orderType, o.side, o.stopPriceTicks, this.lastPrice),
        () => `order ${o.orderId} waits though the last price reached its stop`,
      );
    }
    for (const [a, b] of this.links) {
      invariant(this.links.get(b) === a, () => `OCO order ${a} is linked to ${b}, which is not linked back`);
      invariant(
        this.stops.has(a) || (this.slotOf.has(a) && this.stops.has(b)),
        () => `OCO order ${a}: neither waiting nor resting beside a waiting partner`,
      );
    }
    const freeOrders = countChain(this.orderFree, this.oNext, this.orderHigh);
    invariant(
      freeOrders + resting === this.orderHigh,
      () => `${freeOrders} free + ${resting} resting order slots of ${this.orderHigh} used`,
    );
    const freeLevels = countChain(this.levelFree, this.lvHead, this.levelHigh);
    const levels = this.depthN[Side.Buy] + this.depthN[Side.Sell];
    invariant(
      freeLevels + levels === this.levelHigh,
      () => `${freeLevels} free + ${levels} live level slots of ${this.levelHigh} used`,
    );
  }

  /** One side's levels, best at the end; returns how many orders rest on it. */
  private checkSide(side: Side): number {
    let orders = 0;
    const keys = this.keys[side];
    for (let i = 0; i < this.depthN[side]; i++) {
      const lv = this.lvOf[side][i]!;
      const price = this.lvPrice[lv]!;
      invariant(i === 0 || keys[i - 1]! < keys[i]!, () => `side ${side}: levels out of order at ${i}`);
      invariant(keys[i] === (side === Side.Buy ? price : -price), () => `level ${lv}: key is not its price`);
      invariant(this.lvAlive[lv] === 1 && this.lvSide[lv] === side, () => `level ${lv}: dead or other side`);
      let total = 0;
      let prev = NIL;
      for (let o = this.lvHead[lv]!; o !== NIL; prev = o, o = this.oNext[o]!) {
        invariant(this.oPrev[o] === prev, () => `order slot ${o}: back link broken`);
        invariant(this.oLevel[o] === lv, () => `order slot ${o}: on level ${lv}, says ${this.oLevel[o]}`);
        invariant(
          this.oSide[o] === side && this.oPrice[o] === price && this.oQty[o]! > 0,
          () => `order ${this.oId[o]}: side, price or quantity does not fit its level`,
        );
        invariant(this.slotOf.get(this.oId[o]!) === o, () => `order ${this.oId[o]}: not indexed at its slot`);
        total += this.oQty[o]!;
        orders++;
        invariant(orders <= this.orderHigh, () => `side ${side}: order list loops`);
      }
      invariant(prev !== NIL && this.lvTail[lv] === prev, () => `level ${lv}: empty or tail is not its last`);
      invariant(
        total === this.lvTotal[lv],
        () => `level ${lv}: total ${this.lvTotal[lv]}, orders sum ${total}`,
      );
    }
    return orders;
  }

  /** The book and counters as bytes; `restore` rebuilds an identical book from them. */
  snapshot(): Uint8Array {
    const orders = this.slotOf.size;
    const stops = this.stops.all();
    const links = this.ocoPairs();
    const out = new Float64Array(snapshotSize(orders, stops.length, links.length));
    writeHeader(out, this.seq, this.tradeSeq, orders, this.lastPrice, stops, links);
    let w = SNAPSHOT_HEADER;
    for (const s of [Side.Buy, Side.Sell]) {
      for (let i = this.depthN[s] - 1; i >= 0; i--) {
        for (let o = this.lvHead[this.lvOf[s][i]!]!; o !== NIL; o = this.oNext[o]!) {
          out[w++] = this.oId[o]!;
          out[w++] = this.oUser[o]!;
          out[w++] = s;
          out[w++] = this.oPrice[o]!;
          out[w++] = this.oQty[o]!;
          out[w++] = this.oStp[o]!;
          out[w++] = this.oPostOnly[o]!;
        }
      }
    }
    return new Uint8Array(out.buffer);
  }

  /**
   * The bytes `snapshot()` would give for a book holding `orders` (each level's orders in priority
   * order) after event `seq` and trade `tradeSeq`: how a book kept elsewhere (UBSCore's open
   * orders) is handed to a matching process that starts from it.
   */
  static snapshotOf(
    seq: number,
    tradeSeq: number,
    orders: readonly BookOrder[],
    stops: readonly StopOrder[] = [],
    lastPrice = 0,
    links: readonly (readonly [number, number])[] = [],
  ): Uint8Array {
    const out = new Float64Array(snapshotSize(orders.length, stops.length, links.length));
    writeHeader(out, seq, tradeSeq, orders.length, lastPrice, stops, links);
    let w = SNAPSHOT_HEADER;
    for (const o of orders) {
      out.set([o.orderId, o.userId, o.side, o.priceTicks, o.qtyLots, o.stp, o.postOnly ? 1 : 0], w);
      w += SNAPSHOT_ORDER;
    }
    return new Uint8Array(out.buffer);
  }

  static restore(bytes: Uint8Array, options: MatchingEngineOptions): MatchingEngine {
    // Copy: the bytes may be a view into a larger (pooled, unaligned) buffer, e.g. a Node Buffer.
    const d = new Float64Array(new Uint8Array(bytes).buffer);
    // Version 1 (before triggered orders): a 4-slot header and the resting orders only; version 2
    // (before OCOs): a 6-slot header and no links.
    if (d[0] !== SNAPSHOT_VERSION && d[0] !== 1 && d[0] !== 2)
      throw new Error(`unsupported matching snapshot version ${d[0]}`);
    const header = d[0] === 1 ? 4 : d[0] === 2 ? 6 : SNAPSHOT_HEADER;
    const orders = d[3]!;
    const engine = new MatchingEngine({
      ...options,
      initialOrders: Math.max(options.initialOrders ?? 4096, orders),
    });
    engine.seq = d[1]!;
    engine.tradeSeq = d[2]!;
    const ordersEnd = header + orders * SNAPSHOT_ORDER;
    for (let r = header; r < ordersEnd; r += SNAPSHOT_ORDER) {
      const slot = engine.allocOrder(
        d[r]!,
        d[r + 1]!,
        d[r + 2] as Side,
        d[r + 3]!,
        d[r + 4]!,
        d[r + 5]!,
        d[r + 6] === 1,
      );
      engine.rest(slot);
    }
    if (header > 4) {
      engine.lastPrice = d[4]!;
      let r = ordersEnd;
      for (let i = 0; i < d[5]!; i++, r += STOP_SLOTS) engine.stops.add(StopBook.fromSlots(d, r));
      for (let i = 0; header === SNAPSHOT_HEADER && i < d[6]!; i++, r += 2) {
        engine.links.set(d[r]!, d[r + 1]!);
        engine.links.set(d[r + 1]!, d[r]!);
      }
    }
    engine.touchedN = 0;
    return engine;
  }

  // ---- matching ----

  /** Unspent quote of the current market-by-quote order. */
  private quoteLeft = 0;

  /**
   * Matches the order in `slot` (not yet resting) against the opposite side up to its limit
   * price. By quantity, `oQty[slot]` counts down; with a quote amount (quoteUnits > 0),
   * `quoteLeft` counts down and each fill takes at most the whole lots the rest still pays for.
   * A market order may have both: a quantity capped by a quote budget.
   */
  private takeLiquidity(slot: number, quoteUnits: number): number {
    const side = this.oSide[slot] as Side;
    const opp = side === Side.Buy ? Side.Sell : Side.Buy;
    const limit = this.oPrice[slot]!;
    const byQuote = quoteUnits > 0;
    const byQty = this.oQty[slot]! > 0;
    this.quoteLeft = quoteUnits;
    const tradesBefore = this.tradeSeq;
    const lvOf = this.lvOf[opp];
    while (this.depthN[opp] > 0) {
      const lv = lvOf[this.depthN[opp] - 1]!;
      const price = this.lvPrice[lv]!;
      if (side === Side.Buy ? price > limit : price < limit) break;
      const stop = this.takeFromLevel(slot, lv, byQuote, byQty);
      if (stop === TAKER_EXPIRED_BY_STP) return TAKER_EXPIRED_BY_STP;
      if (stop === FILLED) break;
    }
    return this.tradeSeq !== tradesBefore ? TRADED : NOTHING_TRADED;
  }

  /**
   * Takes the level `lv`'s makers in time priority for the taker in `slot`, until the taker is
   * filled (FILLED), expired by self-trade prevention (TAKER_EXPIRED_BY_STP) or the level is
   * emptied (NONE, and the level is gone).
   */
  private takeFromLevel(slot: number, lv: number, byQuote: boolean, byQty: boolean): number {
    const side = this.oSide[slot] as Side;
    const price = this.lvPrice[lv]!;
    const lotCost = price * this.quotePerTickLot;
    const stp = this.oStp[slot] as SelfTradePrevention;
    let maker = this.lvHead[lv]!;
    while (maker !== NIL) {
      if (this.takerDone(slot, byQuote, byQty, lotCost)) return FILLED;
      const next = this.oNext[maker]!;
      if (stp === SelfTradePrevention.None || this.oUser[maker] !== this.oUser[slot]) {
        const fill = this.takerWants(slot, byQuote, byQty, lotCost, this.oQty[maker]!);
        if (byQuote) this.quoteLeft -= fill * lotCost;
        if (byQty) this.oQty[slot]! -= fill;
        this.fillMaker(slot, maker, lv, side, price, fill);
      } else if (this.preventSelfTrade(maker, stp)) {
        return TAKER_EXPIRED_BY_STP;
      }
      maker = next;
    }
    return NONE;
  }

  /** The taker has no quantity left, or its quote amount pays for no further lot at this price. */
  private takerDone(slot: number, byQuote: boolean, byQty: boolean, lotCost: number): boolean {
    return (byQuote && this.quoteLeft < lotCost) || (byQty && this.oQty[slot] === 0);
  }

  /** The lots the taker takes from a maker of `makerLots`: what it still wants and its quote still pays for. */
  private takerWants(
    slot: number,
    byQuote: boolean,
    byQty: boolean,
    lotCost: number,
    makerLots: number,
  ): number {
    const affordable = byQuote ? lotsAffordable(this.quoteLeft, lotCost) : Number.POSITIVE_INFINITY;
    return Math.min(byQty ? Math.min(this.oQty[slot]!, affordable) : affordable, makerLots);
  }

  /** Expires the maker unless `stp` spares it; true when the taker must expire instead of trading on. */
  private preventSelfTrade(maker: number, stp: SelfTradePrevention): boolean {
    if (stp !== SelfTradePrevention.ExpireTaker) {
      const makerId = this.oId[maker]!;
      this.emitExpired(makerId, this.oUser[maker]!, this.oQty[maker]!, 0, ExpireReason.SelfTrade);
      this.unlink(maker);
      this.freeOrder(maker);
      this.expirePartner(makerId);
    }
    return stp !== SelfTradePrevention.ExpireMaker;
  }

  /** One trade of `fill` lots against the resting `maker`; a maker filled entirely leaves the book. */
  private fillMaker(taker: number, maker: number, lv: number, side: Side, price: number, fill: number): void {
    const makerQty = this.oQty[maker]!;
    this.oQty[maker] = makerQty - fill;
    this.lvTotal[lv]! -= fill;
    this.emitTrade(taker, maker, side, price, fill);
    this.touch(side === Side.Buy ? Side.Sell : Side.Buy, price, lv);
    // A resting OCO leg's partner waits for its stop price (off this book's levels).
    this.expirePartner(this.oId[maker]!);
    if (makerQty === fill) {
      this.unlink(maker);
      this.freeOrder(maker);
    }
  }

  /** Would a limit order at this price take liquidity? */
  private crosses(side: Side, priceTicks: number): boolean {
    if (side === Side.Buy) {
      const ask = this.bestAsk();
      return ask !== 0 && ask <= priceTicks;
    }
    const bid = this.bestBid();
    return bid !== 0 && bid >= priceTicks;
  }

  /** FOK pre-check: walks the book exactly as matching would, without changing it. */
  private canFillEntirely(
    userId: number,
    side: Side,
    priceTicks: number,
    qtyLots: number,
    stp: number,
  ): boolean {
    const opp = side === Side.Buy ? Side.Sell : Side.Buy;
    let need = qtyLots;
    for (let i = this.depthN[opp] - 1; i >= 0; i--) {
      const lv = this.lvOf[opp][i]!;
      const price = this.lvPrice[lv]!;
      if (side === Side.Buy ? price > priceTicks : price < priceTicks) return false;
      need = this.needAfterLevel(lv, userId, stp, need);
      if (need === SELF_TRADE_STOPS) return false;
      if (need <= 0) return true;
    }
    return false;
  }

  /**
   * What is still needed after the makers of level `lv` (0 or less: filled), or SELF_TRADE_STOPS
   * when a maker of the same user would expire the taker first.
   */
  private needAfterLevel(lv: number, userId: number, stp: number, need: number): number {
    let left = need;
    for (let o = this.lvHead[lv]!; o !== NIL; o = this.oNext[o]!) {
      if (stp !== SelfTradePrevention.None && this.oUser[o] === userId) {
        if (stp === SelfTradePrevention.ExpireMaker) continue;
        return SELF_TRADE_STOPS;
      }
      left -= this.oQty[o]!;
      if (left <= 0) return left;
    }
    return left;
  }

  // ---- book structure ----

  private allocOrder(
    orderId: number,
    userId: number,
    side: Side,
    priceTicks: number,
    qtyLots: number,
    stp: number,
    postOnly: boolean,
  ): number {
    let slot = this.orderFree;
    if (slot !== NIL) {
      this.orderFree = this.oNext[slot]!;
    } else {
      if (this.orderHigh === this.oId.length) this.growOrders();
      slot = this.orderHigh++;
    }
    this.oId[slot] = orderId;
    this.oUser[slot] = userId;
    this.oSide[slot] = side;
    this.oPrice[slot] = priceTicks;
    this.oQty[slot] = qtyLots;
    this.oStp[slot] = stp;
    this.oPostOnly[slot] = postOnly ? 1 : 0;
    this.oLevel[slot] = NIL;
    return slot;
  }

  private freeOrder(slot: number): void {
    if (this.oLevel[slot] !== NIL) throw new Error("freeing an order that is still linked");
    if (this.oIndexed[slot] === 1) {
      this.slotOf.delete(this.oId[slot]!);
      this.oIndexed[slot] = 0;
    }
    this.oNext[slot] = this.orderFree;
    this.orderFree = slot;
  }

  /** Appends the order at the back of its price level, creating the level if needed. */
  private rest(slot: number): void {
    const side = this.oSide[slot] as Side;
    const price = this.oPrice[slot]!;
    const lv = this.findOrCreateLevel(side, price);
    const tail = this.lvTail[lv]!;
    this.oPrev[slot] = tail;
    this.oNext[slot] = NIL;
    if (tail === NIL) this.lvHead[lv] = slot;
    else this.oNext[tail] = slot;
    this.lvTail[lv] = slot;
    this.lvTotal[lv]! += this.oQty[slot]!;
    this.oLevel[slot] = lv;
    if (this.oIndexed[slot] === 0) {
      this.slotOf.set(this.oId[slot]!, slot);
      this.oIndexed[slot] = 1;
    }
    this.touch(side, price, lv);
  }

  /** Removes the order from its level (dropping the level when it empties). */
  private unlink(slot: number): void {
    const lv = this.oLevel[slot]!;
    const prev = this.oPrev[slot]!;
    const next = this.oNext[slot]!;
    if (prev === NIL) this.lvHead[lv] = next;
    else this.oNext[prev] = next;
    if (next === NIL) this.lvTail[lv] = prev;
    else this.oPrev[next] = prev;
    this.lvTotal[lv]! -= this.oQty[slot]!;
    this.oLevel[slot] = NIL;
    const side = this.oSide[slot] as Side;
    this.touch(side, this.lvPrice[lv]!, lv);
    if (this.lvHead[lv] === NIL) this.removeLevel(side, lv);
  }

  private findOrCreateLevel(side: Side, price: number): number {
    const keys = this.keys[side];
    const key = side === Side.Buy ? price : -price;
    const n = this.depthN[side];
    const at = searchFromEnd(keys, n, key);
    if (at < n && keys[at] === key) return this.lvOf[side][at]!;
    if (n === keys.length) this.growSides();
    const k = this.keys[side];
    const lvOf = this.lvOf[side];
    k.copyWithin(at + 1, at, n);
    lvOf.copyWithin(at + 1, at, n);
    const lv = this.allocLevel(side, price);
    k[at] = key;
    lvOf[at] = lv;
    this.depthN[side] = n + 1;
    return lv;
  }

  private removeLevel(side: Side, lv: number): void {
    const keys = this.keys[side];
    const price = this.lvPrice[lv]!;
    const key = side === Side.Buy ? price : -price;
    const n = this.depthN[side];
    const at = n > 0 && keys[n - 1] === key ? n - 1 : searchFromEnd(keys, n, key);
    keys.copyWithin(at, at + 1, n);
    this.lvOf[side].copyWithin(at, at + 1, n);
    this.depthN[side] = n - 1;
    this.lvHead[lv] = this.levelFree;
    this.lvAlive[lv] = 0;
    this.levelFree = lv;
  }

  private allocLevel(side: Side, price: number): number {
    let lv = this.levelFree;
    if (lv !== NIL) {
      this.levelFree = this.lvHead[lv]!;
    } else {
      if (this.levelHigh === this.lvPrice.length) this.growLevels();
      lv = this.levelHigh++;
    }
    this.lvPrice[lv] = price;
    this.lvSide[lv] = side;
    this.lvAlive[lv] = 1;
    this.lvTotal[lv] = 0;
    this.lvHead[lv] = NIL;
    this.lvTail[lv] = NIL;
    return lv;
  }

  private growOrders(): void {
    const n = this.oId.length * 2;
    this.oId = grow(this.oId, n);
    this.oUser = grow(this.oUser, n);
    this.oPrice = grow(this.oPrice, n);
    this.oQty = grow(this.oQty, n);
    this.oSide = grow(this.oSide, n);
    this.oStp = grow(this.oStp, n);
    this.oPostOnly = grow(this.oPostOnly, n);
    this.oNext = grow(this.oNext, n);
    this.oPrev = grow(this.oPrev, n);
    this.oLevel = grow(this.oLevel, n);
    this.oIndexed = grow(this.oIndexed, n);
  }

  private growLevels(): void {
    const n = this.lvPrice.length * 2;
    this.lvPrice = grow(this.lvPrice, n);
    this.lvTotal = grow(this.lvTotal, n);
    this.lvHead = grow(this.lvHead, n);
    this.lvTail = grow(this.lvTail, n);
    this.lvSide = grow(this.lvSide, n);
    this.lvAlive = grow(this.lvAlive, n);
  }

  private growSides(): void {
    const n = Math.max(this.keys[0].length, this.keys[1].length) * 2;
    this.keys = [grow(this.keys[0], n), grow(this.keys[1], n)];
    this.lvOf = [grow(this.lvOf[0], n), grow(this.lvOf[1], n)];
  }

  // ---- events ----

  /**
   * Remembers a level whose total changed; reported once, at the end of the command. Keeps the
   * level slot last seen at that price so the report needs no search: a slot that has since
   * died (or been reused elsewhere) means the price level is gone.
   */
  private touch(side: Side, price: number, lv: number): void {
    for (let i = this.touchedN - 1; i >= 0; i--) {
      if (this.touchedPrice[i] === price && this.touchedSide[i] === side) {
        this.touchedLevel[i] = lv;
        return;
      }
    }
    if (this.touchedN === this.touchedPrice.length) {
      this.touchedSide = grow(this.touchedSide, this.touchedN * 2);
      this.touchedPrice = grow(this.touchedPrice, this.touchedN * 2);
      this.touchedLevel = grow(this.touchedLevel, this.touchedN * 2);
    }
    this.touchedSide[this.touchedN] = side;
    this.touchedPrice[this.touchedN] = price;
    this.touchedLevel[this.touchedN] = lv;
    this.touchedN++;
  }

  private flushTouched(): void {
    for (let i = 0; i < this.touchedN; i++) {
      const side = this.touchedSide[i]!;
      const price = this.touchedPrice[i]!;
      const lv = this.touchedLevel[i]!;
      const alive = this.lvAlive[lv] === 1 && this.lvPrice[lv] === price && this.lvSide[lv] === side;
      const e = this.begin(EventType.BookLevel);
      const d = this.events.data;
      d[e + BOOK_LEVEL_SLOTS.side] = side;
      d[e + BOOK_LEVEL_SLOTS.priceTicks] = price;
      d[e + BOOK_LEVEL_SLOTS.totalLots] = alive ? this.lvTotal[lv]! : 0;
    }
    this.touchedN = 0;
  }

  private begin(type: EventType): number {
    const e = this.events.next();
    const d = this.events.data;
    d[e + TYPE_SLOT] = type;
    d[e + SEQ_SLOT] = ++this.seq;
    return e;
  }

  private reject(orderId: number, userId: number, reason: RejectReason): void {
    const e = this.begin(EventType.Rejected);
    const d = this.events.data;
    d[e + REJECTED_SLOTS.orderId] = orderId;
    d[e + REJECTED_SLOTS.userId] = userId;
    d[e + REJECTED_SLOTS.reason] = reason;
  }

  private emitAccepted(
    orderId: number,
    userId: number,
    side: Side,
    orderType: OrderType,
    tif: TimeInForce,
    priceTicks: number,
    qtyLots: number,
    quoteUnits: number,
    stopPriceTicks: number,
  ): void {
    const e = this.begin(EventType.Accepted);
    const d = this.events.data;
    d[e + ACCEPTED_SLOTS.orderId] = orderId;
    d[e + ACCEPTED_SLOTS.userId] = userId;
    d[e + ACCEPTED_SLOTS.side] = side;
    d[e + ACCEPTED_SLOTS.orderType] = orderType;
    d[e + ACCEPTED_SLOTS.tif] = tif;
    d[e + ACCEPTED_SLOTS.priceTicks] = priceTicks;
    d[e + ACCEPTED_SLOTS.qtyLots] = qtyLots;
    d[e + ACCEPTED_SLOTS.quoteUnits] = quoteUnits;
    d[e + ACCEPTED_SLOTS.stopPriceTicks] = stopPriceTicks;
  }

  private emitTrade(taker: number, maker: number, takerSide: Side, price: number, qty: number): void {
    const e = this.begin(EventType.Trade);
    const d = this.events.data;
    d[e + TRADE_SLOTS.tradeId] = ++this.tradeSeq;
    this.lastPrice = price;
    d[e + TRADE_SLOTS.takerOrderId] = this.oId[taker]!;
    d[e + TRADE_SLOTS.takerUserId] = this.oUser[taker]!;
    d[e + TRADE_SLOTS.makerOrderId] = this.oId[maker]!;
    d[e + TRADE_SLOTS.makerUserId] = this.oUser[maker]!;
    d[e + TRADE_SLOTS.takerSide] = takerSide;
    d[e + TRADE_SLOTS.priceTicks] = price;
    d[e + TRADE_SLOTS.qtyLots] = qty;
    d[e + TRADE_SLOTS.takerRemainingLots] = this.oQty[taker]!;
    d[e + TRADE_SLOTS.makerRemainingLots] = this.oQty[maker]!;
  }

  private emitCancelled(slot: number, reason: CancelReason): void {
    this.emitCancelledOrder(this.oId[slot]!, this.oUser[slot]!, this.oQty[slot]!, reason);
  }

  private emitCancelledOrder(orderId: number, userId: number, lots: number, reason: CancelReason): void {
    const e = this.begin(EventType.Cancelled);
    const d = this.events.data;
    d[e + CANCELLED_SLOTS.orderId] = orderId;
    d[e + CANCELLED_SLOTS.userId] = userId;
    d[e + CANCELLED_SLOTS.remainingLots] = lots;
    d[e + CANCELLED_SLOTS.reason] = reason;
  }

  private emitExpired(
    orderId: number,
    userId: number,
    lots: number,
    quote: number,
    reason: ExpireReason,
  ): void {
    const e = this.begin(EventType.Expired);
    const d = this.events.data;
    d[e + EXPIRED_SLOTS.orderId] = orderId;
    d[e + EXPIRED_SLOTS.userId] = userId;
    d[e + EXPIRED_SLOTS.remainingLots] = lots;
    d[e + EXPIRED_SLOTS.remainingQuoteUnits] = quote;
    d[e + EXPIRED_SLOTS.reason] = reason;
  }

  private emitAmended(orderId: number, userId: number, price: number, qty: number, kept: boolean): void {
    const e = this.begin(EventType.Amended);
    const d = this.events.data;
    d[e + AMENDED_SLOTS.orderId] = orderId;
    d[e + AMENDED_SLOTS.userId] = userId;
    d[e + AMENDED_SLOTS.priceTicks] = price;
    d[e + AMENDED_SLOTS.qtyLots] = qty;
    d[e + AMENDED_SLOTS.keptPriority] = kept ? 1 : 0;
  }
}

/**
 * Version 3: version | seq | tradeSeq | resting orders | last trade price | waiting orders | OCOs,
 * then SNAPSHOT_ORDER slots per resting order (priority order), STOP_SLOTS per waiting order,
 * and two per OCO (its orders' ids).
 */
const SNAPSHOT_VERSION = 3;
const SNAPSHOT_HEADER = 7;
const SNAPSHOT_ORDER = 7;

function snapshotSize(orders: number, stops: number, links: number): number {
  return SNAPSHOT_HEADER + orders * SNAPSHOT_ORDER + stops * STOP_SLOTS + links * 2;
}

/** The header, then the waiting orders and the OCOs at the end (after `orders` resting ones). */
function writeHeader(
  out: Float64Array,
  seq: number,
  tradeSeq: number,
  orders: number,
  lastPrice: number,
  stops: readonly StopOrder[],
  links: readonly (readonly [number, number])[],
): void {
  out.set([SNAPSHOT_VERSION, seq, tradeSeq, orders, lastPrice, stops.length, links.length]);
  let w = SNAPSHOT_HEADER + orders * SNAPSHOT_ORDER;
  for (const o of stops) {
    out.set(StopBook.toSlots(o), w);
    w += STOP_SLOTS;
  }
  for (const pair of links) {
    out.set(pair, w);
    w += 2;
  }
}

// takeLiquidity outcomes and inner-loop stop reasons.
const NOTHING_TRADED = 0;
const TRADED = 1;
const TAKER_EXPIRED_BY_STP = 2;
const NONE = 0;
const FILLED = 1;
/** canFillEntirely: a maker of the taker's own user stops the walk (no count of lots is infinite). */
const SELF_TRADE_STOPS = Number.NEGATIVE_INFINITY;

/** floor(quote / lotCost) exactly: the float quotient can round up across an integer. */
function lotsAffordable(quote: number, lotCost: number): number {
  const lots = Math.floor(quote / lotCost);
  return lots * lotCost > quote ? lots - 1 : lots;
}

function isPositiveSafe(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function isSafeNat(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function validPlace(
  orderId: number,
  userId: number,
  side: number,
  orderType: number,
  tif: number,
  priceTicks: number,
  qtyLots: number,
  quoteUnits: number,
  stp: number,
): boolean {
  if (!isPositiveSafe(orderId) || !isPositiveSafe(userId)) return false;
  if (side !== Side.Buy && side !== Side.Sell) return false;
  if (!(stp >= 0 && stp <= 3 && Number.isInteger(stp))) return false;
  // A triggered order is checked as what it runs as; by quantity only (Binance has no quote amount).
  if (isTriggered(orderType)) {
    const as = triggersAs(orderType);
    const valid = validPlace(orderId, userId, side, as, tif, priceTicks, qtyLots, quoteUnits, stp);
    return (
      valid &&
      isPositiveSafe(qtyLots) &&
      Number.isInteger(orderType) &&
      orderType <= OrderType.TakeProfitLimit
    );
  }
  if (orderType === OrderType.Market) return validMarketTerms(tif, priceTicks, qtyLots, quoteUnits);
  return validLimitTerms(orderType, tif, priceTicks, qtyLots, quoteUnits);
}

/** A market order: IOC, no price, a quantity or a quote amount (or both). */
function validMarketTerms(tif: number, priceTicks: number, qtyLots: number, quoteUnits: number): boolean {
  if (tif !== TimeInForce.IOC || priceTicks !== 0) return false;
  const qtyOk = qtyLots === 0 || isPositiveSafe(qtyLots);
  const quoteOk = quoteUnits === 0 || isPositiveSafe(quoteUnits);
  return qtyOk && quoteOk && qtyLots + quoteUnits > 0;
}

/** A limit order (LIMIT_MAKER only GTC): a price and a quantity, no quote amount. */
function validLimitTerms(
  orderType: number,
  tif: number,
  priceTicks: number,
  qtyLots: number,
  quoteUnits: number,
): boolean {
  if (orderType !== OrderType.Limit && orderType !== OrderType.LimitMaker) return false;
  if (!(tif === TimeInForce.GTC || tif === TimeInForce.IOC || tif === TimeInForce.FOK)) return false;
  if (orderType === OrderType.LimitMaker && tif !== TimeInForce.GTC) return false;
  return isPositiveSafe(priceTicks) && isPositiveSafe(qtyLots) && quoteUnits === 0;
}

/** The length of a free list threaded through `next`, failing if it is longer than `limit`. */
function countChain(head: number, next: Int32Array, limit: number): number {
  let n = 0;
  for (let at = head; at !== NIL; at = next[at]!) {
    n++;
    invariant(n <= limit, () => "a free list loops");
  }
  return n;
}

/**
 * Index of the first key >= `key` in ascending keys[0, n). Orders cluster near the best price,
 * which is at the end, so the search gallops backwards from the end before bisecting.
 */
function searchFromEnd(keys: Float64Array, n: number, key: number): number {
  let hi = n;
  let step = 1;
  let lo = n - 1;
  while (lo >= 0 && keys[lo]! >= key) {
    hi = lo;
    step <<= 1;
    lo = n - step;
  }
  if (lo < 0) lo = -1;
  // Invariant: keys[lo] < key (or lo = -1), keys[hi] >= key (or hi = n).
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! >= key) hi = mid;
    else lo = mid;
  }
  return hi;
}

type Grownable = Float64Array | Int32Array | Uint8Array;
function grow<T extends Grownable>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
