// gateway's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./admin-api.ts";
export * from "./cap-counter.ts";
export * from "./endpoint.ts";
export * from "./endpoints.ts";
export * from "./funding.ts";
export * from "./keys.ts";
export * from "./trading-api.ts";
