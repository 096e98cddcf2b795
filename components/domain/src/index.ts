// domain's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./asset.ts";
export * from "./decimal.ts";
export * from "./errors.ts";
export * from "./exchange.ts";
export * from "./ids.ts";
export * from "./json.ts";
export * from "./market.ts";
export * from "./orders.ts";
export * from "./record-layout.ts";
export * from "./u128.ts";
