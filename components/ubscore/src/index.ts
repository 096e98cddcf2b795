// ubscore's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./candles.ts";
export * from "./codec.ts";
export * from "./core.ts";
export * from "./matching-link.ts";
export * from "./order-counts.ts";
export * from "./order-filters.ts";
export * from "./pending-orders.ts";
export * from "./replication.ts";
export * from "./service.ts";
export * from "./types.ts";
