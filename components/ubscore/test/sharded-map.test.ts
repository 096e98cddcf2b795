import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShardedMap } from "../src/sharded-map.ts";

type Op<K> = { kind: "set"; key: K; value: number } | { kind: "delete"; key: K } | { kind: "get"; key: K };

function opsOf<K>(key: fc.Arbitrary<K>): fc.Arbitrary<Op<K>[]> {
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key, value: fc.integer() }),
      fc.record({ kind: fc.constant("delete" as const), key }),
      fc.record({ kind: fc.constant("get" as const), key }),
    ),
    { maxLength: 400, size: "max" },
  );
}

/** Runs ops against a ShardedMap and a Map side by side; every answer and the final contents agree. */
function agreesWithMap<K extends number | string>(ops: Op<K>[]): void {
  const sharded = new ShardedMap<K, number>();
  const plain = new Map<K, number>();
  for (const op of ops) {
    if (op.kind === "set") {
      sharded.set(op.key, op.value);
      plain.set(op.key, op.value);
    } else if (op.kind === "delete") {
      expect(sharded.delete(op.key)).toBe(plain.delete(op.key));
    } else {
      expect(sharded.get(op.key)).toBe(plain.get(op.key));
      expect(sharded.has(op.key)).toBe(plain.has(op.key));
    }
  }
  const sort = (xs: number[]) => xs.sort((a, b) => a - b);
  expect(sort([...sharded.values()])).toEqual(sort([...plain.values()]));
}

describe("ShardedMap", () => {
  it("answers as a Map does for numeric keys (property)", () => {
    fc.assert(
      fc.property(opsOf(fc.nat(2_000)), (ops) => agreesWithMap(ops)),
      { numRuns: 200 },
    );
  });

  it("answers as a Map does for string keys, prefixes shared (property)", () => {
    const key = fc.tuple(fc.nat(5), fc.string({ maxLength: 6 })).map(([u, c]) => `${u}:${c}`);
    fc.assert(
      fc.property(opsOf(key), (ops) => agreesWithMap(ops)),
      { numRuns: 200 },
    );
  });
});
