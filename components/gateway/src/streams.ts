import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { Market } from "../../domain/src/index.ts";
import { formatUnits, lotsToQuantity, ticksToPrice } from "../../domain/src/index.ts";
import { EventType, type MatchingEvent } from "../../matching/src/index.ts";
import { gatewayMetrics } from "../../observability/src/index.ts";
import type { Candle, CommandResult, UbsCore, UbsCoreView } from "../../ubscore/src/index.ts";
import { ListenKeyOp, type OrderList, type OrderRecord, type UbsCommand } from "../../ubscore/src/index.ts";
import { aggregateTrades } from "./agg-trades.ts";
import { type CapCounter, LocalCapCounter } from "./cap-counter.ts";
import { ApiError, toApiError } from "./errors.ts";
import { aggTradeView, depthView } from "./format.ts";
import { KLINE_INTERVALS, type KlineInterval, type MarketStatistics } from "./market-data.ts";
import { PARTIAL_DEPTH_LEVELS, type PartialDepthLevels, parseMarketStream } from "./stream-names.ts";
import {
  isStreamRequestError,
  MAX_REQUEST_BYTES,
  parseStreamRequest,
  type RequestId,
  type StreamRequestError,
} from "./stream-requests.ts";
import {
  accountPositionView,
  depthDiffView,
  executionReport,
  executionReports,
  klineStreamView,
  listOrderReports,
  listStatusView,
  type Report,
  tradeStreamView,
} from "./stream-views.ts";
import { TICKER_REFRESH_MS, TickerStreams } from "./ticker-streams.ts";

/**
 * Binance-style WebSocket streams, fed by every command UBSCore applies:
 *  <symbol>@depth (diffs; U = previous u + 1, u = the book's update id, so they chain onto the
 *  REST snapshot's lastUpdateId), <symbol>@depth<levels> (the top levels), <symbol>@trade,
 *  @aggTrade, @kline_<interval>, @bookTicker, the tickers (@ticker, @miniTicker, @ticker_<window>,
 *  @avgPrice, and every market's `!...@arr`), and a private user data stream (executionReport,
 *  outboundAccountPosition, balanceUpdate) on /ws/<listenKey>. Raw streams at /ws/<stream>,
 *  combined ones at /stream?streams=a/b; stream-names.ts reads the names.
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

/** The keys the caps are counted under (cap-counter.ts). */
const connectionsKey = (ip: string) => `connections ${ip}`;
const streamsKey = (ip: string) => `streams ${ip}`;
const userKey = (userId: number) => `user ${userId}`;

export class StreamHub {
  /** Each stream's subscribers; a stream nobody subscribes to has no entry. */
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  /** Open connections and their streams on this thread, for the metrics (caps: `caps`). */
  private readonly open = { connections: 0, streams: 0 };
  /** WebSocket API user data subscriptions (ws-api.ts): per user, where each delivers. */
  private readonly userSinks = new Map<number, Set<(data: unknown) => void>>();
  /** Per market: the u of the last depth diff published. */
  private readonly lastU = new Map<number, number>();
  /**
   * Per `<symbol>@depth<levels>` with subscribers: the levels last sent (as JSON), so that a
   * command that changes only deeper levels sends nothing.
   */
  private readonly lastPartialDepth = new Map<string, string>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly tickers: TickerStreams;
  private readonly tickerRefresh: NodeJS.Timeout;

  constructor(
    private readonly service: UbsCoreView,
    readonly stats: MarketStatistics,
    private readonly clock: () => number,
    readonly limits: StreamLimits,
    /** Where the caps are counted: here, or over every gateway thread of the process. */
    private readonly caps: CapCounter = new LocalCapCounter(),
  ) {
    for (const m of service.core.exchange.markets) this.lastU.set(m.id, service.core.book(m.id).lastSeq);
    service.onCommand((cmd, result) => this.onCommand(cmd, result));
    this.sweeper = setInterval(() => this.sweepListenKeys(), Math.min(limits.listenKeyTtlMs / 2, 60_000));
    this.sweeper.unref();
    this.tickers = new TickerStreams(service.core, stats, {
      publish: (stream, data) => this.publish(stream, data),
      subscribed: (stream) => this.subscribed(stream),
    });
    this.tickerRefresh = setInterval(() => this.tickers.refresh(this.clock()), TICKER_REFRESH_MS);
    this.tickerRefresh.unref();
    const metrics = gatewayMetrics();
    this.untrack = [
      metrics.websocketConnections.track(() => this.open.connections),
      metrics.websocketSubscriptions.track(() => this.open.streams),
    ];
  }

  private readonly untrack: (() => void)[];

  close(): void {
    clearInterval(this.sweeper);
    clearInterval(this.tickerRefresh);
    for (const stop of this.untrack) stop();
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
    if (!this.caps.tryAdd(userKey(userId), 1, this.limits.maxConnectionsPerUser))
      throw overLimit(`at most ${this.limits.maxConnectionsPerUser} user data connections per user`);
    this.userSinks.set(userId, sinks.add(sink));
    return () => {
      if (sinks.delete(sink)) this.caps.remove(userKey(userId), 1);
      if (sinks.size === 0 && this.userSinks.get(userId) === sinks) this.userSinks.delete(userId);
    };
  }

  // ---- subscriptions ----

  /**
   * A new connection from `ip`, within the per-address cap; it listens to nothing yet. Its
   * incoming messages are capped per second, unless `weighed` (the WebSocket API's requests are
   * limited by their weight instead, as Binance limits them).
   */
  connect(socket: WebSocket, ip: string, combined: boolean, weighed = false): Subscriber {
    if (!this.caps.tryAdd(connectionsKey(ip), 1, this.limits.maxConnectionsPerIp))
      throw overLimit(`at most ${this.limits.maxConnectionsPerIp} connections per address`);
    this.open.connections++;
    const sub: Subscriber = { socket, combined, ip, streams: new Set(), keys: new Map() };
    socket.once("close", () => {
      this.remove(sub, [...sub.streams]);
      this.caps.remove(connectionsKey(ip), 1);
      this.open.connections--;
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
    if (!this.caps.tryAdd(streamsKey(sub.ip), fresh.length, limits.maxStreamsPerIp))
      throw overLimit(`at most ${limits.maxStreamsPerIp} streams per address`);
    const listening = new Set(sub.keys.values());
    const newUsers = [...new Set(fresh.flatMap((name) => this.listenKeys.get(name)?.userId ?? []))].filter(
      (userId) => !listening.has(userId),
    );
    this.countUsers(newUsers, () => this.caps.remove(streamsKey(sub.ip), fresh.length));
    this.open.streams += fresh.length;
    for (const name of fresh) this.listen(sub, name);
  }

  /**
   * One user data connection more for each of `userIds`, within the per-user cap: all of them,
   * or none (then `undo` runs and the refusal is thrown).
   */
  private countUsers(userIds: readonly number[], undo: () => void): void {
    const max = this.limits.maxConnectionsPerUser;
    const counted = [];
    for (const userId of userIds) {
      if (!this.caps.tryAdd(userKey(userId), 1, max)) {
        for (const done of counted) this.caps.remove(userKey(done), 1);
        undo();
        throw overLimit(`at most ${max} user data connections per user`);
      }
      counted.push(userId);
    }
  }

  /** One stream more for a connection, whose limits were checked. */
  private listen(sub: Subscriber, name: string): void {
    sub.streams.add(name);
    const userId = this.listenKeys.get(name)?.userId;
    if (userId !== undefined) sub.keys.set(name, userId);
    const set = this.subscribers.get(name) ?? new Set();
    this.subscribers.set(name, set.add(sub));
    const stream = this.parseMarketStream(name);
    if (stream?.kind === "partialDepth") this.sendBookSnapshot(sub, name, stream.market, stream.levels);
  }

  /** Removes `streams` from a connection (names it does not listen to are ignored). */
  remove(sub: Subscriber, streams: readonly string[]): void {
    const gone = [...new Set(streams)].filter((name) => sub.streams.delete(name));
    for (const name of gone) {
      const set = this.subscribers.get(name);
      if (set?.delete(sub) && set.size === 0) this.subscribers.delete(name);
      // From the connection's own record: an expired key is gone from the hub's by now.
      const userId = sub.keys.get(name);
      if (userId === undefined) continue;
      sub.keys.delete(name);
      if ([...sub.keys.values()].includes(userId)) continue;
      this.caps.remove(userKey(userId), 1);
    }
    if (gone.length > 0) this.caps.remove(streamsKey(sub.ip), gone.length);
    this.open.streams -= gone.length;
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
    return this.parseMarketStream(name) !== undefined;
  }

  private parseMarketStream(name: string) {
    return parseMarketStream(name, (symbol) => this.service.core.exchange.market(symbol));
  }

  private publish(stream: string, data: unknown): void {
    const subs = this.subscribers.get(stream);
    if (!subs || subs.size === 0) return;
    const raw = JSON.stringify(data);
    const combined = combinedFrame(stream, raw);
    for (const s of subs) this.send(s, s.combined ? combined : raw);
  }

  private send(s: Subscriber, text: string): void {
    // A reader this far behind would hold the gateway's memory hostage: it is dropped.
    if (s.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      if (s.socket.readyState === s.socket.OPEN) gatewayMetrics().websocketDropped.inc();
      drop(s.socket, "too slow: send buffer full");
    } else s.socket.send(text);
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
    if (marketUntouched(result)) return;
    const market = this.service.core.exchange.marketById(result.marketId!)!;
    if (this.subscribers.size === 0 && this.userSinks.size === 0) this.unheard(market, result.events);
    else this.publishMarketCommand(market, result, now);
  }

  /** What a command that touched `market` changed, to each stream subscribed to it. */
  private publishMarketCommand(market: Market, result: CommandResult, now: number): void {
    const symbol = market.symbol.toLowerCase();
    const tradeEvents = result.events.filter((e) => e.type === EventType.Trade);
    // A command's trades share its time, so they all went into the market's latest minute candle.
    const candle = this.service.core.candlesOf(market.id).at(-1);
    const trades = this.subscribed(`${symbol}@trade`) ? this.service.core.tradesOf(market.id) : [];
    for (const t of trades.slice(trades.length - tradeEvents.length)) {
      this.publish(`${symbol}@trade`, tradeStreamView(market, t, now));
    }
    if (tradeEvents.length > 0) this.publishTradeStats(market, symbol, tradeEvents.length, now);
    if (candle && tradeEvents.length > 0) this.publishKlines(market, symbol, candle, now);
    this.publishBook(market, symbol, result.events, now);
    this.publishUserUpdates(market, result, now);
  }

  /**
   * A command with no subscriber anywhere: nothing to build or send (what onCommand does then
   * comes to this, without its per-command closures, names and sets: ~4% of an order's time).
   */
  private unheard(market: Market, events: readonly MatchingEvent[]): void {
    this.advanceUpdateIds(market.id, events);
    // No depth stream has a subscriber: no levels were last sent to anyone.
    this.lastPartialDepth.clear();
  }

  /**
   * Moves the market's update ids past the command's book changes, whether or not anyone listens
   * (a later subscriber chains onto them): the first id of this command's, none if the book did not change.
   */
  private advanceUpdateIds(marketId: number, events: readonly MatchingEvent[]): number | undefined {
    if (!events.some((e) => e.type === EventType.BookLevel)) return undefined;
    const first = this.lastU.get(marketId)! + 1;
    this.lastU.set(marketId, events.at(-1)!.seq);
    return first;
  }

  private publishBook(market: Market, symbol: string, events: readonly MatchingEvent[], now: number): void {
    const U = this.advanceUpdateIds(market.id, events);
    if (U === undefined) return;
    const u = this.lastU.get(market.id)!;
    const depthStreams = [`${symbol}@depth`, `${symbol}@depth@100ms`].filter((stream) =>
      this.subscribed(stream),
    );
    if (depthStreams.length > 0) {
      const diff = depthDiffView(market, events, U, u, now);
      for (const stream of depthStreams) this.publish(stream, diff);
    }
    for (const levels of PARTIAL_DEPTH_LEVELS) this.publishPartialDepth(market, symbol, levels);
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

  /**
   * The top `levels` of the book to `@depth<levels>` and `@depth<levels>@100ms`, after a command
   * that changed them: Binance sends them every second or 100 ms, Bourse as each change applies,
   * which is as fresh and, unlike a timer, the same on every replica of the gateway.
   */
  private publishPartialDepth(market: Market, symbol: string, levels: PartialDepthLevels): void {
    const key = `${symbol}@depth${levels}`;
    const streams = [key, `${key}@100ms`].filter((stream) => this.subscribed(stream));
    if (streams.length === 0) {
      this.lastPartialDepth.delete(key);
      return;
    }
    const view = depthView(market, this.service.core.book(market.id).depth(levels));
    const sent = JSON.stringify([view.bids, view.asks]);
    if (this.lastPartialDepth.get(key) === sent) return;
    this.lastPartialDepth.set(key, sent);
    for (const stream of streams) this.publish(stream, view);
  }

  /**
   * A new `@depth<levels>` subscriber's first message: the top levels as they stand, after the
   * answer to its SUBSCRIBE (Binance's first comes within its interval); later ones follow changes.
   */
  private sendBookSnapshot(
    sub: Subscriber,
    stream: string,
    market: Market,
    levels: PartialDepthLevels,
  ): void {
    setImmediate(() => {
      if (!sub.streams.has(stream)) return;
      const view = depthView(market, this.service.core.book(market.id).depth(levels));
      // Those subscribed before have had these levels too: each change was sent as it applied.
      this.lastPartialDepth.set(
        `${market.symbol.toLowerCase()}@depth${levels}`,
        JSON.stringify([view.bids, view.asks]),
      );
      const raw = JSON.stringify(view);
      this.send(sub, sub.combined ? combinedFrame(stream, raw) : raw);
    });
  }

  /** After a command's `count` trades: its aggregate trades and the market's tickers. */
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
    // A command's trades change its market's tickers alone: the every-market arrays carry that
    // one, as Binance's carry the markets that changed.
    this.tickers.afterTrades(market, now);
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
    const lists = new ListChanges();
    const report = ([o, fields]: Report) => {
      touchedUsers.add(o.userId);
      lists.note(o, fields);
      this.publishToUser(o.userId, () => executionReport(market, o, fields, now));
    };
    // Orders of lists that changed in UBSCore alone, each where it happened among the events.
    const listOrders = result.listOrders ?? [];
    let next = 0;
    const reportListOrders = (before: number) => {
      for (; next < listOrders.length && listOrders[next]!.at <= before; next++) {
        const reports = listOrderReports(core, market, listOrders[next]!, listening);
        for (const r of reports) report(r);
      }
    };
    result.events.forEach((e, i) => {
      reportListOrders(i);
      if (!("orderId" in e ? listening(e.orderId) : e.type === EventType.Trade)) return;
      for (const r of executionReports(core, market, e, listening)) report(r);
    });
    reportListOrders(Number.POSITIVE_INFINITY);
    for (const list of lists.changed(core, result.listsChanged)) {
      const clientOrderId = (orderId: number) => core.order(orderId)?.clientOrderId ?? "";
      this.publishToUser(list.userId, () => listStatusView(market, list, clientOrderId, now));
    }
    for (const userId of touchedUsers) {
      const balances = core.balancesOf(userId);
      this.publishToUser(userId, () => accountPositionView(market, balances, now));
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
 * A command that changed nothing in a market: no book event, and no order list's pending order
 * (which may change with none: an OTO placed with a matching service).
 */
function marketUntouched(result: CommandResult): boolean {
  return result.marketId === undefined || result.events.length + (result.listOrders?.length ?? 0) === 0;
}

/**
 * The streams a connection's path names (`a/b` on /ws, `streams=a/b` on /stream). A number alone
 * names none: clients number their connections that way (ccxt.pro opens /ws/0, /ws/1, ...) and
 * subscribe with SUBSCRIBE, which Binance serves on any such path.
 */
function streamsOfPath(path: string): string[] {
  return path.split("/").filter((name) => name !== "" && !/^\d+$/.test(name));
}

/** A message as a combined stream (/stream, or after SET_PROPERTY combined) sends it. */
function combinedFrame(stream: string, raw: string): string {
  return `{"stream":${JSON.stringify(stream)},"data":${raw}}`;
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

/** Registers the WebSocket routes on the trading API (the listen-key endpoints: user-stream-routes.ts). */
export function installStreams(app: FastifyInstance, hub: StreamHub): void {
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
}

const TERMINAL = new Set(["FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"]);

/**
 * The order lists a command changed, from its orders' reports: placed (a leg's NEW), or ended
 * (the first of its legs to finish finished in this command: every leg done now ended in it).
 * A list's later commands (its surviving order trading on) change its status no more.
 */
class ListChanges {
  private readonly placed = new Set<number>();
  private readonly ended = new Map<number, number>();

  note(o: OrderRecord, fields: Record<string, unknown>): void {
    if (o.orderListId === undefined) return;
    if (fields.x === "NEW") this.placed.add(o.orderListId);
    if (TERMINAL.has(fields.X as string))
      this.ended.set(o.orderListId, (this.ended.get(o.orderListId) ?? 0) + 1);
  }

  /** `listed`: the lists UBSCore says the command changed (an OTO's activation, or its end by its pending orders). */
  changed(core: UbsCore, listed: readonly number[] = []): OrderList[] {
    const ids = new Set([...this.placed, ...this.ended.keys(), ...listed]);
    return [...ids].flatMap((id) => {
      const list = core.orderList(id);
      if (!list) return [];
      const done = list.orderIds.filter((i) => TERMINAL.has(core.order(i)?.status ?? "")).length;
      return this.placed.has(id) || this.ended.get(id) === done || listed.includes(id) ? [list] : [];
    });
  }
}
