import { signing } from "./common-params.ts";
import { errors } from "./errors.ts";
import { type ApiKey, type ApiKeyLookup, verifiedSignature } from "./keys.ts";
import { Params } from "./params.ts";

/**
 * Binance SIGNED endpoint rules: X-MBX-APIKEY names the key; `signature` signs (HMAC-SHA256, or
 * Ed25519 for an Ed25519 key) totalParams = query string + request body (each without the
 * signature parameter itself; on the WebSocket API, every parameter but the signature, sorted);
 * `timestamp` must be within `recvWindow` (default 5000 ms, at most 60000) of the server clock and
 * not more than 1 s ahead of it. The verified HMAC and the end of the window go with a change to
 * UBSCore, which takes each signed request once (used-signatures.ts): every gateway submits there,
 * and it remembers across restarts.
 */
const SIGNATURE = /(^|&)signature=([^&]*)/;
const DEFAULT_RECV_WINDOW = 5000;

export interface SignedRequest {
  readonly key: ApiKey;
  readonly params: Params;
  /** What names the request once (keys.ts, verifiedSignature) and when the request expires. */
  readonly once: { readonly signature: Uint8Array; readonly validUntil: number };
}

export class RequestAuthenticator {
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

  /** Checks key, signature and timestamp. */
  verify(header: string | string[] | undefined, query: string, body: string): SignedRequest {
    const key = this.apiKey(header);
    const inQuery = SIGNATURE.exec(query);
    const inBody = SIGNATURE.exec(body);
    const found = inBody ?? inQuery;
    if (!found || (inQuery && inBody)) throw errors.mandatory("signature");
    const signature = decodeURIComponent(found[2]!);
    const unsignedQuery = withoutSignature(query, inQuery);
    const unsignedBody = withoutSignature(body, inBody);
    return this.check(key, unsignedQuery + unsignedBody, signature, new Params(unsignedQuery, unsignedBody));
  }

  /**
   * The rest of the rules, once the key, the signed payload and the parameters (without the
   * signature) are known: the signature, then the timestamp and recvWindow (read from `params`).
   */
  check(key: ApiKey, payload: string, signature: string, params: Params): SignedRequest {
    const verified = verifiedSignature(key, payload, signature) ?? errors.badSignature().throwSelf();
    return { key, params, once: { signature: verified, validUntil: this.timely(params) } };
  }

  /** Checks `timestamp` against the clock and `recvWindow`; the end of the request's window. */
  timely(params: Params): number {
    const timestamp = params.requiredInt("timestamp");
    const { min, max } = signing.recvWindow;
    const recvWindow = params.optionalInt("recvWindow", min, max) ?? DEFAULT_RECV_WINDOW;
    const now = this.clock();
    if (timestamp > now + 1000 || now - timestamp > recvWindow) throw errors.timestamp();
    return timestamp + recvWindow;
  }
}

/** `s` less the signature parameter `match` found in it (and the `&` that joined it). */
function withoutSignature(s: string, match: RegExpExecArray | null): string {
  if (!match) return s;
  const rest = s.slice(0, match.index) + s.slice(match.index + match[0].length);
  return rest.startsWith("&") ? rest.slice(1) : rest;
}
