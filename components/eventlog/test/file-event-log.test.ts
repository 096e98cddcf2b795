import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileEventLog } from "../src/file-event-log.ts";
import { eventLogConformance } from "./conformance.ts";

eventLogConformance("file", async () => FileEventLog.open(await mkdtemp(join(tmpdir(), "bourse-eventlog-"))));

describe("FileEventLog durability", () => {
  it("keeps appended records and committed offsets across a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-eventlog-"));
    const log = await FileEventLog.open(dir);
    await log.createTopic("events", 2);
    await log.append("events", [
      { key: "BTCUSDT", value: new Uint8Array([1]) },
      { key: "BTCUSDT", value: new Uint8Array([2]) },
    ]);
    await log.close();
    const again = await FileEventLog.open(dir);
    const all = [...(await again.replay("events", 0, 0)), ...(await again.replay("events", 1, 0))];
    expect(all.map((r) => [...r.value])).toEqual([[1], [2]]);
    await again.close();
  });
});
