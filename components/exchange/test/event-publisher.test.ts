import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EventLog } from "../../eventlog/src/index.ts";
import { FileEventLog, LogPublisher } from "../../eventlog/src/index.ts";
import { UbsCoreService } from "../../ubscore/src/index.ts";
import { exchange, script, submitAll } from "../../ubscore/test/fixtures.ts";
import {
  decodeMarketEvent,
  EVENT_PARTITIONS,
  type MarketEvent,
  marketEvents,
} from "../src/event-publisher.ts";

/** Every record of the topic, with the consumer's rule applied: drop an lsn not above the last. */
async function consume(log: EventLog, topic: string): Promise<{ events: MarketEvent[]; repeats: number }> {
  const events: MarketEvent[] = [];
  let repeats = 0;
  for (let p = 0; p < EVENT_PARTITIONS; p++) {
    let last = 0;
    for (const r of await log.replay(topic, p, 0)) {
      const e = decodeMarketEvent(r.value);
      if (e.lsn <= last) repeats++;
      else events.push(e);
      last = Math.max(last, e.lsn);
    }
  }
  return { events: events.sort((a, b) => a.lsn - b.lsn), repeats };
}

async function run(dir: string, log: EventLog, cmds = script()) {
  const publisher = await LogPublisher.open(log, "bourse.events", EVENT_PARTITIONS, join(dir, "published"));
  const record = marketEvents(publisher);
  const service = await UbsCoreService.open(dir, exchange, { onReplay: record });
  service.onCommand(record);
  await submitAll(service, cmds);
  await publisher.drained();
  await publisher.close();
  await service.close();
  return { service, publisher };
}

describe("UBSCore's event stream", () => {
  it("publishes every trade once, in journal order per market, with the orders it touched", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-events-"));
    const log = await FileEventLog.open(join(dir, "log"));
    const { service, publisher } = await run(dir, log);
    const { events, repeats } = await consume(log, "bourse.events");
    expect(repeats).toBe(0);
    const trades = events.flatMap((e) => e.trades);
    expect(trades).toEqual(service.core.tradesOf(1));
    expect(events.every((e) => e.market === "BTCUSDT")).toBe(true);
    expect(publisher.publishedLsn).toBe(events.at(-1)!.lsn);
    // Each order's last state in the stream is its state in UBSCore.
    const last = new Map(events.flatMap((e) => e.orders).map((o) => [o.orderId, o]));
    for (const [id, o] of last) expect(o.status).toBe(service.core.order(id)!.status);
    await log.close();
  });

  it("after a restart publishes only what was missing; a lost position repeats records a consumer drops", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-events-"));
    const log = await FileEventLog.open(join(dir, "log"));
    const cmds = script();
    await run(dir, log, cmds.slice(0, 120));
    const before = await consume(log, "bourse.events");
    // Restart: the journal replays everything; nothing already published goes out again.
    await run(dir, log, []);
    expect(await consume(log, "bourse.events")).toEqual(before);
    // A crash before the position was saved: the replay repeats, the consumer's rule drops them.
    await writeFile(join(dir, "published"), "0");
    const { service } = await run(dir, log, cmds.slice(120));
    const after = await consume(log, "bourse.events");
    expect(after.repeats).toBe(before.events.length);
    expect(after.events.flatMap((e) => e.trades)).toEqual(service.core.tradesOf(1));
    await log.close();
  });

  it("keeps records while the event log is away, holds commands past the backlog bound, and catches up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-events-"));
    const file = await FileEventLog.open(join(dir, "log"));
    let down = true;
    // The real file log behind a switch that makes its appends fail, as a broker that is away.
    const log: EventLog = {
      ...file,
      createTopic: (t, p) => file.createTopic(t, p),
      endOffset: (t, p) => file.endOffset(t, p),
      replay: (t, p, o) => file.replay(t, p, o),
      subscribe: (g, t, h, f) => file.subscribe(g, t, h, f),
      committed: (g, t, p) => file.committed(g, t, p),
      close: () => file.close(),
      append: (t, r) => (down ? Promise.reject(new Error("broker away")) : file.append(t, r)),
    };
    const publisher = await LogPublisher.open(log, "bourse.events", EVENT_PARTITIONS, join(dir, "published"));
    const service = await UbsCoreService.open(dir, exchange, {
      admit: () => publisher.backpressure(20),
    });
    service.onCommand(marketEvents(publisher));
    const cmds = script();
    const done = submitAll(service, cmds);
    await new Promise((r) => setTimeout(r, 300));
    expect(publisher.lastError?.message).toBe("broker away");
    expect(publisher.backpressure(20)).toBeInstanceOf(Promise); // commands wait now
    down = false;
    await done;
    await publisher.drained();
    const { events, repeats } = await consume(file, "bourse.events");
    expect(repeats).toBe(0);
    expect(events.flatMap((e) => e.trades)).toEqual(service.core.tradesOf(1));
    await publisher.close();
    await service.close();
    await file.close();
  });
});
