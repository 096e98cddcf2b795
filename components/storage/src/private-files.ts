import { open } from "node:fs/promises";

/**
 * Modes of everything under a data directory: journals, snapshots, the ledger and the history
 * hold every user's money and orders, so only the exchange's own user may read them.
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** fsync a directory so that a create, rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
