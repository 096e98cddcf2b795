import type { Market } from "../../domain/src/index.ts";
import type { UbsCore } from "../../ubscore/src/index.ts";
import { averagePriceView, fullTickerView, ticker24hView } from "./format.ts";
import { DAY, type MarketStatistics, windowSizeMs } from "./market-data.ts";
import { TICKER_WINDOWS } from "./stream-names.ts";
import {
  avgPriceStreamView,
  miniTickerStreamView,
  tickerStreamView,
  windowTickerStreamView,
} from "./stream-views.ts";

/** Where the ticker streams' messages go: the hub's publish and its "anyone listening?". */
export interface TickerSink {
  publish(stream: string, data: unknown): void;
  subscribed(stream: string): boolean;
}

/** Binance's ticker and avgPrice streams update every second. */
export const TICKER_REFRESH_MS = 1000;

/**
 * The ticker streams (@ticker, @miniTicker, @ticker_<window>, @avgPrice and every market's
 * `!...@arr`): sent after each command that trades, and on the second's refresh when their
 * statistics changed without a trade, since a rolling window moves with time (old trades leave
 * it, and a quiet market's 24-hour volume drains to zero as Binance's does). The refresh compares
 * each stream's statistics with those last sent and sends only what changed, as Binance's arrays
 * carry only the tickers that changed; the book's top, which moves on every order, has its own
 * stream (@bookTicker) and sets off no refresh.
 */
export class TickerStreams {
  /** Per stream: the statistics it last carried (or that a new subscriber started from). */
  private readonly lastSent = new Map<string, string>();

  constructor(
    private readonly core: UbsCore,
    private readonly stats: MarketStatistics,
    private readonly sink: TickerSink,
  ) {}

  /** After a command traded in `market`: its tickers as they stand now. */
  afterTrades(market: Market, now: number): void {
    this.publishMarket(market, now, "always");
  }

  /** The second's refresh: every market's tickers whose statistics changed since last sent. */
  refresh(now: number): void {
    for (const market of this.core.exchange.markets) this.publishMarket(market, now, "changed");
  }

  private publishMarket(market: Market, now: number, when: Send): void {
    const symbol = market.symbol.toLowerCase();
    const day = [`${symbol}@ticker`, "!ticker@arr", `${symbol}@miniTicker`, "!miniTicker@arr"];
    if (day.some((stream) => this.sink.subscribed(stream))) {
      const t = ticker24hView(
        market,
        this.stats.rolling(market.id, now, DAY),
        this.core.book(market.id).depth(1),
        now,
        this.core.tradesOf(market.id).at(-1)?.qtyLots ?? 0,
      );
      this.publish([`${symbol}@miniTicker`, "!miniTicker@arr"], miniTickerStreamView(t, now), when);
      this.publish([`${symbol}@ticker`, "!ticker@arr"], tickerStreamView(t, now), when);
    }
    for (const window of TICKER_WINDOWS) {
      const streams: [string, string] = [`${symbol}@ticker_${window}`, `!ticker_${window}@arr`];
      if (!streams.some((stream) => this.sink.subscribed(stream))) continue;
      const length = windowSizeMs(window)!;
      // The rolling-window ticker of /api/v3/ticker?windowSize=<window>, as it stands now.
      const t = fullTickerView(market, this.stats.rolling(market.id, now, length), now - length, now);
      this.publish(streams, windowTickerStreamView(t, window, now), when);
    }
    if (this.sink.subscribed(`${symbol}@avgPrice`)) {
      const avg = averagePriceView(market, this.stats, this.core.tradesOf(market.id).at(-1), now);
      this.publish([`${symbol}@avgPrice`], avgPriceStreamView(market, avg, now), when);
    }
  }

  /**
   * `view` to its market's stream and (as a one-ticker array) the every-market one. A refresh
   * sends it only if its statistics changed; the first refresh after a stream is subscribed only
   * notes them (its subscriber has had no message and waits for the first change, as before).
   */
  private publish([one, all]: [string] | [string, string], view: TickerView, when: Send): void {
    const { E: _time, O: _open, C: _close, b: _bid, B: _bidQty, a: _ask, A: _askQty, ...statistics } = view;
    const key = JSON.stringify(statistics);
    const last = this.lastSent.get(one);
    this.lastSent.set(one, key);
    if (when === "changed" && (last === undefined || last === key)) return;
    this.sink.publish(one, view);
    if (all) this.sink.publish(all, [view]);
  }
}

type Send = "always" | "changed";

/** What every ticker view has; the time fields and the book's top are not its statistics. */
interface TickerView {
  readonly s: string;
  readonly E: number;
  readonly O?: number;
  readonly C?: number;
  readonly b?: string;
  readonly B?: string;
  readonly a?: string;
  readonly A?: string;
}
