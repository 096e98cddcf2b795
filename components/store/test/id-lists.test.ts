import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { IdLists } from "../src/id-lists.ts";

const KEYS = ["1:1", "2:1", "1:2"];
// Values are ids times ten, so that `idOf` is not the identity.
const idOf = (v: number) => v / 10;

/** Adds a value to the lists and to the model (a sorted array), unless it is there already. */
function add(lists: IdLists, list: number[], key: string, value: number): void {
  if (list.includes(value)) return;
  lists.add(key, value, idOf);
  list.push(value);
  list.sort((a, b) => a - b);
}

/** The model's page: the newest `limit` without `fromId`, else `limit` from that id on. */
function modelPage(list: number[], fromId: number | null, limit: number): number[] {
  if (fromId === null) return list.slice(Math.max(0, list.length - limit));
  return list.filter((v) => idOf(v) >= fromId).slice(0, limit);
}

it.each([
  ["in memory", false],
  ["with full blocks spilled to a scratch file", true],
])("pages, appends and inserts out of order like a sorted array, %s", async (_, spill) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ key: fc.constantFrom(...KEYS), id: fc.nat(400) }), {
        maxLength: 300,
        size: "max",
      }),
      fc.array(
        fc.record({
          key: fc.constantFrom(...KEYS),
          fromId: fc.option(fc.nat(420)),
          limit: fc.integer({ min: 1, max: 80 }),
        }),
      ),
      fc.boolean(),
      async (adds, pages, ascending) => {
        const file = spill ? join(mkdtempSync(join(tmpdir(), "bourse-lists-")), "l.slots") : undefined;
        const lists = new IdLists({ file, chunkBits: 1, hotChunks: 1 });
        const model = new Map<string, number[]>(KEYS.map((k) => [k, []]));
        // Mostly ascending ids, as settlement writes them; otherwise any order.
        const ordered = ascending ? [...adds].sort((a, b) => a.id - b.id) : adds;
        for (const { key, id } of ordered) add(lists, model.get(key)!, key, id * 10);
        for (const key of KEYS) {
          const list = model.get(key)!;
          expect(lists.page(key, idOf)).toEqual(list);
          expect([...lists.newestFirst(key)]).toEqual([...list].reverse());
        }
        for (const { key, fromId, limit } of pages) {
          const want = modelPage(model.get(key)!, fromId, limit);
          expect(lists.page(key, idOf, { fromId: fromId ?? undefined, limit })).toEqual(want);
        }
        expect(lists.page("9:9", idOf)).toEqual([]);
        await lists.close();
      },
    ),
    { numRuns: 150 },
  );
});
