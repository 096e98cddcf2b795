import { BourseError, type ErrorCode, isBourseError } from "../../domain/src/index.ts";

/**
 * Binance error bodies: every failure leaves the gateway as HTTP status + {code, msg}. Domain
 * errors carry Bourse codes; this one table turns them into Binance's numeric codes.
 */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    msg: string,
    readonly headers: Record<string, string> = {},
    /** Fields sent beside code and msg (cancel-replace's `data`). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(msg);
  }

  throwSelf(): never {
    throw this;
  }
}

const DOMAIN_TO_BINANCE: Record<ErrorCode, [status: number, code: number]> = {
  MALFORMED_DECIMAL: [400, -1100],
  EXCESS_PRECISION: [400, -1111],
  OUT_OF_RANGE: [400, -1013],
  BAD_TICK: [400, -1013],
  BAD_LOT: [400, -1013],
  BELOW_MIN_NOTIONAL: [400, -1013],
  UNKNOWN_ASSET: [400, -1130],
  UNKNOWN_MARKET: [400, -1121],
  UNKNOWN_USER: [404, -1000],
  UNKNOWN_ORDER: [400, -2013],
  DUPLICATE_ORDER: [400, -2010],
  AMEND_REJECTED: [400, -2038],
  INSUFFICIENT_BALANCE: [400, -2010],
  ORDER_REJECTED: [400, -2010],
  MARKET_HALTED: [400, -2010],
  REPLAYED: [400, -1021],
  UNKNOWN_LISTEN_KEY: [400, -1125],
  EXPIRED_REQUEST: [400, -1021],
  INVALID_CONFIG: [500, -1000],
  INVALID_ARGUMENT: [400, -1102],
  CONFLICT: [409, -1000],
  CORRUPT_JOURNAL: [500, -1000],
  DATA_DIR_IN_USE: [500, -1000],
  LEASE_LOST: [503, -1001],
  UNAVAILABLE: [503, -1001],
  OVERLOADED: [503, -1008],
  TOO_MANY_ORDERS: [429, -1015],
  // Only between processes: a client of the trading API never causes these.
  UNAUTHENTICATED: [500, -1000],
  FORBIDDEN: [500, -1000],
  INTERNAL: [500, -1000],
};

/** Messages Binance uses for filter failures, keyed by what failed. */
const FILTER_MESSAGES: Partial<Record<ErrorCode, string>> = {
  BAD_TICK: "Filter failure: PRICE_FILTER",
  BAD_LOT: "Filter failure: LOT_SIZE",
  BELOW_MIN_NOTIONAL: "Filter failure: NOTIONAL",
  EXCESS_PRECISION: "Precision is over the maximum defined for this asset.",
  UNKNOWN_MARKET: "Invalid symbol.",
  UNKNOWN_USER: "Unknown user.",
};

export function toApiError(e: unknown, field?: string): ApiError {
  if (e instanceof ApiError) return e;
  if (isBourseError(e)) {
    const [status, code] = DOMAIN_TO_BINANCE[e.code];
    return new ApiError(status, code, BACKEND_MESSAGES[code] ?? messageOf(e, field));
  }
  return new ApiError(500, -1000, "An unknown error occurred while processing the request.");
}

/** Binance's words for a domain error, naming the parameter it came from where Binance does. */
function messageOf(e: BourseError, field: string | undefined): string {
  if (e.code === "OUT_OF_RANGE" && field)
    return field === "price" ? "Filter failure: PRICE_FILTER" : "Filter failure: LOT_SIZE";
  if (e.code === "MALFORMED_DECIMAL" && field)
    return `Illegal characters found in parameter '${field}'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.`;
  return FILTER_MESSAGES[e.code] ?? e.message;
}

/** Binance's fixed messages of a backend away or overloaded. */
const BACKEND_MESSAGES: Partial<Record<number, string>> = {
  [-1001]: "Internal error; unable to process your request. Please try again.",
  [-1008]: "Server is currently overloaded with other requests. Please try again in a few minutes.",
};

export const errors = {
  /** Sent, but UBSCore did not answer in time: it may still happen (Binance's -1007). */
  backendTimeout: () =>
    new ApiError(
      503,
      -1007,
      "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    ),
  mandatory: (name: string) =>
    new ApiError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`),
  /** Neither of two parameters, one of which is needed, was sent. */
  eitherMandatory: (a: string, b: string) =>
    new ApiError(400, -1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`),
  notRequired: (name: string) => new ApiError(400, -1106, `Parameter '${name}' sent when not required.`),
  notAllRead: (read: number, sent: number) =>
    new ApiError(
      400,
      -1104,
      `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`,
    ),
  badCombination: () => new ApiError(400, -1128, "Combination of optional parameters invalid."),
  duplicateParam: (name: string) => new ApiError(400, -1101, `Duplicate values for parameter '${name}'.`),
  illegalChars: (name: string) =>
    new ApiError(400, -1100, `Illegal characters found in parameter '${name}'.`),
  invalidValue: (name: string) => new ApiError(400, -1130, `Data sent for parameter '${name}' is not valid.`),
  invalidSide: () => new ApiError(400, -1117, "Invalid side."),
  invalidOrderType: () => new ApiError(400, -1116, "Invalid orderType."),
  invalidTif: () => new ApiError(400, -1115, "Invalid timeInForce."),
  badApiKeyFormat: () => new ApiError(401, -2014, "API-key format invalid."),
  rejectedKey: () => new ApiError(401, -2015, "Invalid API-key, IP, or permissions for action."),
  badSignature: () => new ApiError(400, -1022, "Signature for this request is not valid."),
  timestamp: () => new ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow."),
  noSuchOrder: () => new ApiError(400, -2013, "Order does not exist."),
  cancelRejected: () => new ApiError(400, -2011, "Unknown order sent."),
  wouldTake: () => new ApiError(400, -2010, "Order would immediately match and take."),
  wouldTrigger: () => new ApiError(400, -2010, "Order would trigger immediately."),
  noTrailingStop: () => new ApiError(400, -2010, "Trailing stop orders are not supported for this symbol."),
  tooLarge: (limit: number) => new ApiError(413, -1000, `Request body larger than ${limit} bytes.`),
  notFound: () => new ApiError(404, -1000, "Not found."),
  unknownUser: () => new ApiError(404, -1000, "Unknown user."),
  unsupportedMedia: () =>
    new ApiError(415, -1000, "Unsupported content type: send application/x-www-form-urlencoded."),
};

export { BourseError };
