/**
 * The event log port: the durable, ordered stream of engine events between components.
 * Records are keyed (by market), and a key always lands in the same partition, so one market's
 * events keep their order. Consumers belong to groups that resume after their last committed
 * offset and commit only after their handler finished (at-least-once; handlers are idempotent).
 * Adapters: Kafka (kafkajs) and a file log for the embedded exchange; one conformance suite.
 */
export interface LogRecord {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface ReadRecord extends LogRecord {
  readonly partition: number;
  readonly offset: number;
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface EventLog {
  /** Creates the topic with this many partitions; a no-op if it exists. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Appends in order; resolved once durable. */
  append(topic: string, records: readonly LogRecord[]): Promise<void>;
  /** The offset the next record of the partition gets (its record count, for a fresh topic). */
  endOffset(topic: string, partition: number): Promise<number>;
  /** The offset a group resumes the partition from (0 if it never committed). */
  committed(group: string, topic: string, partition: number): Promise<number>;
  /** Every record of one partition from `fromOffset` to the end as it is now, in order. */
  replay(topic: string, partition: number, fromOffset: number): Promise<ReadRecord[]>;
  /**
   * Delivers the records after the group's committed offsets, in batches of one partition's
   * consecutive records, in order; commits a batch after `handle` resolves for it. A batch whose
   * `handle` rejects is delivered again later. `onFailure` is called once if the subscription
   * stops for good on its own (the log can no longer be read): nothing is delivered after it.
   */
  subscribe(
    group: string,
    topic: string,
    handle: (records: readonly ReadRecord[]) => Promise<void>,
    onFailure: (error: Error) => void,
  ): Promise<Subscription>;
  close(): Promise<void>;
}

/** The partition of a key: the same function in every adapter, so they place records alike. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}
