import { describe, expect, it } from "vitest";
import { ListenKeys } from "../src/listen-keys.ts";

const key = (n: number) => n.toString(16).padStart(64, "0");
const terms = { ttlMs: 60_000, maxPerUser: 2 };

describe("listen keys (journaled state)", () => {
  it("grants keys up to the cap, then the newest again, kept alive", () => {
    const keys = new ListenKeys();
    expect(keys.create(1, key(1), 0, terms)).toBe(key(1));
    expect(keys.create(1, key(2), 10, terms)).toBe(key(2));
    expect(keys.create(1, key(3), 20, terms)).toBe(key(2));
    expect(keys.get(key(2))).toEqual({ userId: 1, expires: 60_020 });
    expect(keys.get(key(3))).toBeUndefined();
    expect(keys.keysOf(1)).toEqual([key(1), key(2)]);
  });

  it("keeps alive and closes only a live key of its owner; an expired one makes room", () => {
    const keys = new ListenKeys();
    keys.create(1, key(1), 0, terms);
    expect(() => keys.keepAlive(2, key(1), 10, terms.ttlMs)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_LISTEN_KEY" }),
    );
    keys.keepAlive(1, key(1), 30_000, terms.ttlMs);
    expect(keys.get(key(1))!.expires).toBe(90_000);
    expect(() => keys.close(1, key(1), 90_001)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_LISTEN_KEY" }),
    );
    keys.create(1, key(2), 90_001, { ...terms, maxPerUser: 1 });
    expect(keys.keysOf(1)).toEqual([key(2)]);
    keys.close(1, key(2), 90_002);
    expect(keys.get(key(2))).toBeUndefined();
  });

  it("refuses a malformed key or terms, and comes back from its snapshot the same", () => {
    const keys = new ListenKeys();
    expect(() => keys.create(1, "short", 0, terms)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => keys.create(1, key(1), 0, { ttlMs: 0, maxPerUser: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    keys.create(1, key(1), 0, terms);
    keys.create(2, key(2), 5, terms);
    keys.create(1, key(3), 7, terms);
    const restored = ListenKeys.restore(keys.entries());
    expect(restored.entries()).toEqual(keys.entries());
    expect(restored.keysOf(1)).toEqual([key(1), key(3)]);
  });
});
