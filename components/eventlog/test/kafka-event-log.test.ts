import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KafkaServer, startKafka } from "../../../tests/infra/kafka.ts";
import { KafkaEventLog } from "../src/kafka-event-log.ts";
import type { ReadRecord } from "../src/port.ts";
import { eventLogConformance } from "./conformance.ts";

let kafka: KafkaServer;
beforeAll(async () => {
  kafka = await startKafka();
});
afterAll(async () => {
  await kafka?.stop();
});

eventLogConformance("Kafka (real broker)", () => KafkaEventLog.connect(kafka.brokers));

// Each case ends with every promise settled: vitest fails the run on any unhandled rejection,
// which is how a replay's stray `seek` used to surface.
describe("Kafka event log: error paths against the real broker", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const topic = () => `e-${randomBytes(4).toString("hex")}`;
  const fill = async (log: KafkaEventLog, t: string, n: number) => {
    await log.createTopic(t, 1);
    await log.append(
      t,
      Array.from({ length: n }, (_, i) => ({ key: "BTCUSDT", value: text(`r${i}`) })),
    );
  };

  it("replays from every offset, again and again, with no read racing its seek", async () => {
    const log = await KafkaEventLog.connect(kafka.brokers);
    try {
      const t = topic();
      await fill(log, t, 12);
      for (let round = 0; round < 3; round++)
        for (const from of [0, 1, 6, 11]) {
          const got = await log.replay(t, 0, from);
          expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 12 - from }, (_, i) => from + i));
        }
    } finally {
      await log.close();
    }
  });

  it("ends a replay that close() interrupts with a rejection, not a hang or a stray error", async () => {
    const log = await KafkaEventLog.connect(kafka.brokers);
    const t = topic();
    await fill(log, t, 50);
    const reads = [0, 10, 20].map((from) =>
      log.replay(t, 0, from).then(
        (records) => ({ records }),
        (error: Error) => ({ error }),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    await log.close();
    for (const read of await Promise.all(reads)) {
      // Either the read finished before the close, whole, or it was refused.
      if ("records" in read) expect(read.records.at(-1)?.offset).toBe(49);
      else expect(read.error).toBeInstanceOf(Error);
    }
  });

  it("refuses a replay while the broker is gone; the subscription outlives the outage", {
    timeout: 180_000,
  }, async () => {
    const log = await KafkaEventLog.connect(kafka.brokers);
    const delivered: ReadRecord[] = [];
    const failures: Error[] = [];
    try {
      const t = topic();
      await fill(log, t, 5);
      const sub = await log.subscribe(
        "survivor",
        t,
        async (records) => {
          delivered.push(...records);
        },
        (e) => failures.push(e),
      );
      for (let i = 0; i < 400 && delivered.length < 5; i++) await new Promise((r) => setTimeout(r, 25));
      await kafka.stop();
      const down = Date.now();
      const during = await log.replay(t, 0, 0).then(
        () => "read",
        (e: Error) => e,
      );
      expect(during).toBeInstanceOf(Error);
      // Down for longer than kafkajs's own retries: the group member gives up and is started again.
      await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - down))));
      await kafka.start();
      await log.append(t, [{ key: "BTCUSDT", value: text("after") }]);
      const replayed = await log.replay(t, 0, 0);
      expect(replayed.map((r) => new TextDecoder().decode(r.value)).at(-1)).toBe("after");
      // The group's subscription came through the outage: it delivers what was appended after it.
      for (let i = 0; i < 2_400 && !delivered.some((r) => r.offset === 5); i++)
        await new Promise((r) => setTimeout(r, 25));
      await sub.stop();
      expect(failures).toEqual([]);
      expect(delivered.some((r) => r.offset === 5)).toBe(true);
    } finally {
      await log.close();
    }
  });
});
