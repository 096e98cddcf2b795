import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Health } from "../src/health.ts";
import { LagClock } from "../src/lag-clock.ts";

describe("Health", () => {
  it("is live and ready while every check passes, and names each one that fails", () => {
    const health = new Health();
    let replaying = true;
    health.ready("ubscore", () => (replaying ? "replaying the journal" : undefined));
    health.live("journal", () => undefined);
    health.ready("broken", () => {
      throw new Error("boom");
    });
    expect(health.notLive()).toEqual({});
    expect(health.notReady()).toEqual({ ubscore: "replaying the journal", broken: "check failed: boom" });
    replaying = false;
    health.ready("broken", () => undefined);
    expect(health.notReady()).toEqual({});
  });
});

describe("LagClock", () => {
  it("says how long ago the oldest unsettled position was handed over, within its resolution", () => {
    fc.assert(
      fc.property(
        // Handovers: a position each, at increasing times; then a settled position among them.
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 10_000 }),
        (gaps, settledPick, later) => {
          let now = 0;
          const clock = new LagClock(100, () => now);
          const handedAt: number[] = [];
          gaps.forEach((gap, i) => {
            now += gap;
            handedAt[i + 1] = now;
            clock.note(i + 1);
          });
          const recorded = gaps.length;
          const settled = settledPick % (recorded + 1);
          now += later;
          const seconds = clock.secondsBehind(settled, recorded);
          if (settled === recorded) {
            expect(seconds).toBe(0);
          } else {
            const exact = (now - handedAt[settled + 1]!) / 1000;
            // Never less than the truth (an alert must not fire late), never more than 0.1 s over.
            expect(seconds).toBeGreaterThanOrEqual(exact - 1e-9);
            expect(seconds).toBeLessThanOrEqual(exact + 0.1 + 1e-9);
          }
        },
      ),
    );
  });
});
