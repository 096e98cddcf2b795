/**
 * The vocabulary of orders and trades that every layer shares: the order's terms (side, type,
 * time in force, self-trade prevention), Binance's order statuses and the record of a trade.
 * The matching engine's protocol, UBSCore and the history store all speak it; it lives here so
 * that none of them has to import another for it.
 */
export enum Side {
  Buy = 0,
  Sell = 1,
}

export enum OrderType {
  Limit = 0,
  Market = 1,
  /** Post-only: rejected if any part would take liquidity (Binance LIMIT_MAKER). */
  LimitMaker = 2,
  /**
   * Triggered orders (Binance STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT): held
   * off the book until the last trade price reaches their stop price, then run as a MARKET
   * (or LIMIT) order. A stop-loss buys at or above, sells at or below, its stop price; a
   * take-profit the other way round.
   */
  StopLoss = 3,
  StopLossLimit = 4,
  TakeProfit = 5,
  TakeProfitLimit = 6,
}

export function isTriggered(type: OrderType): boolean {
  return type >= OrderType.StopLoss;
}

/** What a triggered order runs as once its stop price is reached (itself for other types). */
export function triggersAs(type: OrderType): OrderType {
  if (type === OrderType.StopLoss || type === OrderType.TakeProfit) return OrderType.Market;
  if (type === OrderType.StopLossLimit || type === OrderType.TakeProfitLimit) return OrderType.Limit;
  return type;
}

/**
 * Does a trade at `lastPrice` trigger the order? Binance's rule: the stop price of a STOP_LOSS
 * BUY or a TAKE_PROFIT SELL is above the market (reached when the price rises to it), that of a
 * STOP_LOSS SELL or a TAKE_PROFIT BUY below it (reached when the price falls to it).
 */
export function stopReached(type: OrderType, side: Side, stopPrice: number, lastPrice: number): boolean {
  if (lastPrice <= 0) return false;
  const stopLoss = type === OrderType.StopLoss || type === OrderType.StopLossLimit;
  return stopLoss === (side === Side.Buy) ? lastPrice >= stopPrice : lastPrice <= stopPrice;
}

export enum TimeInForce {
  GTC = 0,
  IOC = 1,
  FOK = 2,
}

/** Binance selfTradePreventionMode. Two orders self-trade when they have the same userId. */
export enum SelfTradePrevention {
  None = 0,
  ExpireTaker = 1,
  ExpireMaker = 2,
  ExpireBoth = 3,
}

/** Binance order statuses. */
export type OrderStatus =
  | "NEW"
  | "PARTIALLY_FILLED"
  | "FILLED"
  | "CANCELED"
  | "REJECTED"
  | "EXPIRED"
  | "EXPIRED_IN_MATCH"
  /** An order list's pending order (OTO, OTOCO), not on the book until its working order fills. */
  | "PENDING_NEW";

export interface TradeRecord {
  readonly tradeId: number;
  readonly marketId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteUnits: bigint;
  readonly time: number;
  readonly buyerOrderId: number;
  readonly sellerOrderId: number;
  readonly buyerUserId: number;
  readonly sellerUserId: number;
  readonly takerSide: Side;
  readonly buyerFee: bigint;
  readonly sellerFee: bigint;
}
