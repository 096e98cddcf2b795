import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddedStore } from "../src/embedded-store.ts";
import { order, storeConformance, trade } from "./conformance.ts";

storeConformance("embedded", async () => EmbeddedStore.open(await mkdtemp(join(tmpdir(), "bourse-store-"))));

describe("EmbeddedStore durability", () => {
  it("keeps everything across a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-store-"));
    const store = await EmbeddedStore.open(dir);
    await store.write({ orders: [order(1, "NEW", 0)], trades: [trade(1)] });
    await store.write({ orders: [order(1, "FILLED", 10)], trades: [] });
    await store.close();
    const reopened = await EmbeddedStore.open(dir);
    expect(await reopened.order(1)).toMatchObject({ status: "FILLED", executedLots: 10 });
    expect(await reopened.tradesByMarket(1, 10)).toEqual([trade(1)]);
    await reopened.close();
  });
});
