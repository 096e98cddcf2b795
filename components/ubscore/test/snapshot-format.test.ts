import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { readSnapshot, SNAPSHOT_VERSION } from "../src/snapshot-format.ts";

const refusal = (bytes: string) => {
  try {
    readSnapshot(Buffer.from(bytes));
    return undefined;
  } catch (e) {
    return isBourseError(e) ? `${e.code}: ${e.message}` : e;
  }
};

/** Round trips of every version are in snapshot.test.ts; here, what the reader refuses. */
describe("UBSCore's snapshot format", () => {
  it("refuses an unknown version, an unknown record and a torn record as a corrupt journal", () => {
    const header = (version: number) => JSON.stringify({ version });
    expect(refusal(`${header(SNAPSHOT_VERSION + 1)}\n`)).toBe(
      `CORRUPT_JOURNAL: unknown UBSCore snapshot version ${SNAPSHOT_VERSION + 1}`,
    );
    expect(refusal(`${header(SNAPSHOT_VERSION)}\n["x",1]\n`)).toBe(
      'CORRUPT_JOURNAL: unknown UBSCore snapshot record "x"',
    );
    expect(refusal(`${header(SNAPSHOT_VERSION)}\n["o",{"orderId":1}`)).toBe(
      "CORRUPT_JOURNAL: UBSCore snapshot ends inside a record",
    );
  });
});
