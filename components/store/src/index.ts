// store's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./cassandra-store.ts";
export * from "./embedded-store.ts";
export * from "./history-codec.ts";
export * from "./page.ts";
export * from "./port.ts";
