/**
 * Binance's live subscription requests on a market-stream connection: SUBSCRIBE, UNSUBSCRIBE,
 * LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY, as JSON text frames
 * `{"method": ..., "params": [...], "id": n}`. Parsed here with Binance's error codes (0 unknown
 * property, 1 invalid value type, 2 invalid request, 3 invalid JSON); run by the stream hub.
 */
export type StreamRequest =
  | { readonly method: "SUBSCRIBE" | "UNSUBSCRIBE"; readonly streams: string[]; readonly id: RequestId }
  | { readonly method: "LIST_SUBSCRIPTIONS"; readonly id: RequestId }
  | { readonly method: "SET_PROPERTY"; readonly combined: boolean; readonly id: RequestId }
  | { readonly method: "GET_PROPERTY"; readonly id: RequestId };

/** Binance takes an unsigned integer or a string (up to 36 characters), or null. */
export type RequestId = number | string | null;

export interface StreamRequestError {
  readonly code: 0 | 1 | 2 | 3;
  readonly msg: string;
  readonly id: RequestId;
}

const METHODS = ["SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY"];
/** A frame larger than this is no request of ours. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export function parseStreamRequest(text: string): StreamRequest | StreamRequestError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return { code: 3, msg: `Invalid JSON: ${(e as Error).message}`, id: null };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return invalid("expected an object", null);
  const { method, params, id: rawId, ...rest } = body as Record<string, unknown>;
  const id = rawId ?? null;
  if (!isRequestId(id))
    return invalid("request ID must be an unsigned integer or a string of at most 36 characters", null);
  if (Object.keys(rest).length > 0) return invalid(`unknown field ${Object.keys(rest)[0]}`, id);
  if (typeof method !== "string") return invalid("missing field method", id);
  if (!METHODS.includes(method))
    return invalid(`unknown variant ${method}, expected one of ${METHODS.join(", ")}`, id);
  const list = params ?? [];
  if (!Array.isArray(list)) return invalid("params must be an array", id);
  return requestOf(method, list, id);
}

/** A request id as Binance takes one: none, an unsigned integer, or a string of at most 36 characters. */
export function isRequestId(id: unknown): id is RequestId {
  return (
    id === null ||
    (Number.isSafeInteger(id) && (id as number) >= 0) ||
    (typeof id === "string" && id.length <= 36)
  );
}

/** A known method's request, from its parameters. */
function requestOf(
  method: string,
  list: unknown[],
  requestId: RequestId,
): StreamRequest | StreamRequestError {
  switch (method) {
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
      if (list.length === 0 || !list.every((s) => typeof s === "string"))
        return invalid("params must be a non-empty array of stream names", requestId);
      return { method, streams: list as string[], id: requestId };
    case "LIST_SUBSCRIPTIONS":
      return list.length > 0 ? invalid("too many parameters", requestId) : { method, id: requestId };
    case "SET_PROPERTY":
      return setProperty(list, requestId);
    default:
      if (list.length !== 1) return invalid("expected 1 parameter", requestId);
      return list[0] === "combined"
        ? { method: "GET_PROPERTY", id: requestId }
        : unknownProperty(list[0], requestId);
  }
}

/** SET_PROPERTY: the one property there is (`combined`), to a boolean. */
function setProperty(list: unknown[], requestId: RequestId): StreamRequest | StreamRequestError {
  if (list.length !== 2) return invalid("expected 2 parameters", requestId);
  if (list[0] !== "combined") return unknownProperty(list[0], requestId);
  if (typeof list[1] !== "boolean")
    return { code: 1, msg: "Invalid value type: expected Boolean", id: requestId };
  return { method: "SET_PROPERTY", combined: list[1], id: requestId };
}

export function isStreamRequestError(r: StreamRequest | StreamRequestError): r is StreamRequestError {
  return "code" in r;
}

function invalid(why: string, id: RequestId): StreamRequestError {
  return { code: 2, msg: `Invalid request: ${why}`, id };
}

function unknownProperty(name: unknown, id: RequestId): StreamRequestError {
  return typeof name === "string"
    ? { code: 0, msg: "Unknown property", id }
    : invalid("property name must be a string", id);
}
