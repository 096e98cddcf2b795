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
  | "EXPIRED_IN_MATCH";

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
