// config's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./load.ts";
export * from "./schema.ts";
