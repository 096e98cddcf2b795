import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OrderIndex } from "../src/order-index.ts";

describe("OrderIndex", () => {
  it("behaves like a Map under random set/delete/get (including collisions and growth)", () => {
    const key = fc.oneof(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key, value: fc.integer({ min: 0, max: 1 << 30 }) }),
      fc.record({ kind: fc.constant("delete" as const), key }),
      fc.record({ kind: fc.constant("get" as const), key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: "max" }), (ops) => {
        const index = new OrderIndex(2);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            index.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.kind === "delete") {
            expect(index.delete(o.key)).toBe(model.delete(o.key));
          } else {
            expect(index.get(o.key)).toBe(model.get(o.key) ?? -1);
          }
          expect(index.size).toBe(model.size);
        }
        expect(new Map(index.entries())).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});
