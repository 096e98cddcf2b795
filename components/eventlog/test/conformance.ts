import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openedForSuite } from "../../../tests/support/port-under-test.ts";
import type { EventLog, ReadRecord } from "../src/port.ts";
import { partitionOf } from "../src/port.ts";

/** The event log conformance suite: the same cases against any adapter. */
const text = (s: string) => new TextEncoder().encode(s);
const str = (r: ReadRecord) => new TextDecoder().decode(r.value);
/** A subscription that stops for good in these cases is a failure of the adapter. */
const failTest = (e: Error) => expect.unreachable(`subscription failed: ${e.message}`);

const topic = () => `t-${randomBytes(4).toString("hex")}`;
const markets = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"];

/** The log under test: open from beforeAll to afterAll, so read it inside a case, not before. */
interface LogUnderTest {
  readonly log: EventLog;
}

export function eventLogConformance(name: string, open: () => Promise<EventLog>): void {
  describe(`event log conformance: ${name}`, () => {
    const opened = openedForSuite(open);
    const underTest: LogUnderTest = {
      get log() {
        return opened();
      },
    };
    partitionCases(underTest);
    consumerGroupCases(underTest);
  });
}

/** Appending by key and replaying a partition from an offset. */
function partitionCases(subject: LogUnderTest): void {
  it("keeps each key's records in order in its partition, and replays from any offset", async () => {
    const { log } = subject;
    const t = topic();
    await log.createTopic(t, 3);
    await log.createTopic(t, 3);
    for (let seq = 1; seq <= 20; seq++)
      await log.append(
        t,
        markets.map((m) => ({ key: m, value: text(`${m}:${seq}`) })),
      );
    for (const m of markets) {
      const partition = partitionOf(m, 3);
      const records = (await log.replay(t, partition, 0)).filter((r) => r.key === m);
      expect(records.map(str)).toEqual(Array.from({ length: 20 }, (_, i) => `${m}:${i + 1}`));
    }
    const p = partitionOf("BTCUSDT", 3);
    const all = await log.replay(t, p, 0);
    expect(all.map((r) => r.offset)).toEqual(all.map((_, i) => i));
    expect(await log.endOffset(t, p)).toBe(all.length);
    const tail = await log.replay(t, p, 5);
    expect(tail).toEqual(all.slice(5));
    expect(await log.replay(t, p, all.length)).toEqual([]);
  });
}

/** Consumer groups: delivery, commits, and redelivery after a failed handler. */
function consumerGroupCases(subject: LogUnderTest): void {
  it("delivers every record to a group, and a new subscription resumes after what was committed", async () => {
    const { log } = subject;
    const t = topic();
    await log.createTopic(t, 2);
    await log.append(
      t,
      markets.map((m, i) => ({ key: m, value: text(`first-${i}`) })),
    );
    const seen: string[] = [];
    const until = async (n: number) => {
      for (let i = 0; i < 600 && new Set(seen).size < n; i++) await new Promise((r) => setTimeout(r, 25));
    };
    const first = await log.subscribe(
      "g",
      t,
      async (records) => {
        for (const r of records) seen.push(str(r));
      },
      failTest,
    );
    await until(5);
    await first.stop();
    await log.append(
      t,
      markets.map((m, i) => ({ key: m, value: text(`second-${i}`) })),
    );
    const second = await log.subscribe(
      "g",
      t,
      async (records) => {
        for (const r of records) seen.push(str(r));
      },
      failTest,
    );
    await until(10);
    // Each batch is committed once handled: the group's offsets reach the partitions' ends.
    const ends = await Promise.all([0, 1].map((p) => log.endOffset(t, p)));
    let committed: number[] = [];
    for (let i = 0; i < 600 && String(committed) !== String(ends); i++) {
      committed = await Promise.all([0, 1].map((p) => log.committed("g", t, p)));
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(committed).toEqual(ends);
    expect(await log.committed("never", t, 0)).toBe(0);
    await second.stop();
    expect(new Set(seen).size).toBe(10);
    // Resumed: the first five were not delivered again (at most a handful of re-deliveries).
    expect(seen.length - 10).toBeLessThan(5);
  });

  it("delivers a batch again when its handler failed, and commits only once it succeeds", async () => {
    const { log } = subject;
    const t = topic();
    await log.createTopic(t, 1);
    await log.append(
      t,
      [1, 2, 3].map((i) => ({ key: "BTCUSDT", value: text(`r${i}`) })),
    );
    let failures = 0;
    const settled: string[] = [];
    const sub = await log.subscribe(
      "flaky",
      t,
      async (records) => {
        if (failures < 2) {
          failures++;
          throw new Error("handler failed");
        }
        for (const r of records) settled.push(str(r));
      },
      failTest,
    );
    for (let i = 0; i < 1_200 && settled.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
    await sub.stop();
    expect(failures).toBe(2);
    expect(settled).toEqual(["r1", "r2", "r3"]);
    expect(await log.committed("flaky", t, 0)).toBe(3);
  });
}
