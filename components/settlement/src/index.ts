// settlement's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./feed.ts";
export * from "./port.ts";
export * from "./reconcile.ts";
export * from "./remote-ledger.ts";
export * from "./service.ts";
export * from "./settlement.ts";
