import { open } from "node:fs/promises";

/** fsync a directory so that a create, rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
