// Runs a background task of a Bourse process in a child process of its own (started at low
// priority): the TypeScript module at argv[2] (a file URL), through tsx's loader, whose
// `runInBackground(job)` gets what the parent writes to stdin (JSON). Exits 1 with the error on
// stderr.
import { text } from "node:stream/consumers";
import { register } from "tsx/esm/api";

register();
try {
  const task = await import(process.argv[2]);
  await task.runInBackground(await text(process.stdin));
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
}
