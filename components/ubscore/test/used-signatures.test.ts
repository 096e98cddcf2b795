import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { UsedSignatures } from "../src/used-signatures.ts";

const digest = (n: number) => new Uint8Array(32).fill(n);
const T0 = 1_700_000_000_000;

function outcome(run: () => void): string {
  try {
    run();
    return "taken";
  } catch (e) {
    if (!isBourseError(e)) throw e;
    return e.code;
  }
}

describe("UsedSignatures", () => {
  it("takes a signature once, refuses it while its window is open, and refuses it as expired after", () => {
    const used = new UsedSignatures();
    expect(outcome(() => used.use(digest(1), T0 + 60_000, T0))).toBe("taken");
    expect(outcome(() => used.use(digest(1), T0 + 60_000, T0 + 59_000))).toBe("REPLAYED");
    expect(outcome(() => used.use(digest(2), T0 + 70_000, T0 + 65_000))).toBe("taken");
    // Forgotten now (its window closed more than a second before the horizon): refused all the same.
    expect(used.size).toBe(1);
    expect(outcome(() => used.use(digest(1), T0 + 60_000, T0 + 1))).toBe("EXPIRED_REQUEST");
  });

  it("refuses a request whose window closed before the latest time any gateway sent (clock skew)", () => {
    const used = new UsedSignatures();
    used.use(digest(1), T0 + 5_000, T0 + 3_000);
    // A gateway 2 s behind still thinks digest 9's window is open; the horizon says otherwise.
    expect(outcome(() => used.use(digest(9), T0 + 2_000, T0))).toBe("EXPIRED_REQUEST");
  });

  it("never takes the same signature twice, in any order of times (property)", () => {
    // A signature signs its timestamp and recvWindow: one validUntil per signature.
    const ends = fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 21, maxLength: 21 });
    const request = fc.record({
      id: fc.integer({ min: 0, max: 20 }),
      time: fc.integer({ min: 0, max: 300_000 }),
    });
    fc.assert(
      fc.property(ends, fc.array(request, { maxLength: 200 }), (end, requests) => {
        const used = new UsedSignatures();
        const taken = new Set<number>();
        let horizon = 0;
        for (const r of requests) {
          const validUntil = T0 + end[r.id]!;
          horizon = Math.max(horizon, T0 + r.time);
          const result = outcome(() => used.use(digest(r.id), validUntil, T0 + r.time));
          expect(result === "EXPIRED_REQUEST").toBe(validUntil < horizon);
          if (result === "taken") {
            expect(taken.has(r.id)).toBe(false);
            taken.add(r.id);
          } else if (result === "REPLAYED") expect(taken.has(r.id)).toBe(true);
        }
        // A snapshot's restore decides every later request the same way.
        const copy = UsedSignatures.restore(used.horizonTime, used.entries());
        for (let id = 0; id <= 20; id++) {
          const args = [digest(id), T0 + end[id]!, horizon] as const;
          expect(outcome(() => copy.use(...args))).toBe(outcome(() => used.use(...args)));
        }
      }),
    );
  });
});
