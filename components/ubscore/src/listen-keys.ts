import { fail } from "../../domain/src/index.ts";

/**
 * Listen keys (the user data stream's names) as UBSCore's journaled state: every gateway replica
 * applies the same commands, so a key made on one gateway streams on any other, and a restart
 * keeps it. Times are the commands' own, so replay decides expiry exactly as it was decided.
 */
export interface ListenKeyEntry {
  readonly userId: number;
  expires: number;
}

export interface ListenKeyTerms {
  /** How long a key lives unless kept alive. */
  readonly ttlMs: number;
  /** A user at this many live keys gets their newest one back, kept alive (Binance's cap is one). */
  readonly maxPerUser: number;
}

export class ListenKeys {
  private readonly byKey = new Map<string, ListenKeyEntry>();
  /** Per user, their keys oldest first. */
  private readonly byUser = new Map<number, string[]>();

  /** The key `userId` may stream: `key` if there is room, else their newest, kept alive. */
  create(userId: number, key: string, time: number, terms: ListenKeyTerms): string {
    if (!/^[0-9a-f]{64}$/.test(key)) fail("INVALID_ARGUMENT", "a listen key is 64 hex digits");
    if (
      !Number.isSafeInteger(terms.ttlMs) ||
      terms.ttlMs <= 0 ||
      !Number.isSafeInteger(terms.maxPerUser) ||
      terms.maxPerUser < 1
    )
      fail("INVALID_ARGUMENT", "listen-key terms are positive integers");
    this.forgetExpired(time);
    const keys = this.byUser.get(userId) ?? [];
    if (keys.length >= terms.maxPerUser) {
      const newest = keys.at(-1)!;
      this.byKey.get(newest)!.expires = time + terms.ttlMs;
      return newest;
    }
    if (this.byKey.has(key)) fail("CONFLICT", "listen key exists");
    this.byKey.set(key, { userId, expires: time + terms.ttlMs });
    this.byUser.set(userId, [...keys, key]);
    return key;
  }

  keepAlive(userId: number, key: string, time: number, ttlMs: number): void {
    this.owned(userId, key, time).expires = time + ttlMs;
  }

  close(userId: number, key: string, time: number): void {
    this.owned(userId, key, time);
    this.remove(key);
  }

  /** The key's owner and expiry, if it was made and not closed (it may have expired since). */
  get(key: string): ListenKeyEntry | undefined {
    return this.byKey.get(key);
  }

  keysOf(userId: number): readonly string[] {
    return this.byUser.get(userId) ?? [];
  }

  /** For the snapshot: [key, userId, expires], each user's oldest first. */
  entries(): [string, number, number][] {
    return [...this.byKey].map(([key, e]) => [key, e.userId, e.expires]);
  }

  static restore(entries: readonly [string, number, number][]): ListenKeys {
    const keys = new ListenKeys();
    for (const [key, userId, expires] of entries) {
      keys.byKey.set(key, { userId, expires });
      keys.byUser.set(userId, [...keys.keysOf(userId), key]);
    }
    return keys;
  }

  private owned(userId: number, key: string, time: number): ListenKeyEntry {
    const entry = this.byKey.get(key);
    if (!entry || entry.userId !== userId || entry.expires < time)
      fail("UNKNOWN_LISTEN_KEY", "This listenKey does not exist.");
    return entry;
  }

  /** Keys past their expiry at `time` go: creation is rare, so a full pass costs little. */
  private forgetExpired(time: number): void {
    for (const [key, entry] of this.byKey) if (entry.expires < time) this.remove(key);
  }

  private remove(key: string): void {
    const entry = this.byKey.get(key);
    if (!entry) return;
    this.byKey.delete(key);
    const left = this.keysOf(entry.userId).filter((k) => k !== key);
    if (left.length === 0) this.byUser.delete(entry.userId);
    else this.byUser.set(entry.userId, left);
  }
}
