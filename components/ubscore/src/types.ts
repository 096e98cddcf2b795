import type { OrderStatus } from "../../domain/src/index.ts";
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from "../../matching/src/index.ts";

export type { OrderStatus, TradeRecord } from "../../domain/src/index.ts";

/**
 * Inputs of UBSCore. Each is journaled before it runs; state = replay of these in order, so
 * everything that varies (time, client order ids) is decided by the caller and carried here.
 */
export type UbsCommand =
  | { readonly kind: "createUser"; readonly userId: number }
  /** A user with the next free id, chosen as the command runs (see CommandResult.userId). */
  | { readonly kind: "addUser" }
  | {
      readonly kind: "credit";
      readonly userId: number;
      readonly asset: string;
      readonly amount: bigint;
      /** The operator's idempotency key: a credit with a known one changes nothing. */
      readonly depositId?: string;
    }
  | { readonly kind: "debit"; readonly userId: number; readonly asset: string; readonly amount: bigint }
  | {
      readonly kind: "holdWithdrawal";
      readonly withdrawalId: string;
      readonly userId: number;
      readonly asset: string;
      readonly amount: bigint;
    }
  | { readonly kind: "completeWithdrawal" | "cancelWithdrawal"; readonly withdrawalId: string }
  | {
      /** Funding -> Trading (credit) or Trading -> Funding (debit) of an internal transfer, once per sequence. */
      readonly kind: "transferIn" | "transferOut";
      readonly transferSeq: number;
      readonly userId: number;
      readonly asset: string;
      readonly amount: bigint;
    }
  | PlaceOrder
  | PlaceOco
  | PlaceOto
  | ({
      readonly kind: "cancel";
      readonly userId: number;
      readonly symbol: string;
      readonly orderId?: number;
      readonly clientOrderId?: string;
      readonly time: number;
    } & SignedOnce)
  | AmendOrder
  | ({
      readonly kind: "cancelAll";
      readonly userId: number;
      readonly symbol: string;
      readonly time: number;
    } & SignedOnce)
  | { readonly kind: "halt" | "resume"; readonly symbol: string }
  /**
   * A signed request that changes no state UBSCore keeps but must still be taken once (a
   * WebSocket API session's logon): it takes the request's signature and does nothing else.
   */
  | ({ readonly kind: "takeSignature"; readonly userId: number; readonly time: number } & SignedOnce)
  | ListenKeyCommand
  | MatchedOutcome;

/**
 * What the matching service answered to the order command UBSCore forwarded to it as `seq` of
 * the market (matching.kind service): the engine's events, in their binary layout. UBSCore
 * journals it like a command, so replaying the journal never needs the matching process.
 */
export interface MatchedOutcome {
  readonly kind: "matched";
  readonly marketId: number;
  readonly seq: number;
  readonly events: Uint8Array;
}

/**
 * A command from a signed request carries the request's HMAC and the end of its recvWindow, so
 * UBSCore takes each signed request once (see used-signatures.ts). Commands from elsewhere (the
 * operator, tests) carry neither.
 */
export interface SignedOnce {
  readonly signature?: Uint8Array;
  /** When the request's recvWindow closes: its timestamp + recvWindow (ms). */
  readonly validUntil?: number;
}

/**
 * The commands that place, change or cancel orders: what a matching service runs (forwarded with
 * matching.kind service) and the core of what a trading client may submit through a gateway.
 */
export const ORDER_COMMAND_KINDS: readonly UbsCommand["kind"][] = [
  "place",
  "placeOco",
  "placeOto",
  "cancel",
  "cancelAll",
  "amend",
];

export interface PlaceOrder extends SignedOnce {
  readonly kind: "place";
  readonly userId: number;
  readonly symbol: string;
  readonly clientOrderId: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  /** Limit price in ticks (0 for market orders). */
  readonly priceTicks: number;
  /** Quantity in lots (0 for a market order by quote amount). */
  readonly qtyLots: number;
  /** Market orders by quote amount (quoteOrderQty), in quote units; 0 otherwise. */
  readonly quoteUnits: bigint;
  readonly stp: SelfTradePrevention;
  readonly time: number;
  /** Triggered order types (STOP_LOSS, ...) only: the last trade price that sets it off. */
  readonly stopPriceTicks?: number;
}

/**
 * Binance's OCO (POST /api/v3/orderList/oco): two orders of one side and quantity, the above leg
 * and the below leg, of which the first to trade or trigger expires the other. They share one
 * reservation: the quantity is sold (or paid for) once. Prices in ticks, 0 where a leg's type
 * has none (stop prices of LIMIT_MAKER legs, limit prices of STOP_LOSS and TAKE_PROFIT legs).
 */
export interface PlaceOco extends SignedOnce {
  readonly kind: "placeOco";
  readonly userId: number;
  readonly symbol: string;
  readonly listClientOrderId: string;
  readonly side: Side;
  readonly qtyLots: number;
  readonly stp: SelfTradePrevention;
  readonly time: number;
  readonly aboveClientOrderId: string;
  readonly aboveType: OrderType;
  readonly aboveTif: TimeInForce;
  readonly abovePriceTicks: number;
  readonly aboveStopPriceTicks: number;
  readonly belowClientOrderId: string;
  readonly belowType: OrderType;
  readonly belowTif: TimeInForce;
  readonly belowPriceTicks: number;
  readonly belowStopPriceTicks: number;
}

/**
 * Binance's OTO and OTOCO (POST /api/v3/orderList/oto, /otoco): a working order (LIMIT or
 * LIMIT_MAKER) placed at once, and pending orders placed only when it is fully filled: one (OTO,
 * the `pending...` fields), or an OCO pair (OTOCO: `pending...` is the above leg, and the
 * `pendingBelow...` fields, present only then, the below leg). Prices in ticks, 0 where a type
 * has none (see PlaceOco).
 */
export interface PlaceOto extends SignedOnce {
  readonly kind: "placeOto";
  readonly userId: number;
  readonly symbol: string;
  readonly listClientOrderId: string;
  readonly stp: SelfTradePrevention;
  readonly time: number;
  readonly workingClientOrderId: string;
  readonly workingType: OrderType;
  readonly workingSide: Side;
  readonly workingTif: TimeInForce;
  readonly workingPriceTicks: number;
  readonly workingQtyLots: number;
  readonly pendingSide: Side;
  /** 0: an OPO or OPOCO, whose pending quantity is what the working order receives. */
  readonly pendingQtyLots: number;
  readonly pendingClientOrderId: string;
  readonly pendingType: OrderType;
  readonly pendingTif: TimeInForce;
  readonly pendingPriceTicks: number;
  readonly pendingStopPriceTicks: number;
  readonly pendingBelowClientOrderId?: string;
  readonly pendingBelowType?: OrderType;
  readonly pendingBelowTif?: TimeInForce;
  readonly pendingBelowPriceTicks?: number;
  readonly pendingBelowStopPriceTicks?: number;
}

/**
 * An order list (Binance's orderList).
 * - OCO: its legs are `orderIds` (below, then above). While both legs are open the list holds
 *   their one reservation (`reserved`); once one is done the other takes it over, trimmed to what
 *   it still needs.
 * - OTO: `orderIds` are the working order, then the pending order (OTO) or the pending above and
 *   below legs (OTOCO). The working order reserves its own funds; the pending ones reserve
 *   nothing (PENDING_NEW) until the working order fills, when they are checked and frozen (an
 *   OTOCO's pair then held by the list, as an OCO's).
 */
export interface OrderList {
  readonly orderListId: number;
  readonly userId: number;
  readonly marketId: number;
  readonly listClientOrderId: string;
  readonly contingencyType: "OCO" | "OTO";
  readonly orderIds: readonly number[];
  listStatusType: "EXEC_STARTED" | "ALL_DONE";
  listOrderStatus: "EXECUTING" | "ALL_DONE" | "REJECT";
  readonly transactionTime: number;
  updateTime: number;
  reserved: bigint;
  readonly reserveAsset: number;
  /**
   * An OPO or OPOCO (One Pays the Other): what the working BUY receives is locked in `reserved`
   * as it arrives, and is the pending SELL's quantity (whole lots; the rest unlocked) once it fills.
   */
  readonly opo?: true;
}

/**
 * Binance's order amend keep priority: lowers an open order's quantity to `newQtyLots` (its
 * executed quantity included) where it stands in the queue, and renames it `newClientOrderId`
 * (the gateway draws one when the request names none, so replay renames it the same way).
 */
export interface AmendOrder extends SignedOnce {
  readonly kind: "amend";
  readonly userId: number;
  readonly symbol: string;
  readonly orderId?: number;
  readonly clientOrderId?: string;
  readonly newClientOrderId: string;
  readonly newQtyLots: number;
  readonly time: number;
}

export interface Fill {
  readonly tradeId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteUnits: bigint;
  readonly fee: bigint;
  readonly isMaker: boolean;
}

export interface OrderRecord {
  readonly orderId: number;
  readonly userId: number;
  readonly marketId: number;
  /** Changes only by an amend (keepPriority). */
  clientOrderId: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly priceTicks: number;
  /** Ordered lots (0 for a market order by quote amount); lowered only by an amend. */
  origQtyLots: number;
  readonly quoteOrderUnits: bigint;
  readonly stp: SelfTradePrevention;
  readonly time: number;
  executedLots: number;
  cumQuote: bigint;
  status: OrderStatus;
  updateTime: number;
  /** What is still frozen for this order, in `reserveAsset` units. */
  reserved: bigint;
  readonly reserveAsset: number;
  readonly fills: Fill[];
  /** Triggered order types only: the stop price, and when it was reached (absent until then). */
  readonly stopPriceTicks?: number;
  workingTime?: number;
  /** An order list's pending order, once its working order filled: when it went to the book. */
  placedTime?: number;
  /**
   * Triggered orders, once reached: where they entered the book, for time priority among orders
   * at one price (after every order placed before they fired: the last order id then, and the
   * engine's event sequence among those fired by the same command).
   */
  enteredBook?: { readonly afterOrderId: number; readonly seq: number };
  /** A leg of an order list (OrderList): while its partner is open the list holds the reservation. */
  readonly orderListId?: number;
  /** The matches self-trade prevention kept it from, as taker or maker (absent until the first). */
  preventedMatches?: PreventedMatch[];
  /** Its amends (keepPriority), oldest first (absent until the first): Binance's order/amendments. */
  amendments?: Amendment[];
}

/**
 * A match self-trade prevention kept from happening (Binance's myPreventedMatches): the taker's
 * mode decided it; the maker's price is where they would have traded.
 */
export interface PreventedMatch {
  /** Per market, from 1. */
  readonly preventedMatchId: number;
  readonly takerOrderId: number;
  readonly makerOrderId: number;
  readonly stp: SelfTradePrevention;
  readonly priceTicks: number;
  /** What the maker had left to fill, that the prevention kept from trading. */
  readonly makerPreventedLots: number;
  readonly time: number;
}

/** One amend of an order, as Binance lists it. */
export interface Amendment {
  /** The book's event sequence of the amend in its market (the amend's answer says it too). */
  readonly executionId: number;
  readonly origClientOrderId: string;
  /** The id it took (the one it had, if another open order took that id meanwhile). */
  newClientOrderId: string;
  readonly origQtyLots: number;
  readonly newQtyLots: number;
  readonly time: number;
}

export interface Balance {
  available: bigint;
  frozen: bigint;
}

/** A withdrawal in two phases: funds are held (frozen) first, then leave or return. */
export interface Withdrawal {
  readonly withdrawalId: string;
  /** Assigned by the core in order: the ledger derives the withdrawal's transfer ids from it. */
  readonly seq: number;
  readonly userId: number;
  readonly assetId: number;
  readonly amount: bigint;
  status: "HELD" | "COMPLETED" | "CANCELED";
}

/** What a user does with a user data stream's listen key (ListenKeys). */
export enum ListenKeyOp {
  Create = 0,
  KeepAlive = 1,
  Close = 2,
}

/**
 * A listen key made, kept alive or closed. Creation carries the key (random, chosen by the
 * gateway) and the terms, so that replay decides as the first run did.
 */
export interface ListenKeyCommand {
  readonly kind: "listenKey";
  readonly op: ListenKeyOp;
  readonly userId: number;
  readonly key: string;
  readonly time: number;
  readonly ttlMs: number;
  readonly maxPerUser: number;
}
