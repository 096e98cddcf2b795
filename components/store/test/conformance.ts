import { describe, expect, it } from "vitest";
import { openedForSuite } from "../../../tests/support/port-under-test.ts";
import type { HistoryStore, Page, StoredOrder, StoredTrade } from "../src/port.ts";

/** The history store conformance suite: the same cases against any adapter. */
export const order = (
  orderId: number,
  status: StoredOrder["status"],
  executedLots: number,
  userId = 7,
): StoredOrder => ({
  orderId,
  userId,
  marketId: 1,
  clientOrderId: `c${orderId}`,
  side: 0,
  type: 0,
  tif: 0,
  priceTicks: 6_500_001,
  origQtyLots: 10,
  executedLots,
  cumQuote: BigInt(executedLots) * 65_000_010n,
  status,
  time: 1_700_000_000_000,
  updateTime: 1_700_000_000_500,
  quoteOrderUnits: orderId % 2 === 0 ? 0n : 123_456_789_012_345_678_901n,
  stp: orderId % 3,
});

export const trade = (tradeId: number, time = 1_700_000_000_000 + tradeId): StoredTrade => ({
  tradeId,
  marketId: 1,
  priceTicks: 6_500_001,
  qtyLots: 5,
  quoteUnits: 325_000_050n,
  time,
  buyerOrderId: 1,
  sellerOrderId: 2,
  buyerUserId: 7,
  sellerUserId: 8,
  takerSide: 0,
  buyerFee: 325_000n,
  sellerFee: 325_000n,
});

/** The store under test: open from beforeAll to afterAll, so read it inside a case, not before. */
interface StoreUnderTest {
  readonly store: HistoryStore;
}

export function storeConformance(name: string, open: () => Promise<HistoryStore>): void {
  describe(`history store conformance: ${name}`, () => {
    const opened = openedForSuite(open);
    const underTest: StoreUnderTest = {
      get store() {
        return opened();
      },
    };
    orderCases(underTest);
    tradeCases(underTest);
    batchAndPagingCases(underTest);
  });
}

/** Orders: upserted by id, found by id and by client id. */
function orderCases(subject: StoreUnderTest): void {
  it("upserts orders by id: the latest state wins and re-sent writes duplicate nothing", async () => {
    const { store } = subject;
    await store.write({ orders: [order(101, "NEW", 0), order(102, "NEW", 0)], trades: [] });
    await store.write({ orders: [order(101, "PARTIALLY_FILLED", 5)], trades: [] });
    await store.write({ orders: [order(101, "PARTIALLY_FILLED", 5)], trades: [] });
    expect(
      (await store.ordersByUser(7, 1)).map((o) => [o.orderId, o.status, o.executedLots, o.cumQuote]),
    ).toEqual([
      [101, "PARTIALLY_FILLED", 5, 325_000_050n],
      [102, "NEW", 0, 0n],
    ]);
    expect(await store.order(102)).toEqual(order(102, "NEW", 0));
    expect(await store.order(999)).toBeUndefined();
    expect(await store.ordersByUser(9, 1)).toEqual([]);
  });

  it("finds an order by its client id: the most recent of the user's orders with it", async () => {
    const { store } = subject;
    const reused = { ...order(6_002, "NEW", 0, 31), clientOrderId: "again" };
    const earlier = { ...order(6_001, "FILLED", 10, 31), clientOrderId: "again" };
    await store.write({ orders: [earlier, order(6_003, "NEW", 0, 31)], trades: [] });
    await store.write({ orders: [reused], trades: [] });
    // A later state of the earlier order changes nothing: the newest order keeps the client id.
    await store.write({ orders: [{ ...earlier, updateTime: earlier.updateTime + 1 }], trades: [] });
    expect(await store.orderByClientId(31, 1, "again")).toEqual(reused);
    expect(await store.orderByClientId(31, 1, "c6003")).toEqual(order(6_003, "NEW", 0, 31));
    expect(await store.orderByClientId(31, 1, "nope")).toBeUndefined();
    expect(await store.orderByClientId(32, 1, "again")).toBeUndefined();
    expect(await store.orderByClientId(31, 2, "again")).toBeUndefined();
  });
}

/** Trades: by market and by user, each once, and a market's from an id on. */
function tradeCases(subject: StoreUnderTest): void {
  it("keeps trades by market (most recent, across days) and by user, each once, money exact", async () => {
    const { store } = subject;
    const day = 86_400_000;
    const trades = [
      trade(1, 1_700_000_000_000),
      trade(2, 1_700_000_000_000 + day),
      trade(3, 1_700_000_000_000 + 2 * day),
    ];
    await store.write({ orders: [], trades });
    await store.write({ orders: [], trades: [trades[2]!] });
    expect(await store.tradesByMarket(1, 10)).toEqual(trades);
    expect(await store.tradesByMarket(1, 2)).toEqual(trades.slice(1));
    expect(await store.tradesByUser(7, 1)).toEqual(trades);
    expect(await store.tradesByUser(8, 1)).toEqual(trades);
    expect(await store.tradesByUser(9, 1)).toEqual([]);
    expect(await store.tradesByMarket(2, 10)).toEqual([]);
  });

  it("reads a market's trades from an id on, oldest first, across days", async () => {
    const { store } = subject;
    const DAY = 86_400_000;
    const days = Array.from({ length: 12 }, (_, i) => ({
      ...trade(30_001 + i, 2_000_000_000_000 + Math.floor(i / 4) * DAY + i),
      marketId: 3,
    }));
    await store.write({ orders: [], trades: days });
    const ids = async (fromId: number, limit: number) =>
      (await store.tradesFrom(3, fromId, limit)).map((t) => t.tradeId);
    expect(await store.tradesFrom(3, 30_001, 100)).toEqual(days);
    expect(await ids(30_003, 4)).toEqual([30_003, 30_004, 30_005, 30_006]);
    expect(await ids(30_008, 100)).toEqual([30_008, 30_009, 30_010, 30_011, 30_012]);
    expect(await ids(1, 2)).toEqual([30_001, 30_002]);
    expect(await ids(30_013, 10)).toEqual([]);
    expect(await store.tradesFrom(4, 1, 10)).toEqual([]);
  });
}

/** Large writes, and a user's history read page by page. */
function batchAndPagingCases(subject: StoreUnderTest): void {
  it("takes a large batch in one write: every trade once, each order in its last state in the batch", async () => {
    const { store } = subject;
    const many = Array.from({ length: 1_000 }, (_, i) => trade(10_000 + i, 1_800_000_000_000 + i));
    const states = Array.from({ length: 300 }, (_, i) => order(5_000 + (i % 100), "PARTIALLY_FILLED", i, 9));
    await store.write({ orders: states, trades: many });
    expect(await store.tradesByMarket(1, 1_000)).toEqual(many);
    const byUser = await store.ordersByUser(9, 1);
    expect(byUser.map((o) => [o.orderId, o.executedLots])).toEqual(
      Array.from({ length: 100 }, (_, i) => [5_000 + i, 200 + i]),
    );
    expect(await store.order(5_042)).toEqual(order(5_042, "PARTIALLY_FILLED", 242, 9));
  });

  it("pages a user's history: the most recent, or from an id on, oldest first", async () => {
    const { store } = subject;
    const orders = Array.from({ length: 30 }, (_, i) => order(7_001 + i, "NEW", 0, 21));
    const trades = Array.from({ length: 30 }, (_, i) => ({
      ...trade(20_001 + i, 1_900_000_000_000 + i),
      buyerUserId: 21,
      sellerUserId: 22,
    }));
    // Out of order across writes: the pages are by id all the same.
    await store.write({ orders: orders.slice(10), trades: trades.slice(10) });
    await store.write({ orders: orders.slice(0, 10), trades: trades.slice(0, 10) });
    const ids = <T>(rows: T[], id: (r: T) => number) => rows.map(id);
    const orderIds = async (page?: Page) => ids(await store.ordersByUser(21, 1, page), (o) => o.orderId);
    const tradeIds = async (user: number, page?: Page) =>
      ids(await store.tradesByUser(user, 1, page), (t) => t.tradeId);
    expect(await orderIds()).toEqual(orders.map((o) => o.orderId));
    expect(await orderIds({ limit: 5 })).toEqual([7_026, 7_027, 7_028, 7_029, 7_030]);
    expect(await orderIds({ fromId: 7_010, limit: 3 })).toEqual([7_010, 7_011, 7_012]);
    expect(await orderIds({ fromId: 7_029, limit: 10 })).toEqual([7_029, 7_030]);
    expect(await orderIds({ fromId: 8_000, limit: 10 })).toEqual([]);
    expect(await tradeIds(22)).toEqual(trades.map((t) => t.tradeId));
    expect(await tradeIds(21, { limit: 2 })).toEqual([20_029, 20_030]);
    expect(await tradeIds(22, { fromId: 20_005, limit: 2 })).toEqual([20_005, 20_006]);
  });
}
