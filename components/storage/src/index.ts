// storage's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./private-files.ts";
