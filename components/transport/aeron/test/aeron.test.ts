import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MediaDriver, startMediaDriver } from "../../../../tests/infra/aeron.ts";
import { until as waitUntil } from "../../../../tests/support/until.ts";
import { AeronClient } from "../src/client.ts";
import { AeronError } from "../src/errors.ts";
import { Offer } from "../src/layout.ts";
import { type LogBuffers, packTail, tailTermId, tailTermOffset } from "../src/log-buffers.ts";
import type { Publication } from "../src/publication.ts";
import type { Subscription } from "../src/subscription.ts";

/**
 * Our client against the real Java media driver: data through log buffers (fragments, padding,
 * term rotation, back pressure), the driver's answers, errors and timeouts, and interoperation
 * with the official Java client in both directions.
 */
const INTEROP = join(import.meta.dirname, "../../../../tests/infra/aeron/Interop.java");
/** As in Interop.java: message i has LENGTHS[i % 7] bytes, byte j = (i * 31 + j) & 0xff. */
const INTEROP_LENGTHS = [1, 64, 1_000, 1_408, 5_000, 100_000, 0];
/** 64 KiB terms rotate every few dozen messages; their largest message is 8 KiB. */
const SMALL_TERMS = "aeron:ipc?term-length=65536";
const SMALL_LENGTHS = [1, 64, 1_000, 1_408, 5_000, 8_000, 0];

function message(i: number, lengths: number[]): Uint8Array {
  const m = new Uint8Array(lengths[i % lengths.length]!);
  for (let j = 0; j < m.length; j++) m[j] = (i * 31 + j) & 0xff;
  return m;
}

/** Polls closely: the driver moves in microseconds. */
const until = (ready: () => boolean, what: string, timeoutMs = 10_000) =>
  waitUntil(ready, what, { timeoutMs, everyMs: 2 });

/** Offers until accepted, running `meanwhile` (the reader) on back pressure; the new position. */
async function publish(publication: Publication, m: Uint8Array, meanwhile?: () => void): Promise<number> {
  for (;;) {
    const result = publication.offer(m);
    if (result >= 0) return result;
    if (result === Offer.CLOSED || result === Offer.MAX_POSITION_EXCEEDED) throw new Error(`offer ${result}`);
    meanwhile?.();
    if (result !== Offer.ADMIN_ACTION) await new Promise((r) => setImmediate(r));
  }
}

/** A reader that checks every byte of message i against the pattern, in order. */
function orderedReader(subscription: Subscription, lengths: number[]) {
  let received = 0;
  return {
    poll: () =>
      subscription.poll((m) => {
        if (Buffer.compare(m, message(received, lengths)) !== 0) {
          throw new Error(`message ${received} differs (${m.length} bytes)`);
        }
        received++;
      }),
    received: () => received,
  };
}

function java(driver: MediaDriver, args: string[]) {
  const child = spawn(
    "java",
    ["--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", `${driver.lib}/*`, INTEROP, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  const exit = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  return { output: () => output, exit };
}

/** The media driver and our client on it, both started in beforeAll: read them inside a case. */
interface DriverUnderTest {
  readonly driver: MediaDriver;
  readonly client: AeronClient;
}

describe("Aeron client against the Java media driver", () => {
  let driver: MediaDriver;
  let client: AeronClient;

  beforeAll(async () => {
    driver = await startMediaDriver({ clientLivenessTimeoutMs: 2_000 });
    client = await AeronClient.connect({ dir: driver.dir });
  });
  afterAll(async () => {
    await client?.close();
    await driver?.stop();
  });
  const underTest: DriverUnderTest = {
    get driver() {
      return driver;
    },
    get client() {
      return client;
    },
  };
  logBufferCases(underTest);
  connectionAndErrorCases(underTest);
  javaInteropCases(underTest);
  timeoutCases(underTest);
});

/** Data through the log buffers: fragments, padding, term rotation, back pressure. */
function logBufferCases(subject: DriverUnderTest): void {
  for (const exclusive of [true, false]) {
    it(`carries 3,000 messages of mixed sizes in order through many term rotations (${exclusive ? "exclusive" : "shared"} publication)`, async () => {
      const { client } = subject;
      const streamId = exclusive ? 11 : 12;
      const subscription = await client.addSubscription(SMALL_TERMS, streamId);
      const publication = await client.addPublication(SMALL_TERMS, streamId, exclusive);
      await until(() => publication.isConnected && subscription.imageCount === 1, "the image");
      expect(publication.maxMessageLength).toBe(8_192);
      const reader = orderedReader(subscription, SMALL_LENGTHS);
      let position = 0;
      for (let i = 0; i < 3_000; i++)
        position = await publish(publication, message(i, SMALL_LENGTHS), reader.poll);
      await until(() => {
        reader.poll();
        return reader.received() === 3_000;
      }, "every message");
      expect(position).toBeGreaterThan(100 * 65_536); // positions count bytes: a hundred terms and more
      expect(() => publication.offer(new Uint8Array(8_193))).toThrow(AeronError);
      await publication.close();
      await subscription.close();
      expect(publication.offer(new Uint8Array(1))).toBe(Offer.CLOSED);
    });
  }

  it("back-pressures a publisher whose subscriber stops reading, loses nothing, and resumes", async () => {
    const { client } = subject;
    const subscription = await client.addSubscription(SMALL_TERMS, 13);
    const publication = await client.addPublication(SMALL_TERMS, 13, true);
    await until(() => publication.isConnected && subscription.imageCount === 1, "the image");
    const lengths = [100];
    let accepted = 0;
    let result = publication.offer(message(accepted, lengths));
    while (result >= 0 || result === Offer.ADMIN_ACTION) {
      if (result >= 0) accepted++;
      result = publication.offer(message(accepted, lengths));
    }
    expect(result).toBe(Offer.BACK_PRESSURED);
    // The window is a fraction of the term: the driver let through some tens of kilobytes.
    expect(accepted * 160).toBeGreaterThan(16_384);
    expect(accepted * 160).toBeLessThan(3 * 65_536);
    const reader = orderedReader(subscription, lengths);
    await until(() => {
      reader.poll();
      return reader.received() === accepted;
    }, "the backlog");
    await until(() => publication.offer(message(accepted, lengths)) >= 0, "the limit to move");
    await until(() => {
      reader.poll();
      return reader.received() === accepted + 1;
    }, "the next message");
    await publication.close();
    await subscription.close();
  });
}

/** Publications with no subscriber or two writers, and the errors of a bad channel or no driver. */
function connectionAndErrorCases(subject: DriverUnderTest): void {
  it("reports NOT_CONNECTED while no one subscribes", async () => {
    const { client } = subject;
    const publication = await client.addPublication("aeron:ipc", 14, true);
    expect(publication.isConnected).toBe(false);
    expect(publication.offer(new Uint8Array(8))).toBe(Offer.NOT_CONNECTED);
    await publication.close();
  });

  it("lets two clients append to one shared log without losing or tearing a message", async () => {
    const { driver, client } = subject;
    const other = await AeronClient.connect({ dir: driver.dir });
    const subscription = await client.addSubscription(SMALL_TERMS, 15);
    const [a, b] = [
      await client.addPublication(SMALL_TERMS, 15),
      await other.addPublication(SMALL_TERMS, 15),
    ];
    expect(a.sessionId).toBe(b.sessionId); // the same log
    await until(() => a.isConnected && b.isConnected && subscription.imageCount === 1, "the image");
    const seen = { a: 0, b: 0 };
    const poll = () =>
      subscription.poll((m) => {
        const who = m[0] === 0xaa ? "a" : "b";
        expect(m.length).toBe(600);
        expect(new DataView(m.buffer, m.byteOffset + 1, 4).getUint32(0, true)).toBe(seen[who]);
        seen[who]++;
      });
    for (let i = 0; i < 1_000; i++) {
      for (const [p, tag] of [
        [a, 0xaa],
        [b, 0xbb],
      ] as const) {
        const m = new Uint8Array(600).fill(tag);
        new DataView(m.buffer).setUint32(1, i, true);
        await publish(p, m, poll);
      }
    }
    await until(() => {
      poll();
      return seen.a === 1_000 && seen.b === 1_000;
    }, "both writers' messages");
    await other.close();
    await subscription.close();
  });

  it("refuses a bad channel with the driver's error code and message", async () => {
    const { client } = subject;
    const refused = await client.addPublication("aeron:nonsense?x=1", 16).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AeronError);
    expect((refused as AeronError).code).toBe("REGISTRATION");
    expect((refused as AeronError).driverCode).toBe(1); // INVALID_CHANNEL
    expect((refused as AeronError).message).toMatch(/INVALID_CHANNEL/);
  });

  it("fails clearly where no media driver runs", async () => {
    const empty = await mkdtemp(join(tmpdir(), "bourse-no-aeron-"));
    await expect(AeronClient.connect({ dir: empty, driverTimeoutMs: 200 })).rejects.toMatchObject({
      code: "NO_DRIVER",
    });
  });
}

/** Interoperation with the official Java client, in both directions. */
function javaInteropCases(subject: DriverUnderTest): void {
  it("receives every byte from the official Java publisher, fragments reassembled", async () => {
    const { driver, client } = subject;
    const subscription = await client.addSubscription("aeron:ipc", 21);
    const publisher = java(driver, ["pub", driver.dir, "aeron:ipc", "21", "2000"]);
    const reader = orderedReader(subscription, INTEROP_LENGTHS);
    await until(
      () => {
        reader.poll();
        return reader.received() === 2_000;
      },
      "the Java publisher's messages",
      45_000,
    );
    await subscription.close(); // lets the publisher go
    expect(await publisher.exit, publisher.output()).toBe(0);
    expect(publisher.output()).toContain("published 2000");
  });

  it("delivers every byte to the official Java subscriber, fragments included", async () => {
    const { driver, client } = subject;
    const subscriber = java(driver, ["sub", driver.dir, "aeron:ipc", "22", "2000"]);
    const publication = await client.addPublication("aeron:ipc", 22, true);
    await until(() => publication.isConnected, "the Java subscriber", 30_000);
    for (let i = 0; i < 2_000; i++) await publish(publication, message(i, INTEROP_LENGTHS));
    expect(await subscriber.exit, subscriber.output()).toBe(0);
    expect(subscriber.output()).toContain("received 2000");
    await publication.close();
  });
}

/** What the driver does to a client or a publisher that goes silent. */
function timeoutCases(subject: DriverUnderTest): void {
  it("is told when the driver times it out for missing keepalives", async () => {
    const { driver } = subject;
    const errors: AeronError[] = [];
    const silent = await AeronClient.connect({
      dir: driver.dir,
      keepaliveIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    await silent.addSubscription("aeron:ipc", 23); // the driver only tracks clients that registered
    await until(() => errors.length > 0, "the client timeout", 15_000);
    expect(errors[0]!.code).toBe("CLIENT_TIMEOUT");
    expect(silent.isClosed).toBe(true);
  });

  it("gives up an image whose publisher died between claiming a frame and writing it", async () => {
    const { driver, client } = subject;
    // A client that stops its keepalives: the driver times it out and closes its publication.
    const dying = await AeronClient.connect({
      dir: driver.dir,
      keepaliveIntervalMs: 60_000,
      onError: () => {},
    });
    const subscription = await client.addSubscription("aeron:ipc", 24);
    const publication = await dying.addPublication("aeron:ipc", 24, true);
    await until(() => publication.isConnected && subscription.imageCount === 1, "the image");
    const received: number[] = [];
    await publish(publication, new Uint8Array([7]));
    await until(() => {
      subscription.poll((m) => received.push(m[0]!));
      return received.length === 1;
    }, "the first message");
    // What a SIGKILL between claim and commit leaves: the tail moved on, the frame never written.
    const { log } = publication as unknown as { log: LogBuffers };
    const tailAt = log.tailOffset(log.activeTermCount() % 3);
    const rawTail = log.metadata.getInt64Volatile(tailAt);
    log.metadata.putInt64Ordered(
      tailAt,
      packTail(tailTermId(rawTail), tailTermOffset(rawTail, log.termLength) + 64),
    );
    let gone = false;
    subscription.onUnavailableImage(() => {
      gone = true;
    });
    await until(
      () => {
        subscription.poll(() => {});
        return gone;
      },
      "the image given up",
      15_000,
    );
    expect(received).toEqual([7]);
    await subscription.close();
  });
}

describe("Aeron client when the media driver dies", () => {
  it("reports DRIVER_TIMEOUT and fails what waits", async () => {
    const driver = await startMediaDriver();
    const errors: AeronError[] = [];
    const client = await AeronClient.connect({
      dir: driver.dir,
      driverTimeoutMs: 1_000,
      onError: (e) => errors.push(e),
    });
    const subscription = await client.addSubscription("aeron:ipc", 31);
    await driver.stop();
    await until(() => errors.length > 0, "the driver timeout", 10_000);
    expect(errors[0]!.code).toBe("DRIVER_TIMEOUT");
    expect(subscription.isClosed).toBe(true);
    await expect(client.addSubscription("aeron:ipc", 32)).rejects.toMatchObject({ code: "DRIVER_TIMEOUT" });
  });
});
