// eventlog's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./file-event-log.ts";
export * from "./kafka-event-log.ts";
export * from "./port.ts";
export * from "./publisher.ts";
