import { randomBytes, randomInt } from "node:crypto";
import { createSocket } from "node:dgram";

/**
 * A forger on an Aeron UDP channel: it sends datagrams straight to a media driver's receive
 * endpoint, bypassing any Aeron client. Aeron's frames are plain (no authentication of their
 * own): a SETUP for the server's stream opens a new image in the driver, and the DATA frames after
 * it are delivered to the subscriber as a publisher's messages. Mixed with them, datagrams of
 * random bytes and of random frame headers.
 */
const HEADER = 32;
const SETUP_LENGTH = 40;
const TERM_LENGTH = 64 * 1024;
enum FrameType {
  Data = 0x01,
  Setup = 0x05,
}

function setup(sessionId: number, streamId: number, termId: number): Buffer {
  const b = Buffer.alloc(SETUP_LENGTH);
  b.writeInt32LE(SETUP_LENGTH, 0);
  b.writeUInt8(0, 4); // version
  b.writeUInt8(0, 5); // flags
  b.writeUInt16LE(FrameType.Setup, 6);
  b.writeInt32LE(0, 8); // term offset
  b.writeInt32LE(sessionId, 12);
  b.writeInt32LE(streamId, 16);
  b.writeInt32LE(termId, 20); // initial term id
  b.writeInt32LE(termId, 24); // active term id
  b.writeInt32LE(TERM_LENGTH, 28);
  b.writeInt32LE(1408, 32); // MTU
  b.writeInt32LE(0, 36); // TTL
  return b;
}

/** One unfragmented DATA frame at `termOffset`, padded to Aeron's 32-byte alignment. */
function data(
  sessionId: number,
  streamId: number,
  termId: number,
  termOffset: number,
  payload: Uint8Array,
): Buffer {
  const length = HEADER + payload.length;
  const b = Buffer.alloc((length + 31) & ~31);
  b.writeInt32LE(length, 0);
  b.writeUInt8(0, 4);
  b.writeUInt8(0xc0, 5); // BEGIN | END
  b.writeUInt16LE(FrameType.Data, 6);
  b.writeInt32LE(termOffset, 8);
  b.writeInt32LE(sessionId, 12);
  b.writeInt32LE(streamId, 16);
  b.writeInt32LE(termId, 20);
  b.set(payload, HEADER);
  return b;
}

/** A random frame header of any type, with whatever follows. */
function junkFrame(streamId: number): Buffer {
  const b = randomBytes(randomInt(HEADER, 1_400));
  b.writeInt32LE(randomInt(-64, b.length + 64), 0);
  b.writeUInt8(0, 4);
  b.writeUInt16LE(randomInt(0, 0x10), 6);
  if (randomInt(2) === 0) b.writeInt32LE(streamId, 16);
  return b;
}

export interface ForgeryReport {
  /** Forged sessions (SETUP then DATA frames) sent. */
  readonly sessions: number;
  readonly datagrams: number;
}

/**
 * Until `until` (epoch ms): forged sessions to `streamId` on 127.0.0.1:`port`, each carrying
 * `payloads` (the transport's and the link's messages, or anything; the first opens each session)
 * as DATA frames, and junk.
 */
export async function forgeUdp(
  port: number,
  streamId: number,
  payloads: Uint8Array[],
  until: number,
): Promise<ForgeryReport> {
  const socket = createSocket("udp4");
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const send = (b: Buffer) =>
    new Promise<void>((resolve) => socket.send(b, port, "127.0.0.1", () => resolve()));
  let sessions = 0;
  let datagrams = 0;
  try {
    while (Date.now() < until) {
      const sessionId = randomInt(-0x7fff_ffff, 0x7fff_ffff);
      const termId = randomInt(-0x7fff_ffff, 0x7fff_ffff);
      await send(setup(sessionId, streamId, termId));
      // The driver answers a SETUP with a status message once it has an image: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 5));
      let offset = 0;
      for (let i = 0; i < 8; i++) {
        // The first payload opens every session (the transport's HELLO); then any, or random bytes.
        const payload =
          i === 0
            ? payloads[0]!
            : randomInt(3) === 0
              ? randomBytes(randomInt(0, 600))
              : payloads[randomInt(payloads.length)]!;
        const frame = data(sessionId, streamId, termId, offset, payload);
        if (offset + frame.length > TERM_LENGTH) break;
        await send(frame);
        offset += frame.length;
        datagrams++;
      }
      await send(junkFrame(streamId));
      await send(randomBytes(randomInt(0, 1_500)));
      datagrams += 3;
      sessions++;
      // Paced: each forged HELLO holds one of the server's 64 handshake slots for up to 5 s, and a
      // flood of them would only show that cap (honest clients refused while it lasts).
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  } finally {
    socket.close();
  }
  return { sessions, datagrams };
}
