// journal's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./dir-lock.ts";
export * from "./journal.ts";
export * from "./slot-arena.ts";
export * from "./snapshot.ts";
