import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { DAY_MS, OrderAdmission, OrderCounts } from "../src/order-counts.ts";
import { UbsCoreService } from "../src/service.ts";
import type { UbsCommand } from "../src/types.ts";
import { exchange } from "./fixtures.ts";

describe("OrderCounts", () => {
  it("counts a user's orders in the 10-second window and the UTC day, each from zero when it ends", () => {
    const counts = new OrderCounts();
    counts.count(7, 1_000);
    counts.count(7, 9_999);
    counts.count(8, 9_999);
    expect(counts.of(7, 9_999)).toEqual({ tenSeconds: 2, day: 2 });
    counts.count(7, 10_000);
    expect(counts.of(7, 10_000)).toEqual({ tenSeconds: 1, day: 3 });
    expect(counts.of(8, 10_000)).toEqual({ tenSeconds: 0, day: 1 });
    expect(counts.of(7, DAY_MS)).toEqual({ tenSeconds: 0, day: 0 });
  });

  it("never goes back in time: an order stamped behind the horizon counts in the current windows", () => {
    const counts = new OrderCounts();
    counts.count(7, 25_000);
    counts.count(7, 5_000); // a gateway whose clock lags
    expect(counts.of(7, 0)).toEqual({ tenSeconds: 2, day: 2 });
  });

  it("counts what a reference model of Binance's fixed windows counts, and a snapshot keeps it", () => {
    const step = fc.record({
      userId: fc.integer({ min: 1, max: 3 }),
      advance: fc.integer({ min: 0, max: 3 * 3_600_000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: 0, max: 4 }), (steps, cut) => {
        let counts = new OrderCounts();
        const taken: [number, number][] = [];
        let time = 1_700_000_000_000;
        steps.forEach(({ userId, advance }, i) => {
          time += advance % 7 === 0 ? advance : advance % 20_000;
          counts.count(userId, time);
          taken.push([userId, time]);
          if (i === cut) counts = OrderCounts.restore(JSON.parse(JSON.stringify(counts.entries())));
        });
        for (const userId of [1, 2, 3]) {
          const mine = taken.filter(([u]) => u === userId).map(([, t]) => t);
          const inWindow = (size: number) =>
            mine.filter((t) => Math.floor(t / size) === Math.floor(time / size)).length;
          expect(counts.of(userId, time)).toEqual({ tenSeconds: inWindow(10_000), day: inWindow(DAY_MS) });
        }
      }),
    );
  });
});

describe("OrderAdmission", () => {
  const LIMITS = { ordersPer10s: 3, ordersPerDay: 5 };

  it("refuses the order past either limit with Binance's message, counting those still in flight", () => {
    const counts = new OrderCounts();
    const admission = new OrderAdmission(LIMITS, counts);
    const inFlight = [admission.hold(7, 0), admission.hold(7, 0)];
    counts.count(7, 0);
    inFlight[0]!.release(); // applied: now in the counts, no longer pending
    admission.hold(7, 0);
    expect(() => admission.hold(7, 0)).toThrow(
      "Too many new orders; current limit is 3 orders per TEN_SECONDS.",
    );
    expect(() => admission.hold(8, 0)).not.toThrow();
  });

  it("refuses past the day's limit in a later 10-second window, and lets the user back the next day", () => {
    const counts = new OrderCounts();
    const admission = new OrderAdmission(LIMITS, counts);
    for (let i = 0; i < 5; i++) {
      admission.hold(7, i * 10_000).release();
      counts.count(7, i * 10_000);
    }
    let refusal: unknown;
    try {
      admission.hold(7, 60_000);
    } catch (e) {
      refusal = e;
    }
    expect(isBourseError(refusal, "TOO_MANY_ORDERS")).toBe(true);
    expect((refusal as Error).message).toBe("Too many new orders; current limit is 5 orders per DAY.");
    expect(() => admission.hold(7, DAY_MS)).not.toThrow();
  });
});

describe("UBSCore's order limits", () => {
  const LIMITS = { ordersPer10s: 3, ordersPerDay: 100 };
  const T0 = 1_800_000_000_000;
  let signatures = 0;
  const order = (userId: number, time: number, signed = true): UbsCommand => ({
    kind: "place",
    userId,
    symbol: "BTCUSDT",
    clientOrderId: `o${++signatures}`,
    side: Side.Buy,
    type: OrderType.Limit,
    tif: TimeInForce.IOC,
    priceTicks: 1_000_000,
    qtyLots: 1,
    quoteUnits: 0n,
    stp: 0,
    time,
    ...(signed ? { signature: new Uint8Array(32).fill(signatures % 256), validUntil: time + 60_000 } : {}),
  });
  const open = (dir: string, snapshotEvery?: number) =>
    UbsCoreService.open(dir, exchange, { orderLimits: LIMITS, snapshotEvery });
  const refusals = async (service: UbsCoreService, cmds: UbsCommand[]) => {
    const settled = await Promise.allSettled(cmds.map((cmd) => service.submit(cmd)));
    return settled.filter((s) => s.status === "rejected" && isBourseError(s.reason, "TOO_MANY_ORDERS"))
      .length;
  };

  it("refuses a burst past the limit unjournaled, counts only users' signed orders, and keeps the count across restarts and snapshots", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-order-limits-"));
    let service = await open(dir);
    await service.submit({ kind: "createUser", userId: 1 });
    await service.submit({ kind: "credit", userId: 1, asset: "USDT", amount: 1_000_000_000_000n });
    const journaled = service.lastLsn;
    // Sent together (one group commit): those in flight count, so exactly the limit is taken.
    expect(
      await refusals(
        service,
        [1, 2, 3, 4, 5].map(() => order(1, T0)),
      ),
    ).toBe(2);
    expect(service.lastLsn).toBe(journaled + 3);
    // The operator's and the tests' orders are not a user's requests: never limited, never counted.
    expect(
      await refusals(
        service,
        [1, 2].map(() => order(1, T0, false)),
      ),
    ).toBe(0);
    expect(service.core.orderCounts.of(1, T0)).toEqual({ tenSeconds: 3, day: 3 });
    await service.close();
    service = await open(dir, 1); // replayed from the journal; then a snapshot at every command
    expect(await refusals(service, [order(1, T0 + 1)])).toBe(1);
    expect(await refusals(service, [order(1, T0 + 10_000)])).toBe(0);
    await service.close();
    service = await open(dir); // from the snapshot
    expect(service.core.orderCounts.of(1, T0 + 10_000)).toEqual({ tenSeconds: 1, day: 4 });
    await service.close();
  });
});
