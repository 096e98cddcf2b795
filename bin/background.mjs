// Runs a background task of a Bourse process in a child process of its own (started at low
// priority): the TypeScript module at argv[2] (a file URL), through tsx's loader, whose
// `runInBackground(job)` gets the JSON in BOURSE_BACKGROUND_JOB. Exits 1 with the error on stderr.
import { register } from "tsx/esm/api";

register();
try {
  const task = await import(process.argv[2]);
  await task.runInBackground(process.env.BOURSE_BACKGROUND_JOB ?? "");
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
}
