// A worker thread running a TypeScript module (workerData.module, a file URL) through tsx's
// loader: worker threads do not inherit the loader the main thread registered.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.module);
