import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { U128Index } from "../src/u128-index.ts";

const id = fc.oneof(
  fc.bigInt({ min: 1n, max: 64n }), // few distinct ids: many collisions and re-inserts
  fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 1n << 64n, max: (1n << 128n) - 1n }),
);
const op = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), id }),
  fc.record({ kind: fc.constant("delete" as const), id }),
);

describe("U128Index", () => {
  it("agrees with a Map through random inserts and deletes (growth and backward-shift deletion)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: "max" }), (ops) => {
        const index = new U128Index(4);
        const model = new Map<bigint, number>();
        ops.forEach((o, slot) => {
          if (o.kind === "insert" && !model.has(o.id)) {
            index.insert(o.id, slot);
            model.set(o.id, slot);
          } else if (o.kind === "delete") {
            index.delete(o.id);
            model.delete(o.id);
          }
          expect(index.size).toBe(model.size);
        });
        for (const o of ops) expect(index.get(o.id)).toBe(model.get(o.id) ?? -1);
      }),
      { numRuns: 300 },
    );
  });

  it("grows each of its tables through 100,000 ids and deletes half of them", () => {
    const index = new U128Index(16);
    const ids = Array.from({ length: 100_000 }, (_, i) => (BigInt(i) << 70n) + BigInt(i * 7 + 1));
    for (const [slot, id] of ids.entries()) index.insert(id, slot);
    expect(index.size).toBe(ids.length);
    for (const [slot, id] of ids.entries()) expect(index.get(id)).toBe(slot);
    for (const [slot, id] of ids.entries()) if (slot % 2 === 0) index.delete(id);
    expect(index.size).toBe(ids.length / 2);
    for (const [slot, id] of ids.entries()) expect(index.get(id)).toBe(slot % 2 === 0 ? -1 : slot);
  });
});
