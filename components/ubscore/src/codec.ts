import { fail } from "../../domain/src/errors.ts";
import { parseExact, stringifyExact } from "../../domain/src/json.ts";
import type { UbsCommand } from "./types.ts";

/**
 * Journal record format of UBSCore commands: a version byte, then the command as UTF-8 JSON with
 * bigints written as {"$n":"<decimal>"}. JSON keeps the journal readable with standard tools;
 * the hot path between processes uses the matching engine's fixed binary layouts instead.
 */
const VERSION = 1;

export function encodeCommand(cmd: UbsCommand): Uint8Array {
  const body = Buffer.from(stringifyExact(cmd), "utf8");
  const out = new Uint8Array(body.length + 1);
  out[0] = VERSION;
  out.set(body, 1);
  return out;
}

export function decodeCommand(bytes: Uint8Array): UbsCommand {
  if (bytes[0] !== VERSION) fail("CORRUPT_JOURNAL", `unknown UBSCore record version ${bytes[0]}`);
  const json = Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.length - 1).toString("utf8");
  return parseExact<UbsCommand>(json);
}
