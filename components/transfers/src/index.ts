// transfers's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./trading-port.ts";
export * from "./transfer-saga.ts";
