import { randomBytes } from "node:crypto";
import { type Admin, type Consumer, type ConsumerRunConfig, Kafka, logLevel, type Producer } from "kafkajs";
import { type EventLog, type LogRecord, partitionOf, type ReadRecord, type Subscription } from "./port.ts";

/**
 * A broker refuses a record batch above the topic's `max.message.bytes` (1 MiB by default), and
 * all of one request's records for a partition form one batch: appends go in requests of about
 * SEND_BYTES, and our topics accept a batch up to MAX_RECORD_BATCH_BYTES, so that one large
 * record (a sweep of thousands of fills) still fits.
 */
const SEND_BYTES = 256 * 1024;
const MAX_RECORD_BATCH_BYTES = 16 * 1024 * 1024;
/** A group member kafkajs gave up on is started again after this, doubling up to the maximum. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 10_000;

/**
 * The event log on Kafka (kafkajs): topics created with explicit partitions, an idempotent
 * producer waiting for all in-sync replicas, records placed by `partitionOf` (so a market's
 * events share a partition and keep their order), consumer groups committing each batch after
 * the handler, and replays from an offset with a throwaway group seeking there.
 */
export class KafkaEventLog implements EventLog {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  private constructor(brokers: string[], clientId: string) {
    this.kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  static async connect(brokers: string[], clientId = "bourse"): Promise<KafkaEventLog> {
    const log = new KafkaEventLog(brokers, clientId);
    await log.admin.connect();
    await log.producer.connect();
    return log;
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    // Waiting for the new topic's leaders, kafkajs can read metadata that does not list the topic
    // yet ("does not host this topic-partition", retriable): `bourse settlement` died of it at
    // start. Asking again is safe: an existing topic is no error.
    await whileRetriable(() =>
      this.admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: partitions,
            configEntries: [{ name: "max.message.bytes", value: String(MAX_RECORD_BATCH_BYTES) }],
          },
        ],
        waitForLeaders: true,
      }),
    );
  }

  /** In order, in produce requests of at most SEND_BYTES each (one record alone may be larger). */
  async append(topic: string, records: readonly LogRecord[]): Promise<void> {
    const partitions = await this.partitionCount(topic);
    for (let i = 0; i < records.length; ) {
      const messages = [];
      for (let bytes = 0; i < records.length && (messages.length === 0 || bytes < SEND_BYTES); i++) {
        const r = records[i]!;
        bytes += r.key.length + r.value.length;
        messages.push({ key: r.key, value: Buffer.from(r.value), partition: partitionOf(r.key, partitions) });
      }
      await this.producer.send({ topic, acks: -1, messages });
    }
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    const ends = await this.admin.fetchTopicOffsets(topic);
    return Number(ends.find((o) => o.partition === partition)?.high ?? 0);
  }

  async committed(group: string, topic: string, partition: number): Promise<number> {
    const [offsets] = await whileRetriable(() =>
      this.admin.fetchOffsets({ groupId: group, topics: [topic] }),
    );
    const offset = Number(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    return Math.max(0, offset);
  }

  async replay(topic: string, partition: number, fromOffset: number): Promise<ReadRecord[]> {
    const end = await this.endOffset(topic, partition);
    if (fromOffset >= end) return [];
    // A broker that just started may not have its group coordinator yet: that crash is retried.
    return whileRetriable(() => this.read(topic, partition, fromOffset, end));
  }

  /**
   * Reads [fromOffset, end) with a throwaway consumer group whose start is set by `seek` in the
   * same tick as `run`: `run` creates the group synchronously and a seek registered before the
   * first fetch decides where the partition is read from (what kafkajs's own `admin.setOffsets`
   * relies on); after an `await` the consumer may already have read, or finished and been
   * disconnected. The other partitions start at their end (no committed offset, not from the
   * beginning), so nothing of theirs is read. A crash rejects (kafkajs's restarts switched off),
   * and so does close().
   */
  private async read(
    topic: string,
    partition: number,
    fromOffset: number,
    end: number,
  ): Promise<ReadRecord[]> {
    const out: ReadRecord[] = [];
    const consumer = this.kafka.consumer({
      groupId: `bourse-replay-${randomBytes(8).toString("hex")}`,
      retry: { restartOnFailure: async () => false },
    });
    this.consumers.add(consumer);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        // A crash disconnects too (before its CRASH event): only close() is told apart here.
        consumer.on(consumer.events.DISCONNECT, () => {
          if (this.closed)
            reject(new Error(`${topic}/${partition}: the event log was closed during a replay`));
        });
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition: p, message }) => {
              const offset = Number(message.offset);
              if (p !== partition || offset < fromOffset || offset >= end) return;
              out.push({
                key: String(message.key),
                value: Uint8Array.from(message.value ?? []),
                partition: p,
                offset,
              });
              if (offset === end - 1) resolve();
            },
          })
          .catch(reject);
        consumer.seek({ topic, partition, offset: String(fromOffset) });
      });
    } finally {
      this.consumers.delete(consumer);
      await consumer.disconnect();
    }
    return out;
  }

  /**
   * A consumer group member that outlives the broker: kafkajs restarts it after a retriable
   * crash, and gives up after others (no broker reachable for longer than its retries, as in a
   * Kafka restart); then a new member is started, again and again with a growing pause, until the
   * broker answers. So it never stops on its own, and `onFailure` is not called.
   */
  async subscribe(
    group: string,
    topic: string,
    handle: (records: readonly ReadRecord[]) => Promise<void>,
    _onFailure: (error: Error) => void,
  ): Promise<Subscription> {
    let current: Consumer | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let pauseMs = RESTART_FIRST_MS;
    const restartLater = () => {
      if (stopped) return;
      timer = setTimeout(() => void start().catch(restartLater), pauseMs);
      pauseMs = Math.min(RESTART_MAX_MS, pauseMs * 2);
    };
    const start = async () => {
      const { consumer, config } = this.member(group, topic, handle, () => {
        pauseMs = RESTART_FIRST_MS;
      });
      current = consumer;
      this.consumers.add(consumer);
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        this.consumers.delete(consumer);
        void consumer.disconnect().catch(() => {});
        restartLater();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run(config);
    };
    await start();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        if (!current) return;
        this.consumers.delete(current);
        await current.disconnect();
      },
    };
  }

  /**
   * One member of `group`: each batch handled, then committed. A short session, so a member that
   * died (kill -9) is replaced within seconds, not half a minute; heartbeats go on while a slow
   * handler runs, so a live one is not.
   */
  private member(
    group: string,
    topic: string,
    handle: (records: readonly ReadRecord[]) => Promise<void>,
    onBatch: () => void,
  ): { consumer: Consumer; config: ConsumerRunConfig } {
    const consumer = this.kafka.consumer({
      groupId: group,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    const config: ConsumerRunConfig = {
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return;
        const beat = setInterval(() => void heartbeat().catch(() => {}), 1_000);
        try {
          await handle(
            batch.messages.map((message) => ({
              key: String(message.key),
              value: Uint8Array.from(message.value ?? []),
              partition: batch.partition,
              offset: Number(message.offset),
            })),
          );
        } finally {
          clearInterval(beat);
        }
        const last = batch.lastOffset();
        resolveOffset(last);
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: String(Number(last) + 1) },
        ]);
        onBatch();
      },
    };
    return { consumer, config };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.consumers) await c.disconnect();
    await this.producer.disconnect();
    await this.admin.disconnect();
  }

  private async partitionCount(topic: string): Promise<number> {
    const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]!.partitions.length;
  }
}

/**
 * Runs `request` again while the broker answers with a retriable error for up to 30 s: a fresh
 * broker's group coordinator, for one, takes a moment to come up after the broker does.
 */
async function whileRetriable<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (let delay = 100; ; delay = Math.min(2_000, delay * 2)) {
    try {
      return await request();
    } catch (e) {
      if (!isRetriable(e) || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** kafkajs's own rule for restarting a crashed consumer: its retries ran out, or the root cause is retriable. */
function isRetriable(e: unknown): boolean {
  let cause = e as { name?: string; retriable?: boolean; cause?: unknown } | undefined;
  if (cause?.name === "KafkaJSNumberOfRetriesExceeded") return true;
  while (cause?.cause) cause = cause.cause as typeof cause;
  return cause?.retriable === true;
}
