import cassandra from "cassandra-driver";
import type { HistoryBatch, HistoryStore, Page, StoredOrder, StoredTrade } from "./port.ts";

/**
 * The history store on ScyllaDB / Cassandra (CQL that both support: no SAI, no UDF). One table per
 * query the gateway serves, partition keys chosen for them:
 *   orders_by_id      (order_id)                    an order by id
 *   orders_by_user    ((user_id, market_id), order_id)            allOrders / openOrders
 *   trades_by_market  ((market_id, day), trade_id)   recent trades, one partition per market-day
 *   trades_by_user    ((user_id, market_id), trade_id)            myTrades
 *   trade_days        (market_id, day)               which market-days exist, newest first
 * Migrations are numbered and applied once at start (schema_migrations). Every write is an
 * idempotent upsert executed as a prepared statement marked idempotent, so the driver may retry.
 */
const DAY_MS = 86_400_000;

/** Schema versions, applied in order: CQL statements, or a function for a data step. */
type Migration = string | ((client: cassandra.Client) => Promise<void>);

const MIGRATIONS: readonly Migration[][] = [
  [
    `CREATE TABLE IF NOT EXISTS orders_by_id (order_id bigint PRIMARY KEY, user_id int, market_id int,
      client_order_id text, side tinyint, type tinyint, tif tinyint, price_ticks bigint, orig_qty_lots bigint,
      executed_lots bigint, cum_quote varint, status text, time bigint, update_time bigint)`,
    `CREATE TABLE IF NOT EXISTS orders_by_user (user_id int, market_id int, order_id bigint, client_order_id text,
      side tinyint, type tinyint, tif tinyint, price_ticks bigint, orig_qty_lots bigint, executed_lots bigint,
      cum_quote varint, status text, time bigint, update_time bigint, PRIMARY KEY ((user_id, market_id), order_id))`,
    `CREATE TABLE IF NOT EXISTS trades_by_market (market_id int, day int, trade_id bigint, price_ticks bigint,
      qty_lots bigint, quote_units varint, time bigint, buyer_order_id bigint, seller_order_id bigint,
      buyer_user_id int, seller_user_id int, taker_side tinyint, buyer_fee varint, seller_fee varint,
      PRIMARY KEY ((market_id, day), trade_id)) WITH CLUSTERING ORDER BY (trade_id DESC)`,
    `CREATE TABLE IF NOT EXISTS trades_by_user (user_id int, market_id int, trade_id bigint, price_ticks bigint,
      qty_lots bigint, quote_units varint, time bigint, buyer_order_id bigint, seller_order_id bigint,
      buyer_user_id int, seller_user_id int, taker_side tinyint, buyer_fee varint, seller_fee varint,
      PRIMARY KEY ((user_id, market_id), trade_id))`,
    `CREATE TABLE IF NOT EXISTS trade_days (market_id int, day int, PRIMARY KEY (market_id, day))
      WITH CLUSTERING ORDER BY (day DESC)`,
  ],
  // 2: what an order view needs besides: the quote amount of a market order by quote, and STP.
  [
    "ALTER TABLE orders_by_id ADD (quote_order_units varint, stp tinyint)",
    "ALTER TABLE orders_by_user ADD (quote_order_units varint, stp tinyint)",
  ],
  // 3: an order by its client id (the most recent with it), without reading the user's history;
  // in the (user, market) partition, so it is written in the same batch as orders_by_user.
  [
    `CREATE TABLE IF NOT EXISTS orders_by_client_id (user_id int, market_id int, client_order_id text,
      order_id bigint, PRIMARY KEY ((user_id, market_id), client_order_id, order_id))
      WITH CLUSTERING ORDER BY (client_order_id ASC, order_id DESC)`,
    backfillClientIds,
  ],
];

const ORDER_COLUMNS =
  "order_id, user_id, market_id, client_order_id, side, type, tif, price_ticks, orig_qty_lots, executed_lots, cum_quote, status, time, update_time, quote_order_units, stp";
const TRADE_COLUMNS =
  "trade_id, price_ticks, qty_lots, quote_units, time, buyer_order_id, seller_order_id, buyer_user_id, seller_user_id, taker_side, buyer_fee, seller_fee";

export interface CassandraStoreOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /**
   * Copies of each row in the local data center, for a keyspace it creates (1 for a single test
   * node): NetworkTopologyStrategy, so a quorum of several nodes holds every write.
   */
  readonly replicationFactor?: number;
  /**
   * Only to read (a gateway): creates no keyspace, applies no migration (the writers do), and
   * connects at its first query, so a gateway starts while the store is away.
   */
  readonly reader?: boolean;
}

/** Requests in flight per write: well under the driver's 2,048 per connection. */
const WRITES_IN_FLIGHT = 512;
/** Rows per single-partition batch: about 10 KB, under Cassandra's 50 KB batch size limit. */
const ROWS_PER_BATCH = 40;

interface Query {
  readonly query: string;
  readonly params: unknown[];
}

export class CassandraStore implements HistoryStore {
  private constructor(private readonly client: cassandra.Client) {}

  static async connect(options: CassandraStoreOptions): Promise<CassandraStore> {
    if (!/^[a-z][a-z0-9_]{0,47}$/.test(options.keyspace))
      throw new RangeError(`bad keyspace ${options.keyspace}`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.localDataCenter))
      throw new RangeError(`bad data center name ${options.localDataCenter}`);
    const encoding = { useBigIntAsLong: true, useBigIntAsVarint: true };
    const client = new cassandra.Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      keyspace: options.keyspace,
      encoding,
    });
    if (options.reader) return new CassandraStore(client);
    const bootstrap = new cassandra.Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      encoding,
    });
    await bootstrap.connect();
    await bootstrap.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${options.keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', '${options.localDataCenter}': ${options.replicationFactor ?? 1}}`,
    );
    await bootstrap.shutdown();
    await client.connect();
    await migrate(client);
    return new CassandraStore(client);
  }

  /**
   * Upserts by key, so a batch written again changes nothing. Each order once, in its last state
   * in the batch; rows that share a partition go together in unlogged single-partition batches
   * (one request, applied together, what ScyllaDB recommends); the rest one request each, a
   * bounded number in flight.
   */
  async write(batch: HistoryBatch): Promise<void> {
    const orders = new Map(batch.orders.map((o) => [o.orderId, o]));
    const single: Query[] = [];
    const byPartition = new Map<string, Query[]>();
    const group = (key: string, q: Query) => {
      const list = byPartition.get(key);
      if (list) list.push(q);
      else byPartition.set(key, [q]);
    };
    for (const o of orders.values()) {
      const params = orderValues(o);
      single.push({ query: `INSERT INTO orders_by_id (${ORDER_COLUMNS}) VALUES (${marks(16)})`, params });
      group(`u${o.userId}:${o.marketId}:o`, {
        query: `INSERT INTO orders_by_user (${ORDER_COLUMNS}) VALUES (${marks(16)})`,
        params,
      });
      // In the same single-partition batch: a small row, rewritten unchanged with each state.
      group(`u${o.userId}:${o.marketId}:o`, clientIdRow(o));
    }
    const days = new Set<string>();
    for (const t of batch.trades) {
      const day = Math.floor(t.time / DAY_MS);
      const values = tradeValues(t);
      group(`m${t.marketId}:${day}`, {
        query: `INSERT INTO trades_by_market (market_id, day, ${TRADE_COLUMNS}) VALUES (${marks(14)})`,
        params: [t.marketId, day, ...values],
      });
      for (const userId of new Set([t.buyerUserId, t.sellerUserId])) {
        group(`u${userId}:${t.marketId}:t`, {
          query: `INSERT INTO trades_by_user (user_id, market_id, ${TRADE_COLUMNS}) VALUES (${marks(14)})`,
          params: [userId, t.marketId, ...values],
        });
      }
      if (days.has(`${t.marketId}:${day}`)) continue;
      days.add(`${t.marketId}:${day}`);
      single.push({
        query: "INSERT INTO trade_days (market_id, day) VALUES (?, ?)",
        params: [t.marketId, day],
      });
    }
    const requests: (() => Promise<unknown>)[] = single.map(
      (q) => () => this.client.execute(q.query, q.params, { prepare: true, isIdempotent: true }),
    );
    for (const rows of byPartition.values()) {
      for (let i = 0; i < rows.length; i += ROWS_PER_BATCH) {
        const chunk = rows.slice(i, i + ROWS_PER_BATCH);
        requests.push(() => this.client.batch(chunk, { prepare: true, logged: false, isIdempotent: true }));
      }
    }
    // Many at once, but bounded: past the driver's requests per connection it refuses them (busy).
    let next = 0;
    const worker = async () => {
      while (next < requests.length) await requests[next++]!();
    };
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, requests.length) }, worker));
  }

  async order(orderId: number): Promise<StoredOrder | undefined> {
    const rs = await this.client.execute(
      `SELECT ${ORDER_COLUMNS} FROM orders_by_id WHERE order_id = ?`,
      [BigInt(orderId)],
      {
        prepare: true,
      },
    );
    return rs.first() ? toOrder(rs.first()) : undefined;
  }

  async ordersByUser(userId: number, marketId: number, page?: Page): Promise<StoredOrder[]> {
    const rows = await this.userPage("orders_by_user", ORDER_COLUMNS, "order_id", [userId, marketId], page);
    return rows.map(toOrder);
  }

  async orderByClientId(
    userId: number,
    marketId: number,
    clientOrderId: string,
  ): Promise<StoredOrder | undefined> {
    const rs = await this.client.execute(
      "SELECT order_id FROM orders_by_client_id WHERE user_id = ? AND market_id = ? AND client_order_id = ? LIMIT 1",
      [userId, marketId, clientOrderId],
      { prepare: true },
    );
    const row = rs.first();
    return row ? this.order(Number(row.order_id)) : undefined;
  }

  async tradesByMarket(marketId: number, limit: number): Promise<StoredTrade[]> {
    const days = await this.client.execute("SELECT day FROM trade_days WHERE market_id = ?", [marketId], {
      prepare: true,
    });
    const out: StoredTrade[] = [];
    for (const row of days.rows) {
      if (out.length >= limit) break;
      const rs = await this.client.execute(
        `SELECT ${TRADE_COLUMNS} FROM trades_by_market WHERE market_id = ? AND day = ? LIMIT ?`,
        [marketId, row.day as number, limit - out.length],
        { prepare: true },
      );
      out.push(...rs.rows.map((r) => toTrade(r, marketId)));
    }
    return out.sort((a, b) => a.tradeId - b.tradeId);
  }

  async tradesFrom(marketId: number, fromId: number, limit: number): Promise<StoredTrade[]> {
    // Newest day first: back to the first day that begins at or before fromId, then forward.
    const days = (
      await this.client.execute("SELECT day FROM trade_days WHERE market_id = ?", [marketId], {
        prepare: true,
      })
    ).rows.map((r) => r.day as number);
    let first = days.length - 1;
    for (let i = 0; i < days.length; i++) {
      const oldest = await this.client.execute(
        "SELECT trade_id FROM trades_by_market WHERE market_id = ? AND day = ? ORDER BY trade_id ASC LIMIT 1",
        [marketId, days[i]!],
        { prepare: true },
      );
      const id = oldest.rows[0]?.trade_id;
      if (id !== undefined && Number(id) <= fromId) {
        first = i;
        break;
      }
    }
    const out: StoredTrade[] = [];
    for (let i = first; i >= 0 && out.length < limit; i--) {
      const rs = await this.client.execute(
        `SELECT ${TRADE_COLUMNS} FROM trades_by_market WHERE market_id = ? AND day = ? AND trade_id >= ? ORDER BY trade_id ASC LIMIT ?`,
        [marketId, days[i]!, BigInt(fromId), limit - out.length],
        { prepare: true },
      );
      out.push(...rs.rows.map((r) => toTrade(r, marketId)));
    }
    return out;
  }

  async tradesByUser(userId: number, marketId: number, page?: Page): Promise<StoredTrade[]> {
    const rows = await this.userPage("trades_by_user", TRADE_COLUMNS, "trade_id", [userId, marketId], page);
    return rows.map((r) => toTrade(r, marketId));
  }

  /**
   * Rows of one (user, market) partition, oldest first: a page (from an id on, ascending; or the
   * most recent, read descending and turned around), or every row, fetched page by page.
   */
  private async userPage(
    table: string,
    columns: string,
    id: string,
    key: [number, number],
    page: Page | undefined,
  ): Promise<cassandra.types.Row[]> {
    const where = `SELECT ${columns} FROM ${table} WHERE user_id = ? AND market_id = ?`;
    const options = { prepare: true };
    if (page?.fromId !== undefined) {
      const q = `${where} AND ${id} >= ? LIMIT ?`;
      return (await this.client.execute(q, [...key, BigInt(page.fromId), page.limit], options)).rows;
    }
    if (page) {
      const q = `${where} ORDER BY ${id} DESC LIMIT ?`;
      return (await this.client.execute(q, [...key, page.limit], options)).rows.reverse();
    }
    const rows: cassandra.types.Row[] = [];
    for await (const some of pages(this.client, where, key, 5000)) rows.push(...some);
    return rows;
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}

function clientIdRow(o: Pick<StoredOrder, "userId" | "marketId" | "clientOrderId" | "orderId">): Query {
  return {
    query:
      "INSERT INTO orders_by_client_id (user_id, market_id, client_order_id, order_id) VALUES (?, ?, ?, ?)",
    params: [o.userId, o.marketId, o.clientOrderId, BigInt(o.orderId)],
  };
}

/** Migration 3's data step: every order already stored, by its client id. */
async function backfillClientIds(client: cassandra.Client): Promise<void> {
  const all = "SELECT order_id, user_id, market_id, client_order_id FROM orders_by_id";
  for await (const rows of pages(client, all, [], 1000)) {
    for (const r of rows) {
      const row = clientIdRow({
        orderId: Number(r.order_id),
        userId: r.user_id as number,
        marketId: r.market_id as number,
        clientOrderId: r.client_order_id as string,
      });
      await client.execute(row.query, row.params, { prepare: true, isIdempotent: true });
    }
  }
}

/** A query's rows, `fetchSize` at a time, however many there are. */
async function* pages(
  client: cassandra.Client,
  query: string,
  params: unknown[],
  fetchSize: number,
): AsyncGenerator<cassandra.types.Row[]> {
  let pageState: string | undefined;
  do {
    const rs = await client.execute(query, params, { prepare: true, fetchSize, pageState });
    yield rs.rows;
    pageState = rs.pageState;
  } while (pageState);
}

/**
 * Writers (UBSCore, settlement) may migrate at the same moment on a first start: every step must
 * be safe to run twice. CREATE ... IF NOT EXISTS is; an ALTER TABLE ADD that another process ran
 * first is refused (Cassandra: "already exists", ScyllaDB: "conflicts with an existing column"),
 * and is done all the same.
 */
function alreadyApplied(step: string): (e: Error) => void {
  return (e) => {
    const added = /^ALTER TABLE \S+ ADD/.test(step);
    if (!added || !/already exist|conflicts with an existing column/i.test(e.message)) throw e;
  };
}

async function migrate(client: cassandra.Client): Promise<void> {
  await client.execute(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at bigint)",
  );
  const applied = new Set(
    (await client.execute("SELECT version FROM schema_migrations")).rows.map((r) => r.version as number),
  );
  for (const [i, statements] of MIGRATIONS.entries()) {
    const version = i + 1;
    if (applied.has(version)) continue;
    for (const step of statements) {
      if (typeof step === "string") await client.execute(step).catch(alreadyApplied(step));
      else await step(client);
    }
    await client.execute(
      "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
      [version, BigInt(Date.now())],
      {
        prepare: true,
      },
    );
  }
}

function marks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

function orderValues(o: StoredOrder): unknown[] {
  return [
    BigInt(o.orderId),
    o.userId,
    o.marketId,
    o.clientOrderId,
    o.side,
    o.type,
    o.tif,
    BigInt(o.priceTicks),
    BigInt(o.origQtyLots),
    BigInt(o.executedLots),
    o.cumQuote,
    o.status,
    BigInt(o.time),
    BigInt(o.updateTime),
    o.quoteOrderUnits,
    o.stp,
  ];
}

function tradeValues(t: StoredTrade): unknown[] {
  return [
    BigInt(t.tradeId),
    BigInt(t.priceTicks),
    BigInt(t.qtyLots),
    t.quoteUnits,
    BigInt(t.time),
    BigInt(t.buyerOrderId),
    BigInt(t.sellerOrderId),
    t.buyerUserId,
    t.sellerUserId,
    t.takerSide,
    t.buyerFee,
    t.sellerFee,
  ];
}

function toOrder(r: cassandra.types.Row): StoredOrder {
  return {
    orderId: Number(r.order_id),
    userId: r.user_id,
    marketId: r.market_id,
    clientOrderId: r.client_order_id,
    side: r.side,
    type: r.type,
    tif: r.tif,
    priceTicks: Number(r.price_ticks),
    origQtyLots: Number(r.orig_qty_lots),
    executedLots: Number(r.executed_lots),
    cumQuote: BigInt(r.cum_quote),
    status: r.status,
    time: Number(r.time),
    updateTime: Number(r.update_time),
    // Rows written before migration 2 have neither: a limit order without STP.
    quoteOrderUnits: r.quote_order_units === null ? 0n : BigInt(r.quote_order_units),
    stp: r.stp ?? 0,
  };
}

function toTrade(r: cassandra.types.Row, marketId: number): StoredTrade {
  return {
    tradeId: Number(r.trade_id),
    marketId,
    priceTicks: Number(r.price_ticks),
    qtyLots: Number(r.qty_lots),
    quoteUnits: BigInt(r.quote_units),
    time: Number(r.time),
    buyerOrderId: Number(r.buyer_order_id),
    sellerOrderId: Number(r.seller_order_id),
    buyerUserId: r.buyer_user_id,
    sellerUserId: r.seller_user_id,
    takerSide: r.taker_side,
    buyerFee: BigInt(r.buyer_fee),
    sellerFee: BigInt(r.seller_fee),
  };
}
