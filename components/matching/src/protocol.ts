/**
 * The matching engine's contract with the rest of Bourse: commands in, sequenced events out.
 * These object forms are what downstream components (UBSCore, gateway market data, settlement)
 * consume; the engine's hot path writes the same events into a binary buffer (see events.ts) and
 * these objects are its decoded view. Numeric enums so the binary form is a straight copy.
 *
 * Units: prices in ticks, quantities in lots (see domain/market.ts), quote amounts in the quote
 * asset's smallest units. All are safe integers.
 */
import type {
  OrderId,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
  UserId,
} from "../../domain/src/index.ts";

export {
  isTriggered,
  OrderType,
  SelfTradePrevention,
  Side,
  stopReached,
  TimeInForce,
  triggersAs,
} from "../../domain/src/index.ts";

export enum CommandType {
  Place = 0,
  Cancel = 1,
  CancelAll = 2,
  Amend = 3,
  /** Takes lots off a resting order in place, keeping its time priority (Binance keepPriority). */
  Reduce = 4,
  /**
   * Places an OCO (Binance one-cancels-the-other): two orders of one user, side and quantity
   * under ids `orderId` and `orderId + 1`, linked so that the first of them to trade, trigger or
   * expire expires the other, and cancelling either cancels both. Both are placed or neither.
   */
  PlaceOco = 5,
}

export interface PlaceCommand {
  type: CommandType.Place;
  orderId: OrderId;
  userId: UserId;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
  /** Limit price; 0 for market orders. */
  priceTicks: number;
  /** Quantity in lots; 0 for a market order by quote amount. */
  qtyLots: number;
  /**
   * Market orders only, in quote units; 0 otherwise. Alone (qtyLots 0): spend or receive this
   * much quote (Binance quoteOrderQty). With qtyLots: a budget that caps a market order by
   * quantity (the balance core uses it so a market buy cannot spend more than it froze).
   */
  quoteUnits: number;
  stp: SelfTradePrevention;
  /** Triggered order types only: the price whose trade sets it off (absent or 0 otherwise). */
  stopPriceTicks?: number;
}

export interface CancelCommand {
  type: CommandType.Cancel;
  orderId: OrderId;
  userId: UserId;
}

export interface CancelAllCommand {
  type: CommandType.CancelAll;
  userId: UserId;
}

/** Keeps time priority only when the price is unchanged and the quantity goes down. */
export interface AmendCommand {
  type: CommandType.Amend;
  orderId: OrderId;
  userId: UserId;
  /** New limit price (the current one to keep it). */
  priceTicks: number;
  /** New remaining quantity in lots (> 0). */
  qtyLots: number;
}

/**
 * Takes `qtyLots` off what the order still asks for, in place. A decrement rather than a new
 * quantity, so it means the same whatever fills happen before it arrives (a reduce forwarded
 * to a matching service races the trades ahead of it); one that would leave nothing is refused.
 */
export interface ReduceCommand {
  type: CommandType.Reduce;
  orderId: OrderId;
  userId: UserId;
  /** Lots to take off (> 0, below what remains). */
  qtyLots: number;
}

/** One order of an OCO: what differs between its two legs. */
export interface OcoLeg {
  orderType: OrderType;
  tif: TimeInForce;
  /** Limit price; 0 for a leg that runs as a market order. */
  priceTicks: number;
  /** Triggered legs only (0 otherwise). */
  stopPriceTicks: number;
}

export interface PlaceOcoCommand {
  type: CommandType.PlaceOco;
  /** The first leg's id; the second leg's is the next. */
  orderId: OrderId;
  userId: UserId;
  side: Side;
  qtyLots: number;
  /** A leg that runs as a market buy spends at most this (the list's one reservation); 0 otherwise. */
  quoteUnits: number;
  stp: SelfTradePrevention;
  legs: readonly [OcoLeg, OcoLeg];
}

export type Command =
  | PlaceCommand
  | CancelCommand
  | CancelAllCommand
  | AmendCommand
  | ReduceCommand
  | PlaceOcoCommand;

export enum EventType {
  Accepted = 0,
  Trade = 1,
  Cancelled = 2,
  Expired = 3,
  Rejected = 4,
  Amended = 5,
  BookLevel = 6,
  /** A triggered order's stop price was reached: it runs now (its trades follow). */
  Triggered = 7,
}

export enum ExpireReason {
  /** IOC or market order remainder after matching what it could. */
  IocRemainder = 0,
  /** FOK could not be filled entirely: nothing traded. */
  FokUnfilled = 1,
  /** Self-trade prevention expired this order (Binance EXPIRED_IN_MATCH). */
  SelfTrade = 2,
  /** Market order met an empty opposite side or ran out of quote amount below one lot. */
  NoLiquidity = 3,
  /** The other order of its OCO traded, triggered or expired first (Binance: the list is ALL_DONE). */
  OrderListDone = 4,
}

export enum RejectReason {
  DuplicateOrderId = 0,
  UnknownOrder = 1,
  /** LIMIT_MAKER would have taken liquidity. */
  PostOnlyWouldTake = 2,
  InvalidCommand = 3,
  /** Cancel/amend of an order that belongs to another user. */
  NotOwner = 4,
  /** A reduce of as much as the order has left, or more (it would leave nothing to rest). */
  ReduceToNothing = 5,
  /** A triggered order whose stop price the last trade has already reached (Binance refuses it). */
  WouldTriggerImmediately = 6,
}

export enum CancelReason {
  User = 0,
  CancelAll = 1,
}

interface EventBase {
  /** Per-market sequence number, gap-free from 1. */
  seq: number;
}

export interface AcceptedEvent extends EventBase {
  type: EventType.Accepted;
  orderId: OrderId;
  userId: UserId;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
  priceTicks: number;
  qtyLots: number;
  quoteUnits: number;
  /** Triggered order types only. */
  stopPriceTicks?: number;
}

/** One fill at the maker's price. Remaining quantities are after this fill. */
export interface TradeEvent extends EventBase {
  type: EventType.Trade;
  /** Per-market trade id, gap-free from 1. */
  tradeId: number;
  takerOrderId: OrderId;
  takerUserId: UserId;
  makerOrderId: OrderId;
  makerUserId: UserId;
  takerSide: Side;
  priceTicks: number;
  qtyLots: number;
  takerRemainingLots: number;
  makerRemainingLots: number;
}

export interface CancelledEvent extends EventBase {
  type: EventType.Cancelled;
  orderId: OrderId;
  userId: UserId;
  remainingLots: number;
  reason: CancelReason;
}

/** The order is done with `remainingLots` unfilled (for market-by-quote: `remainingQuoteUnits` unspent). */
export interface ExpiredEvent extends EventBase {
  type: EventType.Expired;
  orderId: OrderId;
  userId: UserId;
  remainingLots: number;
  remainingQuoteUnits: number;
  reason: ExpireReason;
}

export interface RejectedEvent extends EventBase {
  type: EventType.Rejected;
  orderId: OrderId;
  userId: UserId;
  reason: RejectReason;
}

export interface AmendedEvent extends EventBase {
  type: EventType.Amended;
  orderId: OrderId;
  userId: UserId;
  priceTicks: number;
  qtyLots: number;
  keptPriority: boolean;
}

export interface TriggeredEvent extends EventBase {
  type: EventType.Triggered;
  orderId: OrderId;
  userId: UserId;
}

/** The aggregate resting quantity at one price after this command; 0 means the level is gone. */
export interface BookLevelEvent extends EventBase {
  type: EventType.BookLevel;
  side: Side;
  priceTicks: number;
  totalLots: number;
}

export type MatchingEvent =
  | AcceptedEvent
  | TradeEvent
  | CancelledEvent
  | ExpiredEvent
  | RejectedEvent
  | AmendedEvent
  | BookLevelEvent
  | TriggeredEvent;
