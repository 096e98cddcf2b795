import {
  CancelReason,
  type Command,
  CommandType,
  EventType,
  ExpireReason,
  isTriggered,
  type MatchingEvent,
  OrderType,
  type PlaceCommand,
  RejectReason,
  SelfTradePrevention,
  Side,
  stopReached,
  TimeInForce,
  triggersAs,
} from "../src/protocol.ts";

/**
 * A deliberately simple order book: one flat array of resting orders, re-sorted whenever the
 * best order is needed. Slow and obviously right; the engine must produce exactly its events.
 */
interface RefOrder {
  id: number;
  user: number;
  side: Side;
  price: number;
  qty: number;
  stp: SelfTradePrevention;
  postOnly: boolean;
  time: number;
}

interface TakeResult {
  traded: boolean;
  stpExpired: boolean;
  quoteLeft: number;
}

const positive = (n: number) => Number.isSafeInteger(n) && n > 0;
const opposite = (side: Side) => (side === Side.Buy ? Side.Sell : Side.Buy);
/** Does the taker's limit reach the maker's price? */
const reaches = (t: RefOrder, m: RefOrder) => (t.side === Side.Buy ? m.price <= t.price : m.price >= t.price);
const selfTrade = (t: RefOrder, m: RefOrder) => t.stp !== SelfTradePrevention.None && m.user === t.user;

/** A market order: IOC, no price, by quantity or by quote amount (either or both, positive). */
function validMarket(c: PlaceCommand): boolean {
  if (c.tif !== TimeInForce.IOC || c.priceTicks !== 0) return false;
  return (
    (c.qtyLots === 0 || positive(c.qtyLots)) &&
    (c.quoteUnits === 0 || positive(c.quoteUnits)) &&
    c.qtyLots + c.quoteUnits > 0
  );
}

/** What is left of an order after it took: "rest", the reason it expires, or nothing left. */
function leftover(c: PlaceCommand, taker: RefOrder, result: TakeResult): ExpireReason | "rest" | undefined {
  if (result.stpExpired) return ExpireReason.SelfTrade;
  const isMarket = c.orderType === OrderType.Market;
  if (c.quoteUnits > 0) {
    const unfilled = c.qtyLots > 0 ? taker.qty > 0 : result.quoteLeft > 0;
    if (!unfilled) return undefined;
    return result.traded ? ExpireReason.IocRemainder : ExpireReason.NoLiquidity;
  }
  if (taker.qty === 0) return undefined;
  if (c.tif === TimeInForce.GTC && !isMarket) return "rest";
  return isMarket && !result.traded ? ExpireReason.NoLiquidity : ExpireReason.IocRemainder;
}

type Draft = MatchingEvent extends infer E ? (E extends MatchingEvent ? Omit<E, "seq"> : never) : never;

export class ReferenceBook {
  resting: RefOrder[] = [];
  /** Triggered orders waiting for their stop price, as placed. */
  stops: PlaceCommand[] = [];
  private lastPrice = 0;
  events: MatchingEvent[] = [];
  private seq = 0;
  private tradeId = 0;
  private clock = 0;
  private touched: [Side, number][] = [];

  constructor(private readonly quotePerTickLot: number) {}

  run(cmd: Command): MatchingEvent[] {
    const start = this.events.length;
    const trades = this.tradeId;
    switch (cmd.type) {
      case CommandType.Place:
        this.place(cmd);
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
    }
    this.flush();
    if (this.tradeId !== trades) this.trigger();
    return this.events.slice(start);
  }

  /** Runs the waiting orders the last price reached, lowest id first, until none is due. */
  private trigger(): void {
    for (;;) {
      const due = this.stops
        .filter((c) => stopReached(c.orderType, c.side, c.stopPriceTicks!, this.lastPrice))
        .sort((a, b) => a.orderId - b.orderId);
      if (due.length === 0) return;
      this.stops = this.stops.filter((c) => !due.includes(c));
      for (const c of due) {
        this.emit({ type: EventType.Triggered, orderId: c.orderId, userId: c.userId });
        this.runOrder({ ...c, orderType: triggersAs(c.orderType) });
        this.flush();
      }
    }
  }

  /** Resting orders in priority order: bids best first, then asks best first. */
  book(): { orderId: number; userId: number; side: Side; priceTicks: number; qtyLots: number }[] {
    return [...this.sorted(Side.Buy), ...this.sorted(Side.Sell)].map((o) => ({
      orderId: o.id,
      userId: o.user,
      side: o.side,
      priceTicks: o.price,
      qtyLots: o.qty,
    }));
  }

  private emit(e: Draft): void {
    this.events.push({ ...e, seq: ++this.seq } as MatchingEvent);
  }

  private touch(side: Side, price: number): void {
    if (!this.touched.some(([s, p]) => s === side && p === price)) this.touched.push([side, price]);
  }

  private flush(): void {
    for (const [side, price] of this.touched) {
      const totalLots = this.resting
        .filter((o) => o.side === side && o.price === price)
        .reduce((sum, o) => sum + o.qty, 0);
      this.emit({ type: EventType.BookLevel, side, priceTicks: price, totalLots });
    }
    this.touched = [];
  }

  private sorted(side: Side): RefOrder[] {
    return this.resting
      .filter((o) => o.side === side)
      .sort((a, b) => (side === Side.Buy ? b.price - a.price : a.price - b.price) || a.time - b.time);
  }

  private crosses(side: Side, price: number): boolean {
    const best = this.sorted(side === Side.Buy ? Side.Sell : Side.Buy)[0];
    return best !== undefined && (side === Side.Buy ? best.price <= price : best.price >= price);
  }

  private remove(o: RefOrder): void {
    this.resting = this.resting.filter((r) => r !== o);
    this.touch(o.side, o.price);
  }

  private valid(c: PlaceCommand): boolean {
    const stop = c.stopPriceTicks ?? 0;
    if (isTriggered(c.orderType)) {
      const as = triggersAs(c.orderType);
      return (
        as !== c.orderType &&
        positive(stop) &&
        positive(c.qtyLots) &&
        this.valid({ ...c, orderType: as, stopPriceTicks: 0 })
      );
    }
    if (stop !== 0) return false;
    if (!positive(c.orderId) || !positive(c.userId) || c.stp < 0 || c.stp > 3) return false;
    if (c.orderType === OrderType.Market) return validMarket(c);
    if (c.orderType === OrderType.LimitMaker && c.tif !== TimeInForce.GTC) return false;
    return positive(c.priceTicks) && positive(c.qtyLots) && c.quoteUnits === 0;
  }

  /** Why a new order is refused, in the engine's order of checks; undefined if it is not. */
  private rejectReason(c: PlaceCommand): RejectReason | undefined {
    if (!this.valid(c)) return RejectReason.InvalidCommand;
    if (this.resting.some((o) => o.id === c.orderId) || this.stops.some((s) => s.orderId === c.orderId))
      return RejectReason.DuplicateOrderId;
    if (c.orderType === OrderType.LimitMaker && this.crosses(c.side, c.priceTicks))
      return RejectReason.PostOnlyWouldTake;
    if (isTriggered(c.orderType) && stopReached(c.orderType, c.side, c.stopPriceTicks!, this.lastPrice))
      return RejectReason.WouldTriggerImmediately;
    return undefined;
  }

  private place(c: PlaceCommand): void {
    const { orderId, userId } = c;
    const reason = this.rejectReason(c);
    if (reason !== undefined) {
      this.emit({ type: EventType.Rejected, orderId, userId, reason });
      return;
    }
    this.emit({
      type: EventType.Accepted,
      orderId,
      userId,
      side: c.side,
      orderType: c.orderType,
      tif: c.tif,
      priceTicks: c.priceTicks,
      qtyLots: c.qtyLots,
      quoteUnits: c.quoteUnits,
      ...(isTriggered(c.orderType) ? { stopPriceTicks: c.stopPriceTicks } : {}),
    });
    if (isTriggered(c.orderType)) this.stops.push(c);
    else this.runOrder(c);
  }

  private runOrder(c: PlaceCommand): void {
    const { orderId, userId } = c;
    const isMarket = c.orderType === OrderType.Market;
    const taker: RefOrder = {
      id: orderId,
      user: userId,
      side: c.side,
      price: isMarket ? (c.side === Side.Buy ? Number.POSITIVE_INFINITY : 0) : c.priceTicks,
      qty: c.qtyLots,
      stp: c.stp,
      postOnly: c.orderType === OrderType.LimitMaker,
      time: 0,
    };
    if (c.tif === TimeInForce.FOK && !this.fillable(taker)) {
      this.emit({
        type: EventType.Expired,
        orderId,
        userId,
        remainingLots: c.qtyLots,
        remainingQuoteUnits: 0,
        reason: ExpireReason.FokUnfilled,
      });
      return;
    }
    this.finish(c, taker, this.take(taker, c.quoteUnits));
  }

  /** After taking: what is left of the order rests or expires. */
  private finish(c: PlaceCommand, taker: RefOrder, result: TakeResult): void {
    const left = leftover(c, taker, result);
    if (left === "rest") this.rest(taker);
    else if (left !== undefined)
      this.emit({
        type: EventType.Expired,
        orderId: c.orderId,
        userId: c.userId,
        remainingLots: taker.qty,
        remainingQuoteUnits: result.quoteLeft,
        reason: left,
      });
  }

  private rest(o: RefOrder): void {
    o.time = ++this.clock;
    this.resting.push(o);
    this.touch(o.side, o.price);
  }

  /** Would the order fill completely, walking the book as matching would? */
  private fillable(t: RefOrder): boolean {
    let need = t.qty;
    for (const m of this.sorted(opposite(t.side))) {
      if (!reaches(t, m)) return false;
      if (selfTrade(t, m)) {
        if (t.stp === SelfTradePrevention.ExpireMaker) continue;
        return false;
      }
      need -= m.qty;
      if (need <= 0) return true;
    }
    return false;
  }

  private take(t: RefOrder, quoteUnits: number): TakeResult {
    const byQty = t.qty > 0;
    const result = { traded: false, stpExpired: false, quoteLeft: quoteUnits };
    // What the taker may still spend: its quote amount's rest, or no bound when it is by quantity.
    const budget = () => (quoteUnits > 0 ? result.quoteLeft : Number.POSITIVE_INFINITY);
    for (let m = this.nextMaker(t, byQty, budget()); m; m = this.nextMaker(t, byQty, budget())) {
      if (selfTrade(t, m)) {
        if (this.preventSelfTrade(t, m)) return { ...result, stpExpired: true };
        continue;
      }
      const lotCost = m.price * this.quotePerTickLot;
      const affordable =
        quoteUnits > 0 ? Number(BigInt(result.quoteLeft) / BigInt(lotCost)) : Number.POSITIVE_INFINITY;
      const fill = Math.min(byQty ? Math.min(t.qty, affordable) : affordable, m.qty);
      if (quoteUnits > 0) result.quoteLeft -= fill * lotCost;
      if (byQty) t.qty -= fill;
      result.traded = true;
      this.trade(t, m, fill);
    }
    return result;
  }

  /** The best maker the taker can still trade with: in its limit, affordable, and lots left. */
  private nextMaker(t: RefOrder, byQty: boolean, budget: number): RefOrder | undefined {
    const m = this.sorted(opposite(t.side))[0];
    if (!m || !reaches(t, m) || (byQty && t.qty === 0)) return undefined;
    return budget < m.price * this.quotePerTickLot ? undefined : m;
  }

  /** The maker leaves unless the mode expires only the taker; true if the taker expires. */
  private preventSelfTrade(t: RefOrder, m: RefOrder): boolean {
    if (t.stp !== SelfTradePrevention.ExpireTaker) {
      this.emit({
        type: EventType.Expired,
        orderId: m.id,
        userId: m.user,
        remainingLots: m.qty,
        remainingQuoteUnits: 0,
        reason: ExpireReason.SelfTrade,
      });
      this.remove(m);
    }
    return t.stp !== SelfTradePrevention.ExpireMaker;
  }

  /** `fill` lots from maker to taker (whose quantity is already reduced) at the maker's price. */
  private trade(t: RefOrder, m: RefOrder, fill: number): void {
    m.qty -= fill;
    this.lastPrice = m.price;
    this.emit({
      type: EventType.Trade,
      tradeId: ++this.tradeId,
      takerOrderId: t.id,
      takerUserId: t.user,
      makerOrderId: m.id,
      makerUserId: m.user,
      takerSide: t.side,
      priceTicks: m.price,
      qtyLots: fill,
      takerRemainingLots: t.qty,
      makerRemainingLots: m.qty,
    });
    this.touch(m.side, m.price);
    if (m.qty === 0) this.remove(m);
  }

  private owned(orderId: number, userId: number): RefOrder | undefined {
    const o = this.resting.find((r) => r.id === orderId);
    if (!o) this.emit({ type: EventType.Rejected, orderId, userId, reason: RejectReason.UnknownOrder });
    else if (o.user !== userId)
      this.emit({ type: EventType.Rejected, orderId, userId, reason: RejectReason.NotOwner });
    else return o;
    return undefined;
  }

  private cancel(orderId: number, userId: number): void {
    const stop = this.stops.find((c) => c.orderId === orderId);
    if (stop) {
      if (stop.userId !== userId)
        this.emit({ type: EventType.Rejected, orderId, userId, reason: RejectReason.NotOwner });
      else this.cancelStop(stop, CancelReason.User);
      return;
    }
    const o = this.owned(orderId, userId);
    if (!o) return;
    this.emit({
      type: EventType.Cancelled,
      orderId,
      userId,
      remainingLots: o.qty,
      reason: CancelReason.User,
    });
    this.remove(o);
  }

  private cancelStop(c: PlaceCommand, reason: CancelReason): void {
    this.emit({
      type: EventType.Cancelled,
      orderId: c.orderId,
      userId: c.userId,
      remainingLots: c.qtyLots,
      reason,
    });
    this.stops = this.stops.filter((s) => s !== c);
  }

  private cancelAll(userId: number): void {
    const ids = [
      ...this.resting.filter((r) => r.user === userId).map((r) => r.id),
      ...this.stops.filter((c) => c.userId === userId).map((c) => c.orderId),
    ].sort((a, b) => a - b);
    for (const id of ids) {
      const stop = this.stops.find((c) => c.orderId === id);
      if (stop) this.cancelStop(stop, CancelReason.CancelAll);
      else this.cancelResting(this.resting.find((r) => r.id === id)!);
    }
  }

  private cancelResting(o: RefOrder): void {
    this.emit({
      type: EventType.Cancelled,
      orderId: o.id,
      userId: o.user,
      remainingLots: o.qty,
      reason: CancelReason.CancelAll,
    });
    this.remove(o);
  }

  private reduce(orderId: number, userId: number, lots: number): void {
    const o = this.owned(orderId, userId);
    if (!o) return;
    const reason =
      !Number.isSafeInteger(lots) || lots <= 0 ? RejectReason.InvalidCommand : RejectReason.ReduceToNothing;
    if (reason === RejectReason.InvalidCommand || lots >= o.qty) {
      this.emit({ type: EventType.Rejected, orderId, userId, reason });
      return;
    }
    this.amend(orderId, userId, o.price, o.qty - lots);
  }

  private amend(orderId: number, userId: number, price: number, qty: number): void {
    const o = this.owned(orderId, userId);
    if (!o) return;
    if (!Number.isSafeInteger(price) || price <= 0 || !Number.isSafeInteger(qty) || qty <= 0) {
      this.emit({ type: EventType.Rejected, orderId, userId, reason: RejectReason.InvalidCommand });
      return;
    }
    if (price === o.price && qty <= o.qty) {
      this.emit({
        type: EventType.Amended,
        orderId,
        userId,
        priceTicks: price,
        qtyLots: qty,
        keptPriority: true,
      });
      if (qty < o.qty) {
        o.qty = qty;
        this.touch(o.side, o.price);
      }
      return;
    }
    if (o.postOnly && this.crosses(o.side, price)) {
      this.emit({ type: EventType.Rejected, orderId, userId, reason: RejectReason.PostOnlyWouldTake });
      return;
    }
    this.remove(o);
    this.emit({
      type: EventType.Amended,
      orderId,
      userId,
      priceTicks: price,
      qtyLots: qty,
      keptPriority: false,
    });
    o.price = price;
    o.qty = qty;
    const result = this.take(o, 0);
    if (result.stpExpired) {
      this.emit({
        type: EventType.Expired,
        orderId,
        userId,
        remainingLots: o.qty,
        remainingQuoteUnits: 0,
        reason: ExpireReason.SelfTrade,
      });
    } else if (o.qty > 0) this.rest(o);
  }
}
