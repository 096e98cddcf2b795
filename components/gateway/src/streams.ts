import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import { formatUnits } from "../../domain/src/decimal.ts";
import type { Market } from "../../domain/src/market.ts";
import { lotsToQuantity, ticksToPrice } from "../../domain/src/market.ts";
import { EventType, type MatchingEvent, Side } from "../../matching/src/protocol.ts";
import { gatewayMetrics } from "../../observability/src/metrics.ts";
import type { Candle } from "../../ubscore/src/candles.ts";
import type { CommandResult } from "../../ubscore/src/core.ts";
import type { UbsCoreView } from "../../ubscore/src/service.ts";
import { ListenKeyOp, type OrderRecord, type UbsCommand } from "../../ubscore/src/types.ts";
import { aggregateTrades } from "./agg-trades.ts";
import { ApiError, toApiError } from "./errors.ts";
import { aggTradeView, commissionView, ORDER_TYPE, SIDE, STP, TIF, ticker24hView } from "./format.ts";
import { DAY, KLINE_INTERVALS, type KlineInterval, type MarketStatistics } from "./market-data.ts";
import type { operationRoutes } from "./operations.ts";
import type { Params } from "./params.ts";
import {
  isStreamRequestError,
  MAX_REQUEST_BYTES,
  parseStreamRequest,
  type RequestId,
  type StreamRequestError,
} from "./stream-requests.ts";

/**
 * Binance-style WebSocket streams, fed by every command UBSCore applies:
 *  <symbol>@depth (diffs; U = previous u + 1, u = the book's update id, so they chain onto the
 *  REST snapshot's lastUpdateId), <symbol>@trade, <symbol>@kline_<interval>, <symbol>@bookTicker,
 *  and a private user data stream (executionReport, outboundAccountPosition, balanceUpdate) on
 *  /ws/<listenKey>. Raw streams at /ws/<stream>, combined ones at /stream?streams=a/b.
 */
/** Limits on what one client may hold open (config: gateway.websocket). */
export interface StreamLimits {
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerUser: number;
  readonly maxStreamsPerConnection: number;
  readonly maxStreamsPerIp: number;
  readonly maxMessagesPerSecond: number;
  readonly maxBufferedBytes: number;
  readonly maxListenKeysPerUser: number;
  readonly listenKeyTtlMs: number;
}

/**
 * The streams of a market besides klines. `@depth@100ms` carries the same diffs as `@depth`: each
 * is sent as its command applies, sooner than either of Binance's intervals, chained alike.
 */
const MARKET_STREAMS = new Set([
  "depth",
  "depth@100ms",
  "trade",
  "aggTrade",
  "bookTicker",
  "ticker",
  "miniTicker",
]);

/** Close codes: 1008 (policy violation) for a client over a limit, 4001 for a listen key gone. */
const POLICY = 1008;
const LISTEN_KEY_GONE = 4001;

/** A connection: what it listens to changes with SUBSCRIBE and UNSUBSCRIBE. */
export interface Subscriber {
  readonly socket: WebSocket;
  /** Messages wrapped as {stream, data} (on /stream, or after SET_PROPERTY combined). */
  combined: boolean;
  readonly ip: string;
  readonly streams: Set<string>;
  /** The listen keys it streams, and whose they are. */
  readonly keys: Map<string, number>;
}

export class StreamHub {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  /** Open connections and their streams per client address, connections per user. */
  private readonly perIp = new Map<string, { connections: number; streams: number }>();
  private readonly perUser = new Map<number, number>();
  /** WebSocket API user data subscriptions (ws-api.ts): per user, where each delivers. */
  private readonly userSinks = new Map<number, Set<(data: unknown) => void>>();
  /** Per market: the u of the last depth diff published. */
  private readonly lastU = new Map<number, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly service: UbsCoreView,
    readonly stats: MarketStatistics,
    private readonly clock: () => number,
    readonly limits: StreamLimits,
  ) {
    for (const m of service.core.exchange.markets) this.lastU.set(m.id, service.core.book(m.id).lastSeq);
    service.onCommand((cmd, result) => this.onCommand(cmd, result));
    this.sweeper = setInterval(() => this.sweepListenKeys(), Math.min(limits.listenKeyTtlMs / 2, 60_000));
    this.sweeper.unref();
    const metrics = gatewayMetrics();
    this.untrack = [
      metrics.websocketConnections.track(() => this.total("connections")),
      metrics.websocketSubscriptions.track(() => this.total("streams")),
    ];
  }

  private readonly untrack: (() => void)[];

  close(): void {
    clearInterval(this.sweeper);
    for (const stop of this.untrack) stop();
  }

  /** Open connections, or their streams, over every client address (read when scraped). */
  private total(what: "connections" | "streams"): number {
    let sum = 0;
    for (const counts of this.perIp.values()) sum += counts[what];
    return sum;
  }

  // ---- listen keys ----
  // UBSCore's journaled state (ListenKeys): a key made on any gateway streams on every one, and
  // outlives restarts. This hub only streams them, and closes streams whose key went.

  private get listenKeys() {
    return this.service.core.listenKeyState;
  }

  /** A new listen key, or the newest one of a user at the cap, kept alive (Binance's cap is one). */
  async createListenKey(userId: number): Promise<string> {
    const { listenKey } = await this.listenKeyCommand(
      ListenKeyOp.Create,
      userId,
      randomBytes(32).toString("hex"),
    );
    return listenKey!;
  }

  async keepAlive(userId: number, key: string): Promise<void> {
    await this.listenKeyCommand(ListenKeyOp.KeepAlive, userId, key);
  }

  /** Closed for every gateway: each closes its streams of it as the command reaches it. */
  async closeListenKey(userId: number, key: string): Promise<void> {
    await this.listenKeyCommand(ListenKeyOp.Close, userId, key);
  }

  private listenKeyCommand(op: ListenKeyOp, userId: number, key: string) {
    return this.service
      .submit({
        kind: "listenKey",
        op,
        userId,
        key,
        time: this.clock(),
        ttlMs: this.limits.listenKeyTtlMs,
        maxPerUser: this.limits.maxListenKeysPerUser,
      })
      .catch((e: unknown) => {
        throw toApiError(e);
      });
  }

  /** Streams whose key expired are told (Binance's event) and closed. */
  private sweepListenKeys(): void {
    const now = this.clock();
    for (const [name, subs] of this.subscribers) {
      const entry = this.listenKeys.get(name);
      if (subs.size === 0 || !entry || entry.expires >= now) continue;
      this.publish(name, { e: "listenKeyExpired", E: now, listenKey: name });
      this.closeStreamsOf(name, "listenKey expired");
    }
  }

  private closeStreamsOf(key: string, reason: string): void {
    for (const s of this.subscribers.get(key) ?? []) s.socket.close(LISTEN_KEY_GONE, reason);
  }

  /**
   * Delivers `userId`'s user data events to `sink` (a WebSocket API subscription), within the
   * same per-user cap as listen-key streams; the returned function ends it.
   */
  subscribeUser(userId: number, sink: (data: unknown) => void): () => void {
    const sinks = this.userSinks.get(userId) ?? new Set();
    if (this.userConnections(userId) >= this.limits.maxConnectionsPerUser)
      throw overLimit(`at most ${this.limits.maxConnectionsPerUser} user data connections per user`);
    this.userSinks.set(userId, sinks.add(sink));
    return () => {
      sinks.delete(sink);
      if (sinks.size === 0 && this.userSinks.get(userId) === sinks) this.userSinks.delete(userId);
    };
  }

  /** A user's listen-key connections and WebSocket API subscriptions: one cap for both. */
  private userConnections(userId: number): number {
    return (this.perUser.get(userId) ?? 0) + (this.userSinks.get(userId)?.size ?? 0);
  }

  // ---- subscriptions ----

  /**
   * A new connection from `ip`, within the per-address cap; it listens to nothing yet. Its
   * incoming messages are capped per second, unless `weighed` (the WebSocket API's requests are
   * limited by their weight instead, as Binance limits them).
   */
  connect(socket: WebSocket, ip: string, combined: boolean, weighed = false): Subscriber {
    const fromIp = this.perIp.get(ip) ?? { connections: 0, streams: 0 };
    if (fromIp.connections >= this.limits.maxConnectionsPerIp)
      throw overLimit(`at most ${this.limits.maxConnectionsPerIp} connections per address`);
    this.perIp.set(ip, { ...fromIp, connections: fromIp.connections + 1 });
    const sub: Subscriber = { socket, combined, ip, streams: new Set(), keys: new Map() };
    socket.once("close", () => {
      this.remove(sub, [...sub.streams]);
      const now = this.perIp.get(ip)!;
      if (now.connections === 1) this.perIp.delete(ip);
      else this.perIp.set(ip, { ...now, connections: now.connections - 1 });
    });
    if (!weighed) this.limitIncoming(sub);
    return sub;
  }

  /**
   * Adds `streams` to a connection: market streams of known symbols, or live listen keys, within
   * the limits. Refused as a whole (nothing added) if any name or limit fails.
   */
  add(sub: Subscriber, streams: readonly string[]): void {
    const limits = this.limits;
    const fresh = [...new Set(streams)].filter((name) => !sub.streams.has(name));
    for (const name of fresh) {
      if (!this.isValidStream(name)) throw new ApiError(400, -1100, `Invalid stream name: ${name}`);
    }
    if (sub.streams.size + fresh.length > limits.maxStreamsPerConnection)
      throw overLimit(`at most ${limits.maxStreamsPerConnection} streams per connection`);
    const fromIp = this.perIp.get(sub.ip)!;
    if (fromIp.streams + fresh.length > limits.maxStreamsPerIp)
      throw overLimit(`at most ${limits.maxStreamsPerIp} streams per address`);
    const listening = new Set(sub.keys.values());
    const newUsers = [...new Set(fresh.flatMap((name) => this.listenKeys.get(name)?.userId ?? []))].filter(
      (userId) => !listening.has(userId),
    );
    for (const userId of newUsers) {
      if (this.userConnections(userId) >= limits.maxConnectionsPerUser)
        throw overLimit(`at most ${limits.maxConnectionsPerUser} user data connections per user`);
    }
    this.perIp.set(sub.ip, { ...fromIp, streams: fromIp.streams + fresh.length });
    for (const userId of newUsers) this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
    for (const name of fresh) {
      sub.streams.add(name);
      const userId = this.listenKeys.get(name)?.userId;
      if (userId !== undefined) sub.keys.set(name, userId);
      const set = this.subscribers.get(name) ?? new Set();
      this.subscribers.set(name, set.add(sub));
    }
  }

  /** Removes `streams` from a connection (names it does not listen to are ignored). */
  remove(sub: Subscriber, streams: readonly string[]): void {
    const gone = [...new Set(streams)].filter((name) => sub.streams.delete(name));
    for (const name of gone) {
      this.subscribers.get(name)?.delete(sub);
      // From the connection's own record: an expired key is gone from the hub's by now.
      const userId = sub.keys.get(name);
      if (userId === undefined) continue;
      sub.keys.delete(name);
      if ([...sub.keys.values()].includes(userId)) continue;
      const count = this.perUser.get(userId)! - 1;
      if (count === 0) this.perUser.delete(userId);
      else this.perUser.set(userId, count);
    }
    const fromIp = this.perIp.get(sub.ip);
    if (fromIp) this.perIp.set(sub.ip, { ...fromIp, streams: fromIp.streams - gone.length });
  }

  /** Runs a live subscription request; the answer is Binance's `{result, id}` or `{code, msg, id}`. */
  request(sub: Subscriber, text: string): { result: unknown; id: RequestId } | StreamRequestError {
    const req = parseStreamRequest(text);
    if (isStreamRequestError(req)) return req;
    try {
      switch (req.method) {
        case "SUBSCRIBE":
          this.add(sub, req.streams);
          return { result: null, id: req.id };
        case "UNSUBSCRIBE":
          this.remove(sub, req.streams);
          return { result: null, id: req.id };
        case "LIST_SUBSCRIPTIONS":
          return { result: [...sub.streams], id: req.id };
        case "SET_PROPERTY":
          sub.combined = req.combined;
          return { result: null, id: req.id };
        case "GET_PROPERTY":
          return { result: sub.combined, id: req.id };
      }
    } catch (e) {
      return { code: 2, msg: `Invalid request: ${(e as Error).message}`, id: req.id };
    }
  }

  /** Incoming messages, counted per one-second window: a flood is a policy violation. */
  private limitIncoming(sub: Subscriber): void {
    let window = 0;
    let count = 0;
    sub.socket.on("message", () => {
      const second = Math.floor(this.clock() / 1000);
      if (second !== window) {
        window = second;
        count = 0;
      }
      if (++count > this.limits.maxMessagesPerSecond)
        drop(sub.socket, `at most ${this.limits.maxMessagesPerSecond} incoming messages per second`);
    });
  }

  private isValidStream(name: string): boolean {
    const live = this.listenKeys.get(name);
    if (live) return live.expires >= this.clock();
    const at = name.indexOf("@");
    const [symbol, kind] = [name.slice(0, at), name.slice(at + 1)];
    const market = this.service.core.exchange.market(symbol.toUpperCase());
    if (!market || at < 0 || symbol !== symbol.toLowerCase()) return false;
    if (MARKET_STREAMS.has(kind)) return true;
    return kind.startsWith("kline_") && kind.slice(6) in KLINE_INTERVALS;
  }

  private publish(stream: string, data: unknown): void {
    const subs = this.subscribers.get(stream);
    if (!subs || subs.size === 0) return;
    const raw = JSON.stringify(data);
    const combined = `{"stream":${JSON.stringify(stream)},"data":${raw}}`;
    for (const s of subs) {
      // A reader this far behind would hold the gateway's memory hostage: it is dropped.
      if (s.socket.bufferedAmount > this.limits.maxBufferedBytes) {
        if (s.socket.readyState === s.socket.OPEN) gatewayMetrics().websocketDropped.inc();
        drop(s.socket, "too slow: send buffer full");
      } else s.socket.send(s.combined ? combined : raw);
    }
  }

  // ---- feeding ----
  // Messages are built only for streams someone is subscribed to: most orders have no listener,
  // and formatting every report, level and ticker for nobody cost ~4% of an order's time.

  private subscribed(stream: string): boolean {
    return (this.subscribers.get(stream)?.size ?? 0) > 0;
  }

  private userListening(userId: number): boolean {
    if (this.userSinks.has(userId)) return true;
    for (const key of this.listenKeys.keysOf(userId)) if (this.subscribed(key)) return true;
    return false;
  }

  private onCommand(cmd: UbsCommand, result: CommandResult): void {
    const now = this.clock();
    if (cmd.kind === "listenKey") {
      if (cmd.op === ListenKeyOp.Close) this.closeStreamsOf(cmd.key, "listenKey closed");
      return;
    }
    if ((cmd.kind === "credit" || cmd.kind === "debit") && !result.repeated) {
      const asset = this.service.core.exchange.asset(cmd.asset)!;
      const delta = formatUnits(cmd.kind === "credit" ? cmd.amount : -cmd.amount, asset.decimals);
      this.publishToUser(cmd.userId, () => ({
        e: "balanceUpdate",
        E: now,
        a: asset.symbol,
        d: delta,
        T: now,
      }));
      return;
    }
    if (result.marketId === undefined || result.events.length === 0) return;
    const market = this.service.core.exchange.marketById(result.marketId)!;
    const symbol = market.symbol.toLowerCase();
    const tradeEvents = result.events.filter((e) => e.type === EventType.Trade);
    // A command's trades share its time, so they all went into the market's latest minute candle.
    const candle = this.service.core.candlesOf(market.id).at(-1);
    const trades = this.subscribed(`${symbol}@trade`) ? this.service.core.tradesOf(market.id) : [];
    for (const t of trades.slice(trades.length - tradeEvents.length)) {
      this.publish(`${symbol}@trade`, {
        e: "trade",
        E: now,
        s: market.symbol,
        t: t.tradeId,
        p: ticksToPrice(market, t.priceTicks),
        q: lotsToQuantity(market, t.qtyLots),
        T: t.time,
        m: t.takerSide === Side.Sell,
        M: true,
      });
    }
    if (tradeEvents.length > 0) this.publishTradeStats(market, symbol, tradeEvents.length, now);
    if (candle && tradeEvents.length > 0) this.publishKlines(market, symbol, candle, now);
    this.publishBook(market, symbol, result.events, now);
    this.publishUserUpdates(market, result, now);
  }

  private publishBook(market: Market, symbol: string, events: readonly MatchingEvent[], now: number): void {
    if (!events.some((e) => e.type === EventType.BookLevel)) return;
    // The update ids move whether or not anyone listens: a later subscriber chains onto them.
    const u = events.at(-1)!.seq;
    const U = this.lastU.get(market.id)! + 1;
    this.lastU.set(market.id, u);
    const depthStreams = [`${symbol}@depth`, `${symbol}@depth@100ms`].filter((stream) =>
      this.subscribed(stream),
    );
    if (depthStreams.length > 0) {
      const b: string[][] = [];
      const a: string[][] = [];
      for (const e of events) {
        if (e.type !== EventType.BookLevel) continue;
        (e.side === Side.Buy ? b : a).push([
          ticksToPrice(market, e.priceTicks),
          lotsToQuantity(market, e.totalLots),
        ]);
      }
      const diff = { e: "depthUpdate", E: now, s: market.symbol, U, u, b, a };
      for (const stream of depthStreams) this.publish(stream, diff);
    }
    if (!this.subscribed(`${symbol}@bookTicker`)) return;
    const top = this.service.core.book(market.id).depth(1);
    this.publish(`${symbol}@bookTicker`, {
      u,
      s: market.symbol,
      b: ticksToPrice(market, top.bids[0]?.priceTicks ?? 0),
      B: lotsToQuantity(market, top.bids[0]?.totalLots ?? 0),
      a: ticksToPrice(market, top.asks[0]?.priceTicks ?? 0),
      A: lotsToQuantity(market, top.asks[0]?.totalLots ?? 0),
    });
  }

  /** After a command's `count` trades: its aggregate trades and the market's 24-hour tickers. */
  private publishTradeStats(market: Market, symbol: string, count: number, now: number): void {
    const core = this.service.core;
    if (this.subscribed(`${symbol}@aggTrade`)) {
      // One command's trades: an aggregate never spans two commands (each has its own taker).
      for (const a of aggregateTrades(core.tradesOf(market.id).slice(-count)))
        this.publish(`${symbol}@aggTrade`, {
          e: "aggTrade",
          E: now,
          s: market.symbol,
          ...aggTradeView(market, a),
        });
    }
    const full = this.subscribed(`${symbol}@ticker`);
    const mini = this.subscribed(`${symbol}@miniTicker`);
    if (!full && !mini) return;
    const t = ticker24hView(
      market,
      this.stats.rolling(market.id, now, DAY),
      core.book(market.id).depth(1),
      now,
      core.tradesOf(market.id).at(-1)?.qtyLots ?? 0,
    );
    const [o, h, l, c, v, q] = [t.openPrice, t.highPrice, t.lowPrice, t.lastPrice, t.volume, t.quoteVolume];
    if (mini)
      this.publish(`${symbol}@miniTicker`, {
        e: "24hrMiniTicker",
        E: now,
        s: market.symbol,
        c,
        o,
        h,
        l,
        v,
        q,
      });
    if (!full) return;
    this.publish(`${symbol}@ticker`, {
      e: "24hrTicker",
      E: now,
      s: market.symbol,
      p: t.priceChange,
      P: t.priceChangePercent,
      w: t.weightedAvgPrice,
      x: t.prevClosePrice,
      c,
      Q: t.lastQty,
      b: t.bidPrice,
      B: t.bidQty,
      a: t.askPrice,
      A: t.askQty,
      o,
      h,
      l,
      v,
      q,
      O: t.openTime,
      C: t.closeTime,
      F: t.firstId,
      L: t.lastId,
      n: t.count,
    });
  }

  private publishKlines(market: Market, symbol: string, minute: Candle, now: number): void {
    for (const interval of Object.keys(KLINE_INTERVALS) as KlineInterval[]) {
      const stream = `${symbol}@kline_${interval}`;
      if (!this.subscribers.get(stream)?.size) continue;
      const size = KLINE_INTERVALS[interval];
      const openTime = minute.openTime - (minute.openTime % size);
      const [k] = this.stats.klines(market.id, interval, 1, openTime, openTime);
      if (!k) continue;
      this.publish(stream, {
        e: "kline",
        E: now,
        s: market.symbol,
        k: klineStreamView(market, k, interval, now),
      });
    }
  }

  private publishUserUpdates(market: Market, result: CommandResult, now: number): void {
    const core = this.service.core;
    const touchedUsers = new Set<number>();
    const listening = (orderId: number) => this.userListening(core.order(orderId)?.userId ?? -1);
    for (const e of result.events) {
      if (!("orderId" in e ? listening(e.orderId) : e.type === EventType.Trade)) continue;
      const reports: [OrderRecord, Record<string, unknown>][] = [];
      switch (e.type) {
        case EventType.Accepted: {
          // As the order stood when accepted: nothing filled yet, whatever the same command filled.
          const o = core.order(e.orderId)!;
          const none = { z: lotsToQuantity(market, 0), Z: formatUnits(0n, market.quote.decimals) };
          reports.push([o, { x: "NEW", X: "NEW", ...none }]);
          break;
        }
        case EventType.Trade:
          for (const [id, remaining] of [
            [e.takerOrderId, e.takerRemainingLots],
            [e.makerOrderId, e.makerRemainingLots],
          ] as const) {
            if (!listening(id)) continue;
            const o = core.order(id)!;
            const fill = o.fills.find((f) => f.tradeId === e.tradeId)!;
            const z = o.executedLots - lotsFilledAfter(o, e.tradeId);
            const done = o.origQtyLots > 0 && remaining === 0;
            const { commission, commissionAsset } = commissionView(market, o.side, fill.fee);
            reports.push([
              o,
              {
                x: "TRADE",
                X: done ? "FILLED" : "PARTIALLY_FILLED",
                l: lotsToQuantity(market, e.qtyLots),
                z: lotsToQuantity(market, z),
                L: ticksToPrice(market, e.priceTicks),
                n: commission,
                N: commissionAsset,
                t: e.tradeId,
                m: fill.isMaker,
                Y: formatUnits(fill.quoteUnits, market.quote.decimals),
              },
            ]);
          }
          break;
        case EventType.Cancelled:
          reports.push([core.order(e.orderId)!, { x: "CANCELED", X: "CANCELED" }]);
          break;
        case EventType.Triggered: {
          // The stop price was reached: the order works from now on, as it stood before its fills.
          const o = core.order(e.orderId)!;
          const none = { z: lotsToQuantity(market, 0), Z: formatUnits(0n, market.quote.decimals) };
          reports.push([o, { x: "NEW", X: "NEW", w: true, W: o.workingTime, ...none }]);
          break;
        }
        case EventType.Amended: {
          // Amend keep priority: the order as it now stands (new quantity, new client order id).
          const o = core.order(e.orderId)!;
          reports.push([o, { x: "REPLACED", X: o.status }]);
          break;
        }
        case EventType.Expired: {
          const o = core.order(e.orderId)!;
          reports.push([o, { x: "EXPIRED", X: o.status }]);
          break;
        }
        case EventType.Rejected: {
          const o = core.order(e.orderId);
          if (o) reports.push([o, { x: "REJECTED", X: "REJECTED" }]);
          break;
        }
        default:
          break;
      }
      for (const [o, fields] of reports) {
        touchedUsers.add(o.userId);
        this.publishToUser(o.userId, () => executionReport(market, o, fields, now));
      }
    }
    for (const userId of touchedUsers) {
      const balances = core.balancesOf(userId);
      this.publishToUser(userId, () => ({
        e: "outboundAccountPosition",
        E: now,
        u: now,
        B: [market.base, market.quote].map((a) => ({
          a: a.symbol,
          f: formatUnits(balances[a.id - 1]!.available, a.decimals),
          l: formatUnits(balances[a.id - 1]!.frozen, a.decimals),
        })),
      }));
    }
  }

  /** `message` is built once, and only if one of the user's listen keys has a subscriber. */
  private publishToUser(userId: number, message: () => unknown): void {
    let data: unknown;
    for (const key of this.listenKeys.keysOf(userId)) {
      if (!this.subscribed(key)) continue;
      data ??= message();
      this.publish(key, data);
    }
    for (const sink of this.userSinks.get(userId) ?? []) {
      data ??= message();
      sink(data);
    }
  }
}

/**
 * The streams a connection's path names (`a/b` on /ws, `streams=a/b` on /stream). A number alone
 * names none: clients number their connections that way (ccxt.pro opens /ws/0, /ws/1, ...) and
 * subscribe with SUBSCRIBE, which Binance serves on any such path.
 */
function streamsOfPath(path: string): string[] {
  return path.split("/").filter((name) => name !== "" && !/^\d+$/.test(name));
}

function overLimit(what: string): ApiError {
  return new ApiError(429, -1003, `Too many streams or connections: ${what}.`);
}

/**
 * Closes with 1008 and why; a socket whose peer does not complete the close (it is not reading)
 * is destroyed a second later, releasing what was queued for it.
 */
export function drop(socket: WebSocket, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(POLICY, reason);
  setTimeout(() => socket.terminate(), 1_000).unref();
}

/** Lots filled in trades after `tradeId`: the order's cumulative quantity as of that trade is the rest. */
function lotsFilledAfter(o: OrderRecord, tradeId: number): number {
  return o.fills.filter((f) => f.tradeId > tradeId).reduce((s, f) => s + f.qtyLots, 0);
}

const nameOf = <T extends Record<string, number>>(table: T, value: number) =>
  Object.keys(table).find((k) => table[k] === value)!;

function executionReport(market: Market, o: OrderRecord, fields: Record<string, unknown>, now: number) {
  return {
    e: "executionReport",
    E: now,
    s: market.symbol,
    c: o.clientOrderId,
    S: nameOf(SIDE, o.side),
    o: nameOf(ORDER_TYPE, o.type),
    f: nameOf(TIF, o.tif),
    q: lotsToQuantity(market, o.origQtyLots),
    p: ticksToPrice(market, o.priceTicks),
    P: ticksToPrice(market, o.stopPriceTicks ?? 0),
    F: lotsToQuantity(market, 0),
    g: -1,
    C: "",
    r: "NONE",
    i: o.orderId,
    l: lotsToQuantity(market, 0),
    z: lotsToQuantity(market, o.executedLots),
    L: ticksToPrice(market, 0),
    n: formatUnits(0n, market.quote.decimals),
    N: null,
    T: o.updateTime,
    t: -1,
    w:
      (o.status === "NEW" || o.status === "PARTIALLY_FILLED") &&
      (o.stopPriceTicks === undefined || o.workingTime !== undefined),
    m: false,
    M: false,
    O: o.time,
    Z: formatUnits(o.cumQuote, market.quote.decimals),
    Y: formatUnits(0n, market.quote.decimals),
    Q: formatUnits(o.quoteOrderUnits, market.quote.decimals),
    V: nameOf(STP, o.stp),
    ...fields,
  };
}

export function klineRestView(market: Market, k: Candle, interval: KlineInterval) {
  const size = KLINE_INTERVALS[interval];
  return [
    k.openTime,
    ticksToPrice(market, k.open),
    ticksToPrice(market, k.high),
    ticksToPrice(market, k.low),
    ticksToPrice(market, k.close),
    lotsToQuantity(market, k.volumeLots),
    k.openTime + size - 1,
    formatUnits(k.quoteVolume, market.quote.decimals),
    k.trades,
    lotsToQuantity(market, k.takerBuyLots),
    formatUnits(k.takerBuyQuote, market.quote.decimals),
    "0",
  ];
}

function klineStreamView(market: Market, k: Candle, interval: KlineInterval, now: number) {
  const [t, o, h, l, c, v, T, q, n, V, Q] = klineRestView(market, k, interval);
  return {
    t,
    T,
    s: market.symbol,
    i: interval,
    f: k.firstTradeId,
    L: k.lastTradeId,
    o,
    c,
    h,
    l,
    v,
    n,
    x: now > (T as number),
    q,
    V,
    Q,
    B: "0",
  };
}

/** Registers the WebSocket routes and the listen-key endpoints on the trading API. */
export function installStreams(
  app: FastifyInstance,
  hub: StreamHub,
  api: ReturnType<typeof operationRoutes>,
): void {
  app.addHook("onClose", (_app, done) => {
    hub.close();
    done();
  });
  app.register(async (ws) => {
    const open = (socket: WebSocket, ip: string, path: string, combined: boolean) => {
      try {
        const sub = hub.connect(socket, ip, combined);
        hub.add(sub, streamsOfPath(path));
        socket.on("message", (data, isBinary) => {
          if (isBinary || (data as Buffer).length > MAX_REQUEST_BYTES) {
            drop(socket, "requests are JSON text frames");
            return;
          }
          socket.send(JSON.stringify(hub.request(sub, String(data))));
        });
      } catch (e) {
        const error = e instanceof ApiError ? e : new ApiError(400, -1000, "Invalid request");
        socket.send(JSON.stringify({ code: error.code, msg: error.message }));
        drop(socket, error.message.slice(0, 120));
      }
    };
    ws.get<{ Params: { "*": string } }>("/ws/*", { websocket: true }, (socket, req) =>
      open(socket, req.ip, req.params["*"], false),
    );
    ws.get("/ws", { websocket: true }, (socket, req) => open(socket, req.ip, "", false));
    ws.get<{ Querystring: { streams?: string } }>("/stream", { websocket: true }, (socket, req) =>
      open(socket, req.ip, req.query.streams ?? "", true),
    );
  });
  // USER_STREAM endpoints: the key named, not signed.
  const listenKey = (params: Params) => {
    const key = params.required("listenKey");
    params.done();
    return key;
  };
  api.post("/api/v3/userDataStream", {}, async (call) => {
    const { key } = call.keyed();
    return { listenKey: await hub.createListenKey(key.userId) };
  });
  api.put("/api/v3/userDataStream", {}, async (call) => {
    const { key, params } = call.keyed();
    await hub.keepAlive(key.userId, listenKey(params));
    return {};
  });
  api.delete("/api/v3/userDataStream", {}, async (call) => {
    const { key, params } = call.keyed();
    await hub.closeListenKey(key.userId, listenKey(params));
    return {};
  });
}
