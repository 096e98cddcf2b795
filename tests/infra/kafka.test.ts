import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KafkaServer, startKafka } from "./kafka.ts";

/**
 * The test infrastructure's Kafka is the real thing: a broker started from Maven Central's
 * artifacts that keeps per-key order across partitions with an idempotent producer, and serves a
 * consumer group that commits only what it processed.
 */
let server: KafkaServer;
let kafka: Kafka;

beforeAll(async () => {
  server = await startKafka();
  kafka = new Kafka({ clientId: "bourse-infra-test", brokers: server.brokers, logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  await server?.stop();
});

describe("Kafka (KRaft, real broker)", () => {
  it("keeps per-key order, and a group resumes after its last committed offset", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: "engine-events", numPartitions: 3 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const markets = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
    for (let seq = 1; seq <= 50; seq++) {
      await producer.send({
        topic: "engine-events",
        acks: -1,
        messages: markets.map((m) => ({ key: m, value: `${m}:${seq}` })),
      });
    }
    await producer.disconnect();

    // At-least-once: a restarted group may see a message again, never miss one.
    const seen: string[] = [];
    const consume = async (until: () => boolean) => {
      const consumer = kafka.consumer({ groupId: "settlement" });
      await consumer.connect();
      await consumer.subscribe({ topic: "engine-events", fromBeginning: true });
      await new Promise<void>((resolve) => {
        void consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            if (until()) return;
            seen.push(String(message.value));
            // Commit only after processing: the next offset to read.
            await consumer.commitOffsets([
              { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
            if (until()) resolve();
          },
        });
      });
      await consumer.disconnect();
    };

    await consume(() => seen.length >= 120);
    await consume(() => new Set(seen).size === 200);
    expect(new Set(seen).size).toBe(200);
    for (const m of markets) {
      const sequence = [...new Set(seen)]
        .filter((v) => v.startsWith(`${m}:`))
        .map((v) => Number(v.split(":")[1]));
      expect(sequence).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
    // The second consumer resumed from the group's committed offsets: at most a handful of
    // messages were delivered twice, not the 120 the first one had processed.
    expect(seen.length - 200).toBeLessThan(10);
    await admin.disconnect();
  });
});
