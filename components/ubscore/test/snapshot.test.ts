import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/errors.ts";
import { parseExact, stringifyExact } from "../../domain/src/json.ts";
import { UbsCore } from "../src/core.ts";
import { dump, exchange, script } from "./fixtures.ts";

function busyCore(): UbsCore {
  const core = new UbsCore(exchange);
  for (const cmd of script()) {
    try {
      core.apply(cmd);
    } catch (e) {
      if (!isBourseError(e)) throw e;
    }
  }
  return core;
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
        core.tradesOf(1).length,
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
      else trades[r[1] as number] = [...(trades[r[1] as number] ?? []), r[2]];
    }
    const v1 = Buffer.from(stringifyExact({ ...state, version: 1, orders, trades }));
    expect(dump(UbsCore.restore(exchange, v1))).toBe(dump(core));
  });

  it("refuses a snapshot cut inside a record", () => {
    const bytes = busyCore().snapshot();
    expect(() => UbsCore.restore(exchange, bytes.subarray(0, bytes.length - 5))).toThrow(/inside a record/);
  });
});
