// operator's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
export * from "./events.ts";
export * from "./exchange.ts";
export * from "./kube-client.ts";
export * from "./leader.ts";
export * from "./metrics.ts";
export * from "./observability.ts";
export * from "./operator.ts";
export * from "./resources.ts";
export * from "./ubscore-lease.ts";
