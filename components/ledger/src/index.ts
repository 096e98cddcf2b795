// ledger's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./chart.ts";
export * from "./codec.ts";
export * from "./embedded-ledger.ts";
export * from "./ids.ts";
export * from "./measured-ledger.ts";
export * from "./port.ts";
export * from "./tigerbeetle-ledger.ts";
