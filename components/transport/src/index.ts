// transport's public API: other components import it from here only (CONTRIBUTING.md, "Layers").
// The Aeron adapter is part of transport; its native addon loads only when a client connects.
export * from "../aeron/src/client.ts";
export * from "../aeron/src/transport.ts";
export * from "./channel-handlers.ts";
export * from "./dial.ts";
export * from "./link.ts";
export * from "./link-keys.ts";
export * from "./message-port.ts";
export * from "./port.ts";
export * from "./rpc.ts";
export * from "./tcp.ts";
