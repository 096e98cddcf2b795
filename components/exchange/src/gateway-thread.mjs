// A gateway thread of the embedded exchange (gateway-threads.ts starts it): a worker starts with
// a module loader of its own, so it registers tsx's, as settlement-worker.mjs does.
import { register } from "tsx/esm/api";

register();
await import("./gateway-thread.ts");
