export * from "./asset.ts";
export * from "./decimal.ts";
export * from "./errors.ts";
export * from "./exchange.ts";
export * from "./ids.ts";
export * from "./market.ts";
export * from "./orders.ts";
