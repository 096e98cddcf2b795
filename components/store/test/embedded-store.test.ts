import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddedStore } from "../src/embedded-store.ts";
import type { StoredOrder, StoredTrade } from "../src/port.ts";

const order = (orderId: number, status: StoredOrder["status"], executedLots: number): StoredOrder => ({
  orderId,
  userId: 7,
  marketId: 1,
  clientOrderId: `c${orderId}`,
  side: 0,
  type: 0,
  tif: 0,
  priceTicks: 100,
  origQtyLots: 10,
  executedLots,
  cumQuote: BigInt(executedLots) * 1000n,
  status,
  time: 1,
  updateTime: 2,
});

const trade = (tradeId: number): StoredTrade => ({
  tradeId,
  marketId: 1,
  priceTicks: 100,
  qtyLots: 5,
  quoteUnits: 5000n,
  time: 3,
  buyerOrderId: 1,
  sellerOrderId: 2,
  buyerUserId: 7,
  sellerUserId: 8,
  takerSide: 0,
  buyerFee: 5n,
  sellerFee: 5n,
});

describe("EmbeddedStore", () => {
  it("upserts by key (re-sent writes duplicate nothing) and keeps everything across a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-store-"));
    const store = await EmbeddedStore.open(dir);
    await store.write({ orders: [order(1, "NEW", 0), order(2, "NEW", 0)], trades: [] });
    await store.write({ orders: [order(1, "PARTIALLY_FILLED", 5)], trades: [trade(1)] });
    await store.write({ orders: [order(1, "PARTIALLY_FILLED", 5)], trades: [trade(1)] });
    await store.close();
    const reopened = await EmbeddedStore.open(dir);
    expect((await reopened.ordersByUser(7, 1)).map((o) => [o.orderId, o.status, o.cumQuote])).toEqual([
      [1, "PARTIALLY_FILLED", 5000n],
      [2, "NEW", 0n],
    ]);
    expect(await reopened.tradesByMarket(1, 10)).toEqual([trade(1)]);
    expect(await reopened.tradesByUser(8, 1)).toEqual([trade(1)]);
    expect(await reopened.tradesByUser(9, 1)).toEqual([]);
    expect(await reopened.order(2)).toMatchObject({ status: "NEW" });
    await reopened.close();
  });
});
