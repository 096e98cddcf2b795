import { type Asset, defineAsset } from "./asset.ts";
import { fail } from "./errors.ts";
import { defineMarket, type Market, type MarketSpec } from "./market.ts";

/** The static definition of an exchange: its assets and markets. */
export interface ExchangeSpec {
  readonly assets: readonly { readonly symbol: string; readonly decimals: number }[];
  readonly markets: readonly MarketSpec[];
}

export class ExchangeDefinition {
  readonly assets: readonly Asset[];
  readonly markets: readonly Market[];
  private readonly assetsBySymbol: ReadonlyMap<string, Asset>;
  private readonly marketsBySymbol: ReadonlyMap<string, Market>;

  constructor(readonly spec: ExchangeSpec) {
    const assets = new Map<string, Asset>();
    spec.assets.forEach((a, i) => {
      if (assets.has(a.symbol)) fail("INVALID_CONFIG", `duplicate asset ${a.symbol}`);
      assets.set(a.symbol, defineAsset(i + 1, a.symbol, a.decimals));
    });
    const markets = new Map<string, Market>();
    spec.markets.forEach((m, i) => {
      if (markets.has(m.symbol)) fail("INVALID_CONFIG", `duplicate market ${m.symbol}`);
      markets.set(m.symbol, defineMarket(i + 1, m, assets));
    });
    this.assetsBySymbol = assets;
    this.marketsBySymbol = markets;
    this.assets = [...assets.values()];
    this.markets = [...markets.values()];
  }

  asset(symbol: string): Asset | undefined {
    return this.assetsBySymbol.get(symbol);
  }

  assetById(id: number): Asset | undefined {
    return this.assets[id - 1];
  }

  market(symbol: string): Market | undefined {
    return this.marketsBySymbol.get(symbol);
  }

  marketById(id: number): Market | undefined {
    return this.markets[id - 1];
  }
}

/** The demo exchange `npm start` runs: two markets on three assets. */
export const DEMO_EXCHANGE: ExchangeSpec = {
  assets: [
    { symbol: "BTC", decimals: 8 },
    { symbol: "ETH", decimals: 8 },
    { symbol: "USDT", decimals: 8 },
  ],
  markets: [
    {
      symbol: "BTCUSDT",
      base: "BTC",
      quote: "USDT",
      tickSize: "0.01",
      stepSize: "0.00001",
      minPrice: "0.01",
      maxPrice: "1000000",
      minQty: "0.00001",
      maxQty: "9000",
      minNotional: "5",
      makerFeePpm: 1000,
      takerFeePpm: 1000,
    },
    {
      symbol: "ETHUSDT",
      base: "ETH",
      quote: "USDT",
      tickSize: "0.01",
      stepSize: "0.0001",
      minPrice: "0.01",
      maxPrice: "1000000",
      minQty: "0.0001",
      maxQty: "90000",
      minNotional: "5",
      makerFeePpm: 1000,
      takerFeePpm: 1000,
    },
  ],
};
