import { SlotArena, type SlotArenaOptions } from "../../journal/src/index.ts";
import { lowerBound } from "./page.ts";
import type { Page } from "./port.ts";

/** Values per block: a block is a slot of float64s in the arena. */
const BLOCK = 32;

interface List {
  /** The arena slots of the list's full blocks, in order. */
  readonly blocks: number[];
  /** The id of the first value of each full block. */
  readonly firsts: number[];
  /** The values after the full blocks (fewer than a block), in memory. */
  tail: number[];
  lastId: number;
}

/**
 * Lists of numbers by key (a user's orders or trades in a market), each kept in the order of an id
 * the caller derives from a value. Full blocks of 32 values go to a slot arena, and so to disk
 * with it; memory keeps a list's last partial block and the first id of each full one (half a
 * byte a value, where an array of numbers took eight). Values nearly always arrive in order and
 * are appended; one that does not is put in its place by rewriting the blocks after it.
 */
export class IdLists {
  private readonly arena: SlotArena;
  private readonly lists = new Map<string, List>();

  constructor(arena: SlotArenaOptions = {}) {
    this.arena = new SlotArena(BLOCK * 8, arena);
  }

  add(key: string, value: number, idOf: (value: number) => number = (v) => v): void {
    let list = this.lists.get(key);
    if (!list) {
      list = { blocks: [], firsts: [], tail: [], lastId: -Infinity };
      this.lists.set(key, list);
    }
    const id = idOf(value);
    if (id > list.lastId) {
      this.push(list, value, idOf);
      list.lastId = id;
      return;
    }
    // Out of order: everything from the block it falls in is laid out again.
    const at = this.lowerBound(list, id, idOf);
    const block = Math.floor(at / BLOCK);
    const after = this.values(list, block * BLOCK, this.length(list));
    after.splice(at - block * BLOCK, 0, value);
    const reused = list.blocks.splice(block);
    list.firsts.length = block;
    list.tail = [];
    for (const v of after) this.push(list, v, idOf, reused);
  }

  /** The list's values: from id `fromId` on, or the last `limit`; all without a page. */
  page(key: string, idOf: (value: number) => number, page?: Page): number[] {
    const list = this.lists.get(key);
    if (!list) return [];
    const length = this.length(list);
    if (!page) return this.values(list, 0, length);
    const from =
      page.fromId === undefined ? Math.max(0, length - page.limit) : this.lowerBound(list, page.fromId, idOf);
    return this.values(list, from, Math.min(length, from + page.limit));
  }

  /** The list's values from the last back, a block at a time. */
  *newestFirst(key: string): Generator<number> {
    const list = this.lists.get(key);
    if (!list) return;
    for (let end = this.length(list); end > 0; end = Math.ceil(end / BLOCK) * BLOCK - BLOCK) {
      const from = (Math.ceil(end / BLOCK) - 1) * BLOCK;
      yield* this.values(list, from, end).reverse();
    }
  }

  close(): Promise<void> {
    return this.arena.close();
  }

  private length(list: List): number {
    return list.blocks.length * BLOCK + list.tail.length;
  }

  /** Appends in order; a full tail becomes a block, in a reused slot if any is left. */
  private push(list: List, value: number, idOf: (value: number) => number, reused: number[] = []): void {
    list.tail.push(value);
    if (list.tail.length < BLOCK) return;
    const slot = reused.shift() ?? this.arena.count;
    const values = list.tail;
    this.arena.write(slot, ({ view, at }) => {
      for (let i = 0; i < BLOCK; i++) view.setFloat64(at + i * 8, values[i]!, true);
    });
    list.blocks.push(slot);
    list.firsts.push(idOf(values[0]!));
    list.tail = [];
  }

  /** The values at positions [from, to). */
  private values(list: List, from: number, to: number): number[] {
    const out: number[] = [];
    for (let p = from; p < to; ) {
      const b = Math.floor(p / BLOCK);
      if (b === list.blocks.length) {
        out.push(...list.tail.slice(p - b * BLOCK, to - b * BLOCK));
        break;
      }
      const { view, at } = this.arena.read(list.blocks[b]!);
      const end = Math.min(to, (b + 1) * BLOCK);
      for (; p < end; p++) out.push(view.getFloat64(at + (p - b * BLOCK) * 8, true));
    }
    return out;
  }

  /** The first position whose id is at least `id`. */
  private lowerBound(list: List, id: number, idOf: (value: number) => number): number {
    if (list.blocks.length === 0) return lowerBound(list.tail, idOf, id);
    // Blocks starting below the id: it can only be in the last of them or after it.
    const below = lowerBound(list.firsts, (first) => first, id);
    if (below === 0) return 0;
    const b = below - 1;
    const inBlock = lowerBound(this.values(list, b * BLOCK, (b + 1) * BLOCK), idOf, id);
    if (inBlock < BLOCK) return b * BLOCK + inBlock;
    return below * BLOCK + lowerBound(list.tail, idOf, id);
  }
}
