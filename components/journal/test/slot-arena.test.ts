import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { SlotArena } from "../src/slot-arena.ts";

const SLOT = 16;
const SLOTS = 64;

type Op =
  | { kind: "write"; slot: number; value: number }
  | { kind: "append"; value: number }
  | { kind: "truncate"; count: number }
  | { kind: "settle" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      slot: fc.nat(SLOTS - 1),
      value: fc.nat(255),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("append" as const), value: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), count: fc.nat(SLOTS) }) },
  // Lets the chunks being written to the scratch file land (and drop) between operations.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("settle" as const) }) },
);

/** What every slot must read as: its last value written, or zeros. */
function expectSlots(arena: SlotArena, model: Map<number, number>): void {
  for (let slot = 0; slot < SLOTS; slot++) {
    const { bytes, at } = arena.read(slot);
    const want = model.get(slot) ?? 0;
    expect([...bytes.subarray(at, at + SLOT)]).toEqual(Array(SLOT).fill(want));
  }
}

/** The same operation on the arena and on the model: slot values, and how many slots there are. */
async function apply(arena: SlotArena, model: { values: Map<number, number>; count: number }, o: Op) {
  switch (o.kind) {
    case "write":
      arena.write(o.slot, ({ bytes, at }) => bytes.fill(o.value, at, at + SLOT));
      model.values.set(o.slot, o.value);
      model.count = Math.max(model.count, o.slot + 1);
      return;
    case "settle":
      await arena.settled();
      return;
    case "append": {
      if (model.count === SLOTS) return;
      const { bytes, at } = arena.append();
      bytes.fill(o.value, at, at + SLOT);
      model.values.set(model.count++, o.value);
      return;
    }
    case "truncate":
      if (o.count > model.count) return;
      arena.truncate(o.count);
      for (let slot = o.count; slot < model.count; slot++) model.values.delete(slot);
      model.count = o.count;
  }
}

it.each([
  ["in memory", false],
  ["spilling to a scratch file", true],
])("reads back what was written, %s (tiny chunks, random writes and truncations)", async (_, spill) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { maxLength: 120, size: "max" }),
      fc.integer({ min: 1, max: 3 }),
      async (ops, hotChunks) => {
        const file = spill ? join(mkdtempSync(join(tmpdir(), "bourse-slots-")), "x.slots") : undefined;
        const arena = new SlotArena(SLOT, { file, chunkBits: 2, hotChunks });
        const model = { values: new Map<number, number>(), count: 0 };
        for (const o of ops) {
          await apply(arena, model, o);
          expect(arena.count).toBe(model.count);
        }
        expectSlots(arena, model.values);
        await arena.close();
      },
    ),
  );
});

it("keeps only the newest chunks in memory and leaves no file behind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-slots-"));
  const arena = new SlotArena(SLOT, { file: join(dir, "x.slots"), chunkBits: 2, hotChunks: 2 });
  for (let slot = 0; slot < 40; slot++) arena.write(slot, ({ bytes, at }) => bytes.fill(slot, at, at + SLOT));
  await arena.settled();
  expect(arena.residentChunks).toBe(2);
  expect(readdirSync(dir)).toEqual([]);
  for (let slot = 0; slot < 40; slot++) expect(arena.read(slot).bytes[arena.read(slot).at]).toBe(slot);
  await arena.close();
});

it("tells slots apart past 2^32 (order ids are not bounded by 32 bits)", async () => {
  const arena = new SlotArena(SLOT, { file: join(mkdtempSync(join(tmpdir(), "bourse-slots-")), "x.slots") });
  const high = 2 ** 32 + 5;
  arena.write(high, ({ bytes, at }) => bytes.fill(7, at, at + SLOT));
  arena.write(5, ({ bytes, at }) => bytes.fill(9, at, at + SLOT));
  expect(arena.read(high).bytes[arena.read(high).at]).toBe(7);
  expect(arena.read(5).bytes[arena.read(5).at]).toBe(9);
  expect(arena.count).toBe(high + 1);
  await arena.close();
});
