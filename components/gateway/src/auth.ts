import { errors } from "./errors.ts";
import { type ApiKey, type ApiKeyLookup, signatureMatches } from "./keys.ts";
import { Params } from "./params.ts";

/**
 * Binance SIGNED endpoint rules: X-MBX-APIKEY names the key; `signature` is the HMAC-SHA256 of
 * totalParams = query string + request body (each without the signature parameter itself);
 * `timestamp` must be within `recvWindow` (default 5000 ms, at most 60000) of the server clock and
 * not more than 1 s ahead of it. A state-changing request whose signature was already accepted is
 * refused while it could still be inside its window, so a captured order cannot be replayed.
 */
const SIGNATURE = /(^|&)signature=([^&]*)/;
const DEFAULT_RECV_WINDOW = 5000;
const MAX_RECV_WINDOW = 60_000;

export interface SignedRequest {
  readonly key: ApiKey;
  readonly params: Params;
}

export class RequestAuthenticator {
  /** Digests of accepted state-changing requests, and the same grouped by the second they expire. */
  private readonly seen = new Set<string>();
  private readonly expiring = new Map<number, string[]>();
  private prunedUpTo = 0;

  constructor(
    private readonly keys: ApiKeyLookup,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Resolves the API key alone (for USER_STREAM endpoints, which Binance does not sign). */
  apiKey(header: string | string[] | undefined): ApiKey {
    if (typeof header !== "string" || header.length === 0) throw errors.rejectedKey();
    if (!/^[A-Za-z0-9]{1,128}$/.test(header)) throw errors.badApiKeyFormat();
    return this.keys.get(header) ?? errors.rejectedKey().throwSelf();
  }

  /**
   * Checks key, signature and timestamp. `changesState` requests (orders, cancels) are also held
   * to be used once: replaying a captured read is harmless, replaying an order is not.
   */
  verify(
    header: string | string[] | undefined,
    query: string,
    body: string,
    changesState: boolean,
  ): SignedRequest {
    const key = this.apiKey(header);
    const inQuery = SIGNATURE.exec(query);
    const inBody = SIGNATURE.exec(body);
    const found = inBody ?? inQuery;
    if (!found || (inQuery && inBody)) throw errors.mandatory("signature");
    const signature = decodeURIComponent(found[2]!);
    const strip = (s: string, match: RegExpExecArray | null) => {
      if (!match) return s;
      const rest = s.slice(0, match.index) + s.slice(match.index + match[0].length);
      return rest.startsWith("&") ? rest.slice(1) : rest;
    };
    const unsignedQuery = strip(query, inQuery);
    const unsignedBody = strip(body, inBody);
    const payload = unsignedQuery + unsignedBody;
    if (!/^[0-9a-fA-F]{64}$/.test(signature) || !signatureMatches(key.secretKey, payload, signature)) {
      throw errors.badSignature();
    }
    const params = new Params(unsignedQuery, unsignedBody);
    const timestamp = params.requiredInt("timestamp");
    const recvWindow = params.optionalInt("recvWindow", 1, MAX_RECV_WINDOW) ?? DEFAULT_RECV_WINDOW;
    const now = this.clock();
    if (timestamp > now + 1000 || now - timestamp > recvWindow) throw errors.timestamp();
    // Remembered by the HMAC's bytes, not its text: hex in any letter case is the same signature.
    if (changesState)
      this.rememberOnce(Buffer.from(signature, "hex").toString("base64"), timestamp + recvWindow, now);
    return { key, params };
  }

  private rememberOnce(digest: string, validUntil: number, now: number): void {
    if (this.seen.has(digest)) throw errors.replayed();
    this.seen.add(digest);
    const second = Math.ceil(validUntil / 1000);
    const bucket = this.expiring.get(second);
    if (bucket) bucket.push(digest);
    else this.expiring.set(second, [digest]);
    // Forget signatures whose window has closed (they would fail the timestamp check anyway), a
    // whole second at a time: the cost is proportional to what expires, never to what is kept.
    const current = Math.floor(now / 1000);
    if (this.prunedUpTo === 0) this.prunedUpTo = current;
    for (; this.prunedUpTo < current; this.prunedUpTo++) {
      for (const sig of this.expiring.get(this.prunedUpTo) ?? []) this.seen.delete(sig);
      this.expiring.delete(this.prunedUpTo);
    }
  }
}
