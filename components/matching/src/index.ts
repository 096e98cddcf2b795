// matching's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./commands.ts";
export * from "./depth-book.ts";
export * from "./engine.ts";
export * from "./events.ts";
export * from "./protocol.ts";
export * from "./service.ts";
export * from "./stop-book.ts";
export * from "./wire.ts";
