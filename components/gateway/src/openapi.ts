import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema } from "fastify";
import { signing } from "./common-params.ts";
import { type EndpointSpec, errorCodesOf, type ParamSpec, type Security } from "./endpoint.ts";
import { errorSchema } from "./schemas.ts";

/**
 * OpenAPI documents generated from the routes' schemas, served as /openapi.json with a browsable
 * UI at /docs. On the trading API the schemas describe parameters for people and tools; the
 * checking itself is done by `Params` so that every failure carries its Binance code.
 */
export function installOpenApi(
  app: FastifyInstance,
  title: string,
  description: string,
  security: "apiKey" | "bearer",
): void {
  app.register(swagger, {
    openapi: {
      info: { title, description, version: "0.1.0" },
      components: {
        securitySchemes:
          security === "apiKey"
            ? { apiKey: { type: "apiKey", in: "header", name: "X-MBX-APIKEY" } }
            : { bearer: { type: "http", scheme: "bearer" } },
      },
    },
  });
  app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}

/**
 * The OpenAPI operation of a declared endpoint: its parameters (in the query string, or the form
 * body of a signed POST, as Binance takes them) with their types and bounds, the signing
 * parameters of a signed one, its API-key security, its answer and its errors.
 */
export function routeSchema(spec: EndpointSpec): FastifySchema {
  const signed = spec.security === "USER_DATA" || spec.security === "TRADE";
  const params: [string, ParamSpec][] = Object.entries({ ...spec.params, ...(signed ? signing : {}) });
  const properties = Object.fromEntries(params.map(([name, p]) => [name, paramDoc(p)]));
  const required = params.filter(([, p]) => p.required).map(([name]) => name);
  const parameters = { type: "object", properties, required };
  const inBody = signed && spec.method === "POST";
  return {
    summary: spec.summary,
    tags: [TAGS[spec.security]],
    ...(spec.security === "NONE" ? {} : { security: [{ apiKey: [] }] }),
    ...(inBody
      ? { consumes: ["application/x-www-form-urlencoded"], body: parameters }
      : { querystring: parameters }),
    response: { 200: spec.response, default: errorSchema(errorCodesOf(spec)) },
  } as FastifySchema;
}

const TAGS: Record<Security, string> = {
  NONE: "market data",
  USER_STREAM: "user data stream",
  USER_DATA: "account",
  TRADE: "trading",
};

function paramDoc(p: ParamSpec): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    description: p.description,
    ...(p.example === undefined ? {} : { example: p.example }),
  };
  switch (p.type) {
    case "integer":
      return { ...doc, type: "integer", minimum: p.min ?? 0, maximum: p.max ?? Number.MAX_SAFE_INTEGER };
    case "enum":
      return { ...doc, type: "string", enum: p.values };
    case "symbols":
      return { ...doc, type: "string" };
    case "string":
      return { ...doc, type: "string", ...(p.pattern ? { pattern: p.pattern } : {}) };
  }
}
