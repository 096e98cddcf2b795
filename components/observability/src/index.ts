// observability's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./forwarded.ts";
export * from "./health.ts";
export * from "./lag-clock.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./registry.ts";
export * from "./server.ts";
