import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CapCounter,
  clearCapCounts,
  LocalCapCounter,
  SharedCapCounter,
  sharedCapMemory,
} from "../src/cap-counter.ts";

/**
 * One random add or remove against `caps`, checked against `held` (what each key holds, as
 * admitted): an add is admitted exactly when it stays within the cap of 6.
 */
function checkStep(
  caps: CapCounter,
  held: Map<number, number[]>,
  { key, n, add }: { key: number; n: number; add: boolean },
): void {
  const mine = held.get(key) ?? [];
  held.set(key, mine);
  if (!add) {
    if (mine.length > 0) caps.remove(`user ${key}`, mine.pop()!);
    return;
  }
  const count = mine.reduce((a, b) => a + b, 0);
  const admitted = caps.tryAdd(`user ${key}`, n, 6);
  // Exact here: 31 keys in 2^17 slots per row rarely share one, never both (checked).
  expect(admitted).toBe(count + n <= 6);
  if (admitted) mine.push(n);
}

/** What both counters must do, checked against a plain count per key. */
function conformance(name: string, counter: () => CapCounter) {
  describe(name, () => {
    it("admits up to the cap, refuses past it counting nothing, and admits again after a removal", () => {
      const caps = counter();
      expect([1, 2, 3].map(() => caps.tryAdd("connections 10.0.0.1", 1, 3))).toEqual([true, true, true]);
      expect(caps.tryAdd("connections 10.0.0.1", 1, 3)).toBe(false);
      expect(caps.tryAdd("connections 10.0.0.2", 1, 3)).toBe(true);
      caps.remove("connections 10.0.0.1", 1);
      expect(caps.tryAdd("connections 10.0.0.1", 1, 3)).toBe(true);
      expect(caps.tryAdd("connections 10.0.0.1", 1, 3)).toBe(false);
      expect(caps.tryAdd("streams 10.0.0.1", 5, 4)).toBe(false);
      expect(caps.tryAdd("streams 10.0.0.1", 4, 4)).toBe(true);
    });

    it("never admits past a cap, and refuses only at it, over random adds and removes", () => {
      const op = fc.record({
        key: fc.integer({ min: 0, max: 30 }),
        n: fc.integer({ min: 0, max: 4 }),
        add: fc.boolean(),
      });
      fc.assert(
        fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
          const caps = counter();
          const held = new Map<number, number[]>();
          for (const step of ops) checkStep(caps, held, step);
        }),
      );
    });
  });
}

conformance("a thread's own counts", () => new LocalCapCounter());
conformance("counts shared by threads (one of four)", () => new SharedCapCounter(sharedCapMemory(4), 2));

describe("counts shared by threads", () => {
  it("sums what every thread counts, and forgets a dead thread's counts", () => {
    const memory = sharedCapMemory(3);
    const [a, b, c] = [0, 1, 2].map((t) => new SharedCapCounter(memory, t));
    expect(a!.tryAdd("connections 10.0.0.1", 2, 4)).toBe(true);
    expect(b!.tryAdd("connections 10.0.0.1", 2, 4)).toBe(true);
    expect(c!.tryAdd("connections 10.0.0.1", 1, 4)).toBe(false);
    clearCapCounts(memory, 1);
    expect(c!.tryAdd("connections 10.0.0.1", 2, 4)).toBe(true);
    expect(a!.tryAdd("connections 10.0.0.1", 1, 4)).toBe(false);
  });

  it("refuses a thread a part it does not have", () => {
    expect(() => new SharedCapCounter(sharedCapMemory(2), 2)).toThrow(/no part/);
  });

  it("lets four threads racing for one key's places take exactly the cap", async () => {
    const memory = sharedCapMemory(4);
    const cap = 1_000;
    // Each thread tries 600 times as fast as it can: 2,400 tries for 1,000 places.
    const script = `
      const { workerData, parentPort } = require("node:worker_threads");
      const slots = new Int32Array(workerData.memory);
      parentPort.postMessage("ready");
      parentPort.once("message", async () => {
        (await import("tsx/esm/api")).register();
        const { SharedCapCounter } = await import(workerData.module);
        const caps = new SharedCapCounter(workerData.memory, workerData.thread);
        let admitted = 0;
        for (let i = 0; i < 600; i++) if (caps.tryAdd("connections 10.9.9.9", 1, workerData.cap)) admitted++;
        parentPort.postMessage(admitted);
      });`;
    const module = new URL("../src/cap-counter.ts", import.meta.url).href;
    const workers = [0, 1, 2, 3].map(
      (thread) =>
        new Worker(script, {
          eval: true,
          workerData: { memory, thread, cap, module },
          execArgv: ["--import", "tsx"],
        }),
    );
    await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
    const counts = workers.map(
      (w) => new Promise<number>((resolve, reject) => w.once("message", resolve).once("error", reject)),
    );
    for (const w of workers) w.postMessage("go");
    const admitted = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(admitted).toBe(cap);
  });
});
