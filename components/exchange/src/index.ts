// exchange's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./embedded.ts";
export * from "./event-publisher.ts";
export { runtimeSharesPorts } from "./gateway-threads.ts";
export * from "./hot-path.ts";
export * from "./kube-lease.ts";
export * from "./observability.ts";
export * from "./processes.ts";
export * from "./writer-lease.ts";
