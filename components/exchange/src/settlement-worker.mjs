// Settlement's worker thread (settlement-thread.ts starts it): a worker starts with a module
// loader of its own, so it registers tsx's, as bin/bourse.mjs does for the process, whether the
// process runs under tsx, `node --import tsx` or vitest.
import { register } from "tsx/esm/api";

register();
await import("./settlement-worker.ts");
