import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  endpoint,
  errorCodesOf,
  type ParamSpec,
  type ParamSpecs,
  readArgs,
  weightOf,
} from "../src/endpoint.ts";
import { ENDPOINTS, requestWeight } from "../src/endpoints.ts";
import { ApiError } from "../src/errors.ts";
import { routeSchema } from "../src/openapi.ts";
import { Params } from "../src/params.ts";

/**
 * The declaration of an endpoint is the one source of its parser, its OpenAPI operation, its
 * weight and its WebSocket API method: each derivation checked against the declarations.
 */
const code = (run: () => unknown): number | undefined => {
  try {
    run();
    return undefined;
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
};

const toy = {
  n: { type: "integer", min: 1, max: 50, description: "bounded" },
  side: { type: "enum", values: ["BUY", "SELL"], required: true, description: "an enum" },
  size: { type: "integer", default: 10, description: "defaulted" },
  name: { type: "string", description: "text" },
} as const satisfies ParamSpecs;

const read = (query: string) => readArgs({ params: toy }, new Params(query));

describe("the parser a declaration makes", () => {
  it("gives each parameter its type, with defaults, and Binance's codes for what is wrong", () => {
    expect(read("side=BUY&n=7")).toEqual({ n: 7, side: "BUY", size: 10, name: undefined });
    expect(code(() => read("n=7"))).toBe(-1102);
    expect(code(() => read("side=HOLD"))).toBe(-1130);
    expect(code(() => read("side=BUY&n=x1"))).toBe(-1100);
    expect(code(() => read("side=BUY&n=51"))).toBe(-1130);
    expect(code(() => read("side=BUY&n=0"))).toBe(-1130);
    expect(code(() => read("side=BUY&side=SELL"))).toBe(-1101);
    expect(code(() => read("side=BUY&other=1"))).toBe(-1104);
  });

  it("checks that one of two parameters is sent", () => {
    const spec = { params: { a: toy.name, b: toy.n }, oneOf: ["a", "b"] as const };
    expect(readArgs(spec, new Params("b=3"))).toEqual({ a: undefined, b: 3 });
    expect(code(() => readArgs(spec, new Params("")))).toBe(-1102);
  });

  it("types a handler's arguments from the declaration", async () => {
    const e = endpoint({
      method: "GET",
      path: "/toy",
      summary: "toy",
      security: "NONE",
      params: toy,
      weight: 1,
      response: {},
      // Compiles only if the declared types reach the handler: n may be absent, size may not.
      handler: async ({ args }) => (args.n ?? 0) + args.size + args.side.length,
    });
    expect(await e.handler({ args: read("side=SELL&n=2"), call: undefined as never }, undefined)).toBe(16);
  });

  it("answers only error codes its endpoint documents, whatever is sent (property)", () => {
    const names = [...new Set(ENDPOINTS.flatMap((e) => Object.keys(e.params))), "junk"];
    const value = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.nat().map(String),
      fc.constantFrom("BUY", "LIMIT", "GTC", "FULL", "MINI", "true", '["BTCUSDT"]', "BTCUSDT", "1m"),
    );
    const query = fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 6 });
    fc.assert(
      fc.property(fc.constantFrom(...ENDPOINTS), query, (spec, pairs) => {
        const c = code(() => readArgs(spec, new Params(new URLSearchParams(pairs).toString())));
        if (c !== undefined) expect(errorCodesOf(spec)).toContain(c);
      }),
      { numRuns: 2000 },
    );
  });
});

type Doc = { properties: Record<string, Record<string, unknown>>; required: string[] };

/** A declared parameter as its OpenAPI operation shows it: type, values or bounds, requiredness. */
function expectDocumented(where: string, doc: Doc, name: string, p: ParamSpec): void {
  const property = doc.properties[name]!;
  expect(property.type, where).toBe(p.type === "integer" ? "integer" : "string");
  if (p.type === "enum") expect(property.enum, where).toEqual(p.values);
  if (p.type === "integer")
    expect([property.minimum, property.maximum], where).toEqual([p.min ?? 0, p.max ?? MAX]);
  expect(doc.required.includes(name), where).toBe(p.required === true);
}

const MAX = Number.MAX_SAFE_INTEGER;

describe("the OpenAPI operation a declaration makes", () => {
  it("documents every declared parameter with its type, bounds and requiredness", () => {
    for (const spec of ENDPOINTS) {
      const schema = routeSchema(spec) as Record<string, unknown>;
      const signed = spec.security === "USER_DATA" || spec.security === "TRADE";
      const doc = schema[signed && spec.method === "POST" ? "body" : "querystring"] as Doc;
      for (const [name, p] of Object.entries(spec.params))
        expectDocumented(`${spec.path} ${name}`, doc, name, p);
      if (signed) expect(doc.required).toEqual(expect.arrayContaining(["timestamp", "signature"]));
      expect(schema.security !== undefined).toBe(spec.security !== "NONE");
      const responses = schema.response as Record<string, { properties?: { code: { enum: number[] } } }>;
      expect(responses[200]).toBe(spec.response);
      expect(responses.default!.properties!.code.enum).toEqual(errorCodesOf(spec));
    }
  });

  it("declares each route and WebSocket API method once", () => {
    const routes = ENDPOINTS.map((e) => `${e.method} ${e.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    const methods = ENDPOINTS.flatMap((e) => (e.ws ? [e.ws] : []));
    expect(new Set(methods).size).toBe(methods.length);
  });
});

describe("request weights", () => {
  it("come from each endpoint's declaration, whatever the query (property)", () => {
    const query = fc.array(
      fc.tuple(
        fc.constantFrom("symbol", "symbols", "limit", "other"),
        fc.oneof(
          fc.nat({ max: 6000 }).map(String),
          fc.constant('["A","B","C"]'),
          fc.string({ maxLength: 4 }),
        ),
      ),
      { maxLength: 3 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...ENDPOINTS), query, (spec, pairs) => {
        const raw = new URLSearchParams(pairs).toString();
        const weight = requestWeight(spec.method, spec.path, raw);
        expect(weight).toBe(weightOf(spec, raw));
        if (typeof spec.weight === "number") expect(weight).toBe(spec.weight);
        expect(weight).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it("are 1 for what no endpoint declares (a 404, the documentation)", () => {
    expect(requestWeight("GET", "/api/v3/nothing", "limit=5000")).toBe(1);
    expect(requestWeight("GET", "/openapi.json", "")).toBe(1);
  });
});
