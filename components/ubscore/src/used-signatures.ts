import { fail } from "../../domain/src/index.ts";
import { ShardedMap } from "./sharded-map.ts";

/**
 * The signed requests UBSCore has taken, so each is taken once: by every gateway (they all submit
 * here) and across restarts (this is journaled state, in snapshots). A request is named by its
 * HMAC's bytes, as verified, and is remembered until its recvWindow has closed.
 *
 * Time is the commands' own (the submitting gateway's clock), so replay decides the same. The
 * horizon is the latest time seen; a request whose window closed before it is refused, so a
 * signature forgotten at the horizon can never be taken again, whatever the gateways' clock skew.
 */
export class UsedSignatures {
  /** Base64 digest -> the time (ms) its request's window closes (sharded: it holds a minute of orders). */
  private readonly until = new ShardedMap<string, number>();
  /** The same digests by the second their window closes: pruning costs what expires. */
  private readonly bySecond = new Map<number, string[]>();
  private horizon = 0;
  private prunedBefore = 0;

  /** Takes the request signed with `digest`, valid until `validUntil`, submitted at `time`. */
  use(digest: Uint8Array, validUntil: number, time: number): void {
    if (digest.length !== 32) fail("INVALID_ARGUMENT", "a request signature is 32 bytes");
    if (!Number.isSafeInteger(validUntil) || !Number.isSafeInteger(time))
      fail("INVALID_ARGUMENT", "request times are integers");
    if (time > this.horizon) this.advance(time);
    if (validUntil < this.horizon)
      fail("EXPIRED_REQUEST", "Timestamp for this request is outside of the recvWindow.");
    const key = Buffer.from(digest.buffer, digest.byteOffset, digest.length).toString("base64");
    if (this.until.has(key)) fail("REPLAYED", "Duplicate request: this signed request was already received.");
    this.remember(key, validUntil);
  }

  get size(): number {
    return this.until.size;
  }

  /** The latest time seen (kept in snapshots with the entries). */
  get horizonTime(): number {
    return this.horizon;
  }

  /** For snapshots: every digest still remembered (base64), with the end of its window. */
  entries(): [string, number][] {
    return [...this.until.entries()];
  }

  static restore(horizon: number, entries: Iterable<[string, number]>): UsedSignatures {
    const signatures = new UsedSignatures();
    signatures.horizon = horizon;
    signatures.prunedBefore = Math.floor(horizon / 1000);
    for (const [key, validUntil] of entries) signatures.remember(key, validUntil);
    return signatures;
  }

  private remember(key: string, validUntil: number): void {
    this.until.set(key, validUntil);
    const second = Math.ceil(validUntil / 1000);
    const bucket = this.bySecond.get(second);
    if (bucket) bucket.push(key);
    else this.bySecond.set(second, [key]);
  }

  /** Moves the horizon to `time`, forgetting every digest whose window closed a second before it. */
  private advance(time: number): void {
    this.horizon = time;
    const current = Math.floor(time / 1000);
    // The first signed request: nothing older to forget.
    if (this.prunedBefore === 0 || current - this.prunedBefore > this.bySecond.size + 1) {
      for (const second of [...this.bySecond.keys()]) if (second < current) this.forget(second);
    } else {
      for (; this.prunedBefore < current; this.prunedBefore++) this.forget(this.prunedBefore);
    }
    this.prunedBefore = current;
  }

  private forget(second: number): void {
    for (const key of this.bySecond.get(second) ?? []) this.until.delete(key);
    this.bySecond.delete(second);
  }
}
