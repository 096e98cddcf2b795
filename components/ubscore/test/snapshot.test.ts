import { describe, expect, it } from "vitest";
import { isBourseError, parseExact, stringifyExact } from "../../domain/src/index.ts";
import { type Retention, UbsCore } from "../src/core.ts";
import type { UbsCommand } from "../src/types.ts";
import { dump, exchange, script } from "./fixtures.ts";

function applyAll(core: UbsCore, cmds: UbsCommand[]): UbsCore {
  for (const cmd of cmds) {
    try {
      core.apply(cmd);
    } catch (e) {
      if (!isBourseError(e)) throw e;
    }
  }
  return core;
}

function busyCore(): UbsCore {
  return applyAll(new UbsCore(exchange), script());
}

describe("UBSCore snapshots", () => {
  it("restore the identical state, a record per line (no single giant string)", () => {
    const core = busyCore();
    expect(core.tradesOf(1).length).toBeGreaterThan(0);
    const bytes = core.snapshot();
    const lines = Buffer.from(bytes).toString("utf8").trimEnd().split("\n");
    expect(lines.length).toBe(
      1 +
        core.allOrders(1, 1).length +
        core.allOrders(2, 1).length +
        core.allOrders(3, 1).length +
        core.tradesOf(1).length +
        core.candlesOf(1).length,
    );
    expect(dump(UbsCore.restore(exchange, bytes))).toBe(dump(core));
  });

  it("still restores version 1 snapshots (one JSON document) written by earlier releases", () => {
    const core = busyCore();
    const [header, ...records] = Buffer.from(core.snapshot()).toString("utf8").trimEnd().split("\n");
    const state = parseExact<Record<string, unknown>>(header!);
    const orders: unknown[] = [];
    const trades: unknown[][] = [];
    for (const line of records) {
      const r = parseExact<unknown[]>(line);
      if (r[0] === "o") orders.push(r[1]);
      else if (r[0] === "t") trades[r[1] as number] = [...(trades[r[1] as number] ?? []), r[2]];
    }
    // What version 1 had: no retention, closing order or forgotten counts (nor candle records).
    const { retention, closed, forgotten, ...v1State } = state;
    const v1 = Buffer.from(stringifyExact({ ...v1State, version: 1, orders, trades }));
    expect(dump(UbsCore.restore(exchange, v1))).toBe(dump(core));
  });

  it("still restores version 4 snapshots (before order lists), their books in the engine's version 2", () => {
    const core = busyCore();
    const [header, ...records] = Buffer.from(core.snapshot()).toString("utf8").trimEnd().split("\n");
    const { nextOrderListId, ...state } = parseExact<Record<string, unknown>>(header!);
    expect(nextOrderListId).toBe(1);
    // The engine's version 3 header has a count of OCOs (none here) after version 2's six slots.
    const engines = (state.engines as string[]).map((b64) => {
      const d = new Float64Array(new Uint8Array(Buffer.from(b64, "base64")).buffer);
      expect([d[0], d[6]]).toEqual([3, 0]);
      const v2 = Float64Array.from([2, ...d.subarray(1, 6), ...d.subarray(7)]);
      return Buffer.from(v2.buffer).toString("base64");
    });
    const v4 = [stringifyExact({ ...state, version: 4, engines }), ...records].join("\n");
    expect(dump(UbsCore.restore(exchange, Buffer.from(`${v4}\n`)))).toBe(dump(core));
  });

  it("refuses a snapshot cut inside a record", () => {
    const bytes = busyCore().snapshot();
    expect(() => UbsCore.restore(exchange, bytes.subarray(0, bytes.length - 5))).toThrow(/inside a record/);
  });
});

describe("UBSCore retention", () => {
  const small: Retention = { closedOrders: 20, tradesPerMarket: 15 };

  it("keeps every open order but only the most recent closed orders and trades", () => {
    const core = applyAll(new UbsCore(exchange, small), script());
    const everything = busyCore();
    const all = (c: UbsCore) => [1, 2, 3].flatMap((u) => c.allOrders(u, 1));
    const open = (c: UbsCore) => [1, 2, 3].flatMap((u) => c.openOrders(u, 1));
    expect(open(core)).toEqual(open(everything));
    const closed = all(core).filter((o) => !open(core).includes(o));
    expect(all(everything).length - open(everything).length).toBeGreaterThan(small.closedOrders);
    expect(closed.length).toBe(small.closedOrders);
    // What is kept is kept whole: the same records as in a core that forgets nothing.
    for (const o of closed) expect(everything.order(o.orderId)).toEqual(o);
    expect(core.tradesOf(1).length).toBeLessThan(2 * small.tradesPerMarket);
    expect(core.tradesOf(1)).toEqual(everything.tradesOf(1).slice(-core.tradesOf(1).length));
    // Balances do not depend on how much history is kept.
    for (const u of [1, 2, 3]) expect(core.balancesOf(u)).toEqual(everything.balancesOf(u));
  });

  it("prunes the same way after a snapshot as without one, so replicas keep what the primary keeps", () => {
    const cmds = script();
    const half = Math.floor(cmds.length / 2);
    const primary = applyAll(new UbsCore(exchange, small), cmds.slice(0, half));
    // A replica starts from the primary's snapshot and takes its retention from it.
    const replica = UbsCore.restore(exchange, primary.snapshot());
    expect(replica.retention).toEqual(small);
    applyAll(primary, cmds.slice(half));
    applyAll(replica, cmds.slice(half));
    expect(dump(replica)).toBe(dump(primary));
    expect(Buffer.from(replica.snapshot()).equals(Buffer.from(primary.snapshot()))).toBe(true);
  });
});
