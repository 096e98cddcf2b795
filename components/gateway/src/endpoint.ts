import type { SignedRequest } from "./auth.ts";
import { type ApiError, errors } from "./errors.ts";
import type { ApiKey } from "./keys.ts";
import type { ApiCall, HttpMethod } from "./operations.ts";
import type { Params } from "./params.ts";
import { parseSymbols } from "./params.ts";
import type { JsonSchema } from "./schemas.ts";

/**
 * One Binance endpoint, declared once: its method and path, its parameters with their types and
 * bounds, its weight, who may call it, what it answers and which error codes it can give. The
 * parameter parser, the OpenAPI document, the rate-limit weight and the WebSocket API method all
 * come from this declaration (routes.ts, openapi.ts, endpoints.ts); the handler gets the
 * parameters already read and checked.
 */
export interface Endpoint<P extends ParamSpecs = ParamSpecs, S extends Security = Security, C = unknown> {
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  /**
   * Binance's security type: NONE (public), USER_STREAM (API key named, not signed), USER_DATA
   * and TRADE (signed; TRADE changes something).
   */
  readonly security: S;
  /** In the order they are read: a request's first bad parameter is the one reported. */
  readonly params: P;
  /** Two parameters of which at least one must be sent (e.g. orderId or origClientOrderId). */
  readonly oneOf?: readonly [string, string];
  /** Request weight: a number, or one that depends on the request's parameters. */
  readonly weight: number | ((query: URLSearchParams) => number);
  /** The new orders it places (an OCO's 2, an OTOCO's 3): UBSCore counts and limits them; the answer tells the counts. */
  readonly orderCount?: 1 | 2 | 3;
  /** The WebSocket API method that runs this endpoint (`/ws-api/v3`). */
  readonly ws?: string;
  /** The answer's JSON schema (for the OpenAPI document; responses are not reshaped by it). */
  readonly response: JsonSchema;
  /** Error codes of its own, beyond those every endpoint of its security type can give. */
  readonly errors?: readonly number[];
  readonly handler: (input: Input<P, S>, ctx: C) => Promise<unknown>;
}

/** What is declared of an endpoint besides its handler. */
export type EndpointSpec = Omit<Endpoint, "handler">;

/** Any declared endpoint, its parameters' types forgotten: what lists of endpoints hold. */
export type DeclaredEndpoint<C = unknown> = EndpointSpec & {
  readonly handler: (input: never, ctx: C) => Promise<unknown>;
};

export type Security = "NONE" | "USER_STREAM" | "USER_DATA" | "TRADE";

interface ParamBase {
  readonly description: string;
  readonly required?: boolean;
  /** Shown in the docs, and sent by API fuzzers as their first, valid case. */
  readonly example?: string | number;
}

/** A parameter's type: what the parser checks and what the handler gets. */
export type ParamSpec =
  /** Text the handler interprets (a symbol, a decimal, an id). */
  | (ParamBase & { readonly type: "string"; readonly pattern?: string })
  /** A non-negative integer: -1100 if not digits, -1130 out of [min, max]. */
  | (ParamBase & {
      readonly type: "integer";
      readonly min?: number;
      readonly max?: number;
      readonly default?: number;
    })
  /** One of `values`: else `error` (by default -1130). */
  | (ParamBase & {
      readonly type: "enum";
      readonly values: readonly string[];
      readonly default?: string;
      readonly error?: () => ApiError;
    })
  /** A JSON array of symbols, as Binance takes `symbols`. */
  | (ParamBase & { readonly type: "symbols" });

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

type ValueOf<P extends ParamSpec> = P extends { type: "integer" }
  ? number
  : P extends { type: "enum"; values: readonly (infer V)[] }
    ? V
    : P extends { type: "symbols" }
      ? string[]
      : string;

/** What the parser makes of the parameters: required or defaulted ones are always there. */
export type Args<P extends ParamSpecs> = {
  -readonly [K in keyof P]: P[K] extends { required: true } | { default: unknown }
    ? ValueOf<P[K]>
    : ValueOf<P[K]> | undefined;
};

/** A handler's input: the parameters, and the key (and what names a signed request) if any. */
export type Input<P extends ParamSpecs, S extends Security> = {
  args: Args<P>;
  call: ApiCall;
} & (S extends "NONE"
  ? unknown
  : S extends "USER_STREAM"
    ? { key: ApiKey }
    : { key: ApiKey; once: SignedRequest["once"] });

/** Declares an endpoint, with its handler's input typed by its parameters. */
export function endpoint<const P extends ParamSpecs, const S extends Security, C>(
  spec: Endpoint<P, S, C>,
): Endpoint<P, S, C> {
  return spec;
}

/** Reads and checks the declared parameters, in order; then rejects any that were not declared. */
export function readArgs<P extends ParamSpecs>(
  spec: Pick<Endpoint<P>, "params" | "oneOf">,
  params: Params,
): Args<P> {
  const args: Record<string, unknown> = {};
  for (const [name, param] of declaredParams(spec.params)) args[name] = readParam(name, param, params);
  if (spec.oneOf) {
    const [a, b] = spec.oneOf;
    if (args[a] === undefined && args[b] === undefined) throw errors.eitherMandatory(a, b);
  }
  params.done();
  return args as Args<P>;
}

/** Each endpoint's declared parameters as entries, listed once rather than for every request. */
const paramEntries = new WeakMap<ParamSpecs, readonly [string, ParamSpec][]>();

function declaredParams(specs: ParamSpecs): readonly [string, ParamSpec][] {
  let entries = paramEntries.get(specs);
  if (!entries) {
    entries = Object.entries(specs);
    paramEntries.set(specs, entries);
  }
  return entries;
}

function readParam(name: string, param: ParamSpec, params: Params): unknown {
  const value = readValue(name, param, params);
  if (value !== undefined) return value;
  if ("default" in param && param.default !== undefined) return param.default;
  if (param.required) throw errors.mandatory(name);
  return undefined;
}

function readValue(name: string, param: ParamSpec, params: Params): unknown {
  switch (param.type) {
    case "integer":
      return params.optionalInt(name, param.min, param.max);
    case "enum": {
      const v = params.optional(name);
      if (v !== undefined && !param.values.includes(v))
        throw (param.error ?? (() => errors.invalidValue(name)))();
      return v;
    }
    case "symbols": {
      const v = params.optional(name);
      return v === undefined ? undefined : parseSymbols(name, v);
    }
    case "string":
      return params.optional(name);
  }
}

/** The weight of one request to `spec`, from its query string (read only when the weight needs it). */
export function weightOf(spec: Pick<Endpoint, "weight">, rawQuery: string): number {
  return typeof spec.weight === "number" ? spec.weight : spec.weight(new URLSearchParams(rawQuery));
}

/** The error codes a request to `spec` can be answered with: its own and those of its kind. */
export function errorCodesOf(
  spec: Pick<Endpoint, "security" | "params" | "errors" | "orderCount">,
): number[] {
  const codes = new Set([
    ...COMMON_ERRORS,
    ...SECURITY_ERRORS[spec.security],
    ...(spec.orderCount ? [-1015] : []),
    ...Object.entries(spec.params).flatMap(([name, param]) => paramErrors(name, param)),
    ...(spec.errors ?? []),
  ]);
  return [...codes].sort((a, b) => b - a);
}

/** What a parameter adds: its enum's own code, or those of naming markets. */
function paramErrors(name: string, param: ParamSpec): number[] {
  if (param.type === "enum" && param.error) return [param.error().code];
  if (param.type === "symbols") return [-1128, -1121];
  return name === "symbol" ? [-1121] : [];
}

/**
 * Every endpoint: -1000 (a body too large or of another type), -1003 (over the weight limit),
 * and the parameter errors: -1100 illegal characters, -1101 duplicated, -1102 missing, -1104 not
 * read (not declared), -1130 invalid value.
 */
const COMMON_ERRORS = [-1000, -1003, -1100, -1101, -1102, -1104, -1130];
/** An API key is named: -2014 malformed, -2015 unknown. */
const KEY_ERRORS = [-2014, -2015];
/**
 * Signed: -1021 outside the recvWindow (or replayed), -1022 a bad signature; and what a call to
 * UBSCore or the history store can meet: -1001 unavailable, -1007 timed out, -1008 overloaded.
 */
const SIGNED_ERRORS = [...KEY_ERRORS, -1021, -1022, -1001, -1007, -1008];
const SECURITY_ERRORS: Record<Security, readonly number[]> = {
  NONE: [],
  USER_STREAM: KEY_ERRORS,
  USER_DATA: SIGNED_ERRORS,
  TRADE: SIGNED_ERRORS,
};
