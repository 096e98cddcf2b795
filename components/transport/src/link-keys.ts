import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BourseConfig } from "../../config/src/index.ts";
import { BourseError } from "../../domain/src/index.ts";
import { type LinkRole, linkName, secureTransport } from "./link.ts";
import type { Transport } from "./port.ts";

/**
 * The links between Bourse's processes and where their keys come from (docs/security.md,
 * "Internal links"). Each link is authenticated with a key of its own (link.ts):
 *
 *   gateway -> ubscore      the replication port (7100): snapshot, trading commands, user calls
 *   ubscore -> matching     the books (7400): HANDOVER and commands out, outcomes back
 *   ubscore -> settlement   settlement's port (7300): caughtUp, status, the embedded ledger
 *
 * Keys live in `links.keyDir` (Kubernetes: the operator's Secret, each pod mounting only its own
 * links' keys), else in `<dataDir>/links` (`npm start`, the processes of one host sharing a data
 * dir). A missing key is made, owner-only, by whichever process needs it first, and the others
 * read the same file; where it cannot be made (a read-only Secret mount) that is a config error.
 */
const KEY_HEX = /^(?:[0-9a-f]{2}){32,}$/i;

export function linkTransport(
  config: BourseConfig,
  inner: Transport,
  client: LinkRole,
  server: LinkRole,
): Transport {
  const name = linkName({ client, server });
  const dir = config.links.keyDir ?? join(resolve(config.dataDir), "links");
  let key: Promise<Uint8Array> | undefined;
  return secureTransport(inner, {
    client,
    server,
    key: () => {
      key ??= readKey(join(dir, name));
      return key;
    },
  });
}

async function readKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, "latin1");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new BourseError("INVALID_CONFIG", `cannot read the link key at ${path}: ${(e as Error).message}`);
    }
    await makeKey(path).catch((made: Error) => {
      throw new BourseError(
        "INVALID_CONFIG",
        `no link key at ${path}, and none can be made there: ${made.message}`,
      );
    });
    text = await readFile(path, "latin1");
  }
  const hex = text.trim();
  if (!KEY_HEX.test(hex))
    throw new BourseError("INVALID_CONFIG", `${path} is not a link key (64+ hex digits)`);
  return Buffer.from(hex, "hex");
}

/**
 * Writes a fresh key under a name of its own, then links it into place: two processes starting
 * together both succeed, one key wins, and no reader ever sees a half-written file.
 */
async function makeKey(path: string): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  try {
    await link(draft, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    await unlink(draft);
  }
}
