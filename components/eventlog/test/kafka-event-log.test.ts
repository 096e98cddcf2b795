import { afterAll, beforeAll } from "vitest";
import { type KafkaServer, startKafka } from "../../../tests/infra/kafka.ts";
import { KafkaEventLog } from "../src/kafka-event-log.ts";
import { eventLogConformance } from "./conformance.ts";

let kafka: KafkaServer;
beforeAll(async () => {
  kafka = await startKafka();
});
afterAll(async () => {
  await kafka?.stop();
});

eventLogConformance("Kafka (real broker)", () => KafkaEventLog.connect(kafka.brokers));
