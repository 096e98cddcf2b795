import type { Asset } from "./asset.ts";
import { formatUnits, parseUnits, pow10 } from "./decimal.ts";
import { fail } from "./errors.ts";

/** A market as people write it: decimal strings, the way Binance's exchangeInfo filters read. */
export interface MarketSpec {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minPrice: string;
  readonly maxPrice: string;
  readonly minQty: string;
  readonly maxQty: string;
  readonly minNotional: string;
  /** Fees in parts per million of the trade's quote notional (1_000 = 0.1%), always paid in the quote asset. */
  readonly makerFeePpm: number;
  readonly takerFeePpm: number;
}

/**
 * A market in integers. The matching hot path works in ticks (price / tickSize) and lots
 * (quantity / stepSize), both JS numbers that are exact because they are bounded below 2^53.
 * Money (balances, notional, fees) is bigint in the assets' smallest units.
 */
export interface Market {
  readonly id: number;
  readonly symbol: string;
  readonly base: Asset;
  readonly quote: Asset;
  readonly spec: MarketSpec;
  /** Quote units in one tick of price; base units in one lot of quantity. */
  readonly tickUnits: bigint;
  readonly lotUnits: bigint;
  /** Quote units paid for one lot at a price of one tick: notional = ticks * lots * quotePerTickLot. */
  readonly quotePerTickLot: bigint;
  readonly minPriceTicks: number;
  readonly maxPriceTicks: number;
  readonly minQtyLots: number;
  readonly maxQtyLots: number;
  readonly minNotional: bigint;
  readonly makerFeePpm: bigint;
  readonly takerFeePpm: bigint;
}

const SYMBOL = /^[A-Z0-9]{4,20}$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function defineMarket(id: number, spec: MarketSpec, assets: ReadonlyMap<string, Asset>): Market {
  const where = `market ${spec.symbol}`;
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) fail("INVALID_CONFIG", `${where}: id must be 1..65535`);
  if (!SYMBOL.test(spec.symbol)) fail("INVALID_CONFIG", `${where}: symbol must match ${SYMBOL}`);
  const base = assets.get(spec.base) ?? fail("INVALID_CONFIG", `${where}: unknown base asset ${spec.base}`);
  const quote =
    assets.get(spec.quote) ?? fail("INVALID_CONFIG", `${where}: unknown quote asset ${spec.quote}`);
  if (base === quote) fail("INVALID_CONFIG", `${where}: base and quote must differ`);
  const tickUnits = positive(
    parseUnits(spec.tickSize, quote.decimals, `${where} tickSize`),
    `${where} tickSize`,
  );
  const lotUnits = positive(
    parseUnits(spec.stepSize, base.decimals, `${where} stepSize`),
    `${where} stepSize`,
  );
  const scale = pow10(base.decimals);
  if ((tickUnits * lotUnits) % scale !== 0n) {
    fail("INVALID_CONFIG", `${where}: tickSize x stepSize must be a whole number of ${quote.symbol} units`);
  }
  const toTicks = (s: string, f: string) =>
    whole(parseUnits(s, quote.decimals, `${where} ${f}`), tickUnits, f);
  const toLots = (s: string, f: string) => whole(parseUnits(s, base.decimals, `${where} ${f}`), lotUnits, f);
  const minPriceTicks = Math.max(1, toTicks(spec.minPrice, "minPrice"));
  const maxPriceTicks = toTicks(spec.maxPrice, "maxPrice");
  const minQtyLots = Math.max(1, toLots(spec.minQty, "minQty"));
  const maxQtyLots = toLots(spec.maxQty, "maxQty");
  if (maxPriceTicks < minPriceTicks) fail("INVALID_CONFIG", `${where}: maxPrice below minPrice`);
  if (maxQtyLots < minQtyLots) fail("INVALID_CONFIG", `${where}: maxQty below minQty`);
  for (const [name, ppm] of [
    ["makerFeePpm", spec.makerFeePpm],
    ["takerFeePpm", spec.takerFeePpm],
  ] as const) {
    if (!Number.isInteger(ppm) || ppm < 0 || ppm > 100_000) {
      fail("INVALID_CONFIG", `${where}: ${name} must be an integer 0..100000`);
    }
  }
  return Object.freeze({
    id,
    symbol: spec.symbol,
    base,
    quote,
    spec,
    tickUnits,
    lotUnits,
    quotePerTickLot: (tickUnits * lotUnits) / scale,
    minPriceTicks,
    maxPriceTicks,
    minQtyLots,
    maxQtyLots,
    minNotional: parseUnits(spec.minNotional, quote.decimals, `${where} minNotional`),
    makerFeePpm: BigInt(spec.makerFeePpm),
    takerFeePpm: BigInt(spec.takerFeePpm),
  });
}

function positive(v: bigint, field: string): bigint {
  if (v <= 0n) fail("INVALID_CONFIG", `${field} must be positive`);
  return v;
}

function whole(units: bigint, step: bigint, field: string): number {
  if (units % step !== 0n) fail("INVALID_CONFIG", `${field} is not a multiple of its step`);
  const n = units / step;
  if (n > MAX_SAFE) fail("INVALID_CONFIG", `${field} is too large`);
  return Number(n);
}

/** Price string -> ticks, rejecting excess precision, off-tick prices and the PRICE_FILTER range. */
export function priceToTicks(market: Market, price: string): number {
  const units = parseUnits(price, market.quote.decimals, "price");
  if (units % market.tickUnits !== 0n)
    fail("BAD_TICK", `price ${price} is not a multiple of tickSize ${market.spec.tickSize}`);
  const ticks = units / market.tickUnits;
  if (ticks < BigInt(market.minPriceTicks) || ticks > BigInt(market.maxPriceTicks)) {
    fail("OUT_OF_RANGE", `price ${price} is outside [${market.spec.minPrice}, ${market.spec.maxPrice}]`);
  }
  return Number(ticks);
}

/** Quantity string -> lots, rejecting excess precision, off-step quantities and the LOT_SIZE range. */
export function quantityToLots(market: Market, quantity: string): number {
  const units = parseUnits(quantity, market.base.decimals, "quantity");
  if (units % market.lotUnits !== 0n)
    fail("BAD_LOT", `quantity ${quantity} is not a multiple of stepSize ${market.spec.stepSize}`);
  const lots = units / market.lotUnits;
  if (lots < BigInt(market.minQtyLots) || lots > BigInt(market.maxQtyLots)) {
    fail("OUT_OF_RANGE", `quantity ${quantity} is outside [${market.spec.minQty}, ${market.spec.maxQty}]`);
  }
  return Number(lots);
}

/** Quote amount string (quoteOrderQty) -> quote units, bounded to what the hot path can carry exactly. */
export function quoteToUnits(market: Market, amount: string): bigint {
  const units = parseUnits(amount, market.quote.decimals, "quoteOrderQty");
  if (units <= 0n || units > MAX_SAFE) fail("OUT_OF_RANGE", `quoteOrderQty ${amount} is out of range`);
  return units;
}

export function notional(market: Market, priceTicks: number, qtyLots: number): bigint {
  return BigInt(priceTicks) * BigInt(qtyLots) * market.quotePerTickLot;
}

export function ticksToPrice(market: Market, ticks: number): string {
  return formatUnits(BigInt(ticks) * market.tickUnits, market.quote.decimals);
}

export function lotsToQuantity(market: Market, lots: number): string {
  return formatUnits(BigInt(lots) * market.lotUnits, market.base.decimals);
}

export function lotsToBaseUnits(market: Market, lots: number): bigint {
  return BigInt(lots) * market.lotUnits;
}

/** What one trade moves: the base and quote amounts, and each side's fee in the asset it receives. */
export interface TradeAmounts {
  readonly baseUnits: bigint;
  readonly quoteUnits: bigint;
  /** The buyer's fee, in base units: out of the base it receives. */
  readonly buyerFee: bigint;
  /** The seller's fee, in quote units: out of the quote it receives. */
  readonly sellerFee: bigint;
}

/**
 * A trade's amounts as Binance charges them: each side pays its fee (maker's or taker's rate) in
 * the asset it receives, so a buyer spends exactly the notional and a seller exactly the base.
 * The one definition UBSCore's balances and the ledger's transfers both follow.
 */
export function tradeAmounts(
  market: Market,
  priceTicks: number,
  qtyLots: number,
  takerIsBuyer: boolean,
): TradeAmounts {
  const baseUnits = lotsToBaseUnits(market, qtyLots);
  const quoteUnits = notional(market, priceTicks, qtyLots);
  const [buyerPpm, sellerPpm] = takerIsBuyer
    ? [market.takerFeePpm, market.makerFeePpm]
    : [market.makerFeePpm, market.takerFeePpm];
  return {
    baseUnits,
    quoteUnits,
    buyerFee: feeOf(baseUnits, buyerPpm),
    sellerFee: feeOf(quoteUnits, sellerPpm),
  };
}

/**
 * Fee on an amount, rounded down: a client is never charged above the rate, and the fees of
 * several fills never exceed the fee reserved for their total (sum of floors <= floor of sum).
 */
export function feeOf(amount: bigint, ppm: bigint): bigint {
  return (amount * ppm) / 1_000_000n;
}
