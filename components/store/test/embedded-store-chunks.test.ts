import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { EmbeddedStore } from "../src/embedded-store.ts";
import { order, trade } from "./conformance.ts";

it("keeps records across slot chunks (and far-apart ids) through a reopen", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bourse-store-chunks-"));
  const store = await EmbeddedStore.open(dir);
  const ids = [1, 65_535, 65_536, 65_537, 140_000, 3_000_000];
  await store.write({ orders: ids.map((id) => order(id, "FILLED", 10)), trades: [] });
  // 70,000 trades: past the first chunk of trade slots.
  for (let from = 1; from <= 70_000; from += 10_000) {
    await store.write({ orders: [], trades: Array.from({ length: 10_000 }, (_, i) => trade(from + i)) });
  }
  await store.close();
  const reopened = await EmbeddedStore.open(dir);
  for (const id of ids) expect(await reopened.order(id)).toEqual(order(id, "FILLED", 10));
  expect(await reopened.order(2)).toBeUndefined();
  expect((await reopened.ordersByUser(7, 1)).map((o) => o.orderId)).toEqual(ids);
  const recent = await reopened.tradesByMarket(1, 3);
  expect(recent).toEqual([trade(69_998), trade(69_999), trade(70_000)]);
  expect((await reopened.tradesByUser(trade(1).buyerUserId, 1)).length).toBe(70_000);
  await reopened.close();
});
