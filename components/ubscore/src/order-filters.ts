import { fail, type Market, notional } from "../../domain/src/index.ts";
import { isTriggered, OrderType, Side, TimeInForce, triggersAs } from "../../matching/src/index.ts";
import { MAX_SAFE } from "./state.ts";
import type { PlaceOco, PlaceOrder } from "./types.ts";

/**
 * Binance filters that need no state: price and quantity ranges, notional. Pure: also what
 * `order/test` checks without placing anything.
 */
export function checkOrderFilters(market: Market, cmd: PlaceOrder): void {
  const isMarket = triggersAs(cmd.type) === OrderType.Market;
  checkStopPrice(market, cmd);
  if (!isMarket) checkLimitPrice(market, cmd);
  if (cmd.qtyLots !== 0 || !isMarket) checkQuantity(market, cmd.qtyLots);
  if (isMarket && (cmd.qtyLots === 0) === (cmd.quoteUnits === 0n)) {
    fail("INVALID_ARGUMENT", "A MARKET order takes either quantity or quoteOrderQty.");
  }
  if (!isMarket && cmd.quoteUnits !== 0n)
    fail("INVALID_ARGUMENT", "quoteOrderQty is for MARKET orders only.");
  const orderNotional = isMarket ? cmd.quoteUnits : notional(market, cmd.priceTicks, cmd.qtyLots);
  if ((!isMarket || cmd.quoteUnits > 0n) && orderNotional < market.minNotional) {
    fail("BELOW_MIN_NOTIONAL", "Filter failure: NOTIONAL");
  }
}

/** A priced order's price, in the price filter's range; a LIMIT_MAKER is GTC. */
function checkLimitPrice(market: Market, cmd: PlaceOrder): void {
  if (!inPriceRange(market, cmd.priceTicks)) fail("OUT_OF_RANGE", "Filter failure: PRICE_FILTER");
  if (cmd.type === OrderType.LimitMaker && cmd.tif !== TimeInForce.GTC)
    fail("INVALID_ARGUMENT", "LIMIT_MAKER orders are GTC");
}

function checkQuantity(market: Market, qtyLots: number): void {
  if (!Number.isSafeInteger(qtyLots) || qtyLots < market.minQtyLots || qtyLots > market.maxQtyLots) {
    fail("OUT_OF_RANGE", "Filter failure: LOT_SIZE");
  }
}

function inPriceRange(market: Market, ticks: number | undefined): boolean {
  return (
    ticks !== undefined &&
    Number.isSafeInteger(ticks) &&
    ticks >= market.minPriceTicks &&
    ticks <= market.maxPriceTicks
  );
}

/** A triggered order's stop price, in the price filter's range; no other order has one. */
function checkStopPrice(market: Market, cmd: PlaceOrder): void {
  if (!isTriggered(cmd.type)) {
    if (cmd.stopPriceTicks !== undefined && cmd.stopPriceTicks !== 0)
      fail("INVALID_ARGUMENT", "Only triggered orders take a stopPrice.");
    return;
  }
  if (!inPriceRange(market, cmd.stopPriceTicks)) fail("OUT_OF_RANGE", "Filter failure: PRICE_FILTER");
  if (cmd.quoteUnits !== 0n) fail("INVALID_ARGUMENT", "quoteOrderQty is for MARKET orders only.");
  if (cmd.type > OrderType.TakeProfitLimit) fail("INVALID_ARGUMENT", "Unknown order type.");
}

/** A market order's quote amount as the engine's budget (a double: exact up to 2^53). */
export function quoteBudget(cmd: PlaceOrder): number {
  if (cmd.quoteUnits > MAX_SAFE) fail("OUT_OF_RANGE", "quoteOrderQty is too large");
  return Number(cmd.quoteUnits);
}

const TAKE_PROFIT_LIKE = new Set([OrderType.LimitMaker, OrderType.TakeProfit, OrderType.TakeProfitLimit]);
const STOP_LOSS_LIKE = new Set([OrderType.StopLoss, OrderType.StopLossLimit]);

/**
 * Binance's OCO rules: one leg LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT, the other
 * STOP_LOSS or STOP_LOSS_LIMIT, on the side where each belongs (a SELL takes profit above the
 * market and stops its loss below; a BUY the other way round), their prices on either side of
 * the last trade: for a SELL, above leg's price (its stop price for a TAKE_PROFIT) > last price >
 * below leg's stop price; for a BUY, below leg's price (stop price) < last price < above leg's
 * stop price. Before the first trade, the legs' prices only need to be in that order.
 */
export function checkOcoPrices(cmd: PlaceOco, lastPrice: number): void {
  const [profit, loss] =
    cmd.side === Side.Sell ? (["above", "below"] as const) : (["below", "above"] as const);
  const profitType = cmd[`${profit}Type`];
  if (!TAKE_PROFIT_LIKE.has(profitType) || !STOP_LOSS_LIKE.has(cmd[`${loss}Type`]))
    fail(
      "INVALID_ARGUMENT",
      cmd.side === Side.Sell
        ? "A SELL OCO's above order is LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT; its below order STOP_LOSS or STOP_LOSS_LIMIT."
        : "A BUY OCO's below order is LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT; its above order STOP_LOSS or STOP_LOSS_LIMIT.",
    );
  const profitPrice =
    profitType === OrderType.LimitMaker || profitType === OrderType.TakeProfitLimit
      ? cmd[`${profit}PriceTicks`]
      : cmd[`${profit}StopPriceTicks`];
  const stop = cmd[`${loss}StopPriceTicks`];
  const [high, low] = cmd.side === Side.Sell ? [profitPrice, stop] : [stop, profitPrice];
  const ordered = lastPrice > 0 ? high > lastPrice && lastPrice > low : high > low;
  if (!ordered) fail("ORDER_REJECTED", "The relationship of the prices for the orders is not correct.");
}
