import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Journal } from "../../journal/src/index.ts";
import { PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";
import { type EventLog, type LogRecord, partitionOf, type ReadRecord, type Subscription } from "./port.ts";

/**
 * The embedded event log: one journal per topic partition (length + CRC framed, fsynced, torn
 * tail dropped), committed offsets in small files (a lost commit means a re-delivery, which
 * at-least-once consumers accept). Subscribers are woken by appends.
 */
/** Records per delivered batch. */
const BATCH = 1_000;
/** A batch whose handler failed is delivered again after this, doubling up to the maximum. */
const REDELIVER_FIRST_MS = 100;
const REDELIVER_MAX_MS = 5_000;

interface Partition {
  readonly journal: Journal;
  readonly records: LogRecord[];
}

export class FileEventLog implements EventLog {
  private readonly topics = new Map<string, Partition[]>();
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<FileEventLog> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    const log = new FileEventLog(dir);
    for (const topic of await readdir(dir)) {
      const parts = (await readdir(join(dir, topic))).filter((p) => /^p\d+$/.test(p)).length;
      if (parts > 0) await log.openTopic(topic, parts);
    }
    return log;
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(topic)) throw new RangeError(`bad topic name ${topic}`);
    if (!this.topics.has(topic)) await this.openTopic(topic, partitions);
  }

  async append(topic: string, records: readonly LogRecord[]): Promise<void> {
    const parts = this.partitions(topic);
    await Promise.all(
      records.map((r) => {
        const p = parts[partitionOf(r.key, parts.length)]!;
        // Visible to readers once durable; a partition's appends resolve in order.
        return p.journal.append(encode(r)).then(() => p.records.push(r));
      }),
    );
    for (const wake of this.listeners) wake();
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    const p = this.partitions(topic)[partition];
    if (!p) throw new RangeError(`${topic} has no partition ${partition}`);
    return p.records.length;
  }

  async replay(topic: string, partition: number, fromOffset: number): Promise<ReadRecord[]> {
    const p = this.partitions(topic)[partition];
    if (!p) throw new RangeError(`${topic} has no partition ${partition}`);
    return p.records.slice(fromOffset).map((r, i) => ({ ...r, partition, offset: fromOffset + i }));
  }

  async subscribe(
    group: string,
    topic: string,
    handle: (records: readonly ReadRecord[]) => Promise<void>,
    onFailure: (error: Error) => void,
  ): Promise<Subscription> {
    const parts = this.partitions(topic);
    let stopped = false;
    let failed = false;
    let redelivery: NodeJS.Timeout | undefined;
    let backoffMs = REDELIVER_FIRST_MS;
    let running: Promise<void> = Promise.resolve();
    const pump = async () => {
      for (let partition = 0; partition < parts.length && !stopped; partition++) {
        const records = await this.replay(topic, partition, await this.committed(group, topic, partition));
        for (let i = 0; i < records.length && !stopped; i += BATCH) {
          const batch = records.slice(i, i + BATCH);
          try {
            await handle(batch);
          } catch {
            // At-least-once: the batch stays uncommitted and is delivered again, like Kafka's.
            redelivery ??= setTimeout(() => {
              redelivery = undefined;
              wake();
            }, backoffMs);
            backoffMs = Math.min(REDELIVER_MAX_MS, backoffMs * 2);
            return;
          }
          backoffMs = REDELIVER_FIRST_MS;
          await this.commit(group, topic, partition, batch.at(-1)!.offset + 1);
        }
      }
    };
    const wake = () => {
      running = running.then(pump).catch((e: Error) => {
        // The log itself could not be read or its offsets written: the subscription is over.
        stopped = true;
        this.listeners.delete(wake);
        if (!failed) onFailure(e);
        failed = true;
      });
    };
    this.listeners.add(wake);
    wake();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(redelivery);
        this.listeners.delete(wake);
        await running;
      },
    };
  }

  async close(): Promise<void> {
    for (const parts of this.topics.values()) for (const p of parts) await p.journal.close();
  }

  private partitions(topic: string): Partition[] {
    const parts = this.topics.get(topic);
    if (!parts) throw new RangeError(`unknown topic ${topic}`);
    return parts;
  }

  private async openTopic(topic: string, partitions: number): Promise<void> {
    const parts: Partition[] = [];
    for (let i = 0; i < partitions; i++) {
      const journal = await Journal.open(join(this.dir, topic, `p${i}`), { name: "eventlog" });
      const records: LogRecord[] = [];
      await journal.replay(1, (payload) => records.push(decode(payload)));
      parts.push({ journal, records });
    }
    this.topics.set(topic, parts);
  }

  private offsetFile(group: string, topic: string, partition: number): string {
    return join(this.dir, topic, `offset-${encodeURIComponent(group)}-${partition}`);
  }

  async committed(group: string, topic: string, partition: number): Promise<number> {
    try {
      return Number(await readFile(this.offsetFile(group, topic, partition), "utf8"));
    } catch {
      return 0;
    }
  }

  private async commit(group: string, topic: string, partition: number, next: number): Promise<void> {
    await writeFile(this.offsetFile(group, topic, partition), String(next), { mode: PRIVATE_FILE });
  }
}

function encode(r: LogRecord): Uint8Array {
  const key = Buffer.from(r.key, "utf8");
  const out = new Uint8Array(2 + key.length + r.value.length);
  new DataView(out.buffer).setUint16(0, key.length, true);
  out.set(key, 2);
  out.set(r.value, 2 + key.length);
  return out;
}

function decode(bytes: Uint8Array): LogRecord {
  const keyLength = new DataView(bytes.buffer, bytes.byteOffset).getUint16(0, true);
  return {
    key: Buffer.from(bytes.subarray(2, 2 + keyLength)).toString("utf8"),
    value: Uint8Array.from(bytes.subarray(2 + keyLength)),
  };
}
