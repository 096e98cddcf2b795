import { randomBytes, randomInt } from "node:crypto";
import { connect } from "node:net";
import type { Transport } from "../../components/transport/src/index.ts";

/**
 * Hostile peers for the internal ports: raw TCP clients that speak the transport's framing (a
 * u32 little-endian length, then the bytes) but not the link's handshake, or only half of it.
 */

/**
 * Sends `frames` (framed) then `raw` bytes to host:port; resolves with every byte the server
 * answered once it hangs up (or after 8 s of silence).
 */
export function rawExchange(address: string, frames: Uint8Array[], raw: Uint8Array[] = []): Promise<Buffer> {
  const i = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const answer: Buffer[] = [];
    socket.on("data", (d) => answer.push(d));
    socket.on("error", () => {});
    // A server that never hangs up on a stranger (as before the links) still ends the exchange.
    socket.setTimeout(8_000, () => socket.destroy());
    socket.on("close", () => resolve(Buffer.concat(answer)));
    socket.on("connect", () => {
      for (const f of frames) socket.write(Buffer.concat([u32(f.length), f]));
      for (const r of raw) socket.write(r);
    });
  });
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** The most a peer without the key can get: one CHALLENGE (nonce and the server's proof), framed on TCP. */
export const CHALLENGE = 1 + 32 + 32;
export const CHALLENGE_FRAME = 4 + CHALLENGE;

/** A HELLO of the link handshake for `linkName`, from a peer that does not hold the key. */
export const hello = (linkName: string) =>
  Buffer.concat([Buffer.of(1), randomBytes(32), Buffer.from(linkName)]);

/**
 * One random hostile conversation: random frames, the old unauthenticated protocol's messages
 * (`known`), a HELLO followed by a forged proof or by nothing, truncated frames, a length header
 * beyond any limit, or raw noise with no framing at all.
 */
export function randomConversation(
  linkName: string,
  known: Uint8Array[],
): { frames: Uint8Array[]; raw: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  const raw: Uint8Array[] = [];
  const pick = <T>(xs: T[]) => xs[randomInt(xs.length)]!;
  for (let n = randomInt(1, 5); n > 0; n--) {
    switch (randomInt(7)) {
      case 0:
        frames.push(randomBytes(randomInt(0, 300)));
        break;
      case 1:
        frames.push(pick(known));
        break;
      case 2:
        frames.push(hello(linkName), Buffer.concat([Buffer.of(3), randomBytes(32)]));
        break;
      case 3:
        frames.push(hello(linkName), pick(known));
        break;
      case 4:
        raw.push(Buffer.concat([u32(randomInt(1, 1_000)), randomBytes(randomInt(0, 20))]));
        break;
      case 5:
        raw.push(u32(0xffff_fff0));
        break;
      default:
        raw.push(randomBytes(randomInt(1, 64)));
    }
  }
  return { frames, raw };
}

/**
 * Random hostile peers against `address`, `parallel` at a time, until `until` (epoch ms).
 * Resolves with how many conversations ran and the most bytes the server sent back in one.
 */
export async function fuzzPort(
  address: string,
  linkName: string,
  known: Uint8Array[],
  until: number,
  parallel = 6,
): Promise<{ conversations: number; largestAnswer: number }> {
  let conversations = 0;
  let largestAnswer = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const { frames, raw } = randomConversation(linkName, known);
      const answer = await rawExchange(address, frames, raw);
      conversations++;
      largestAnswer = Math.max(largestAnswer, answer.length);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { conversations, largestAnswer };
}

/**
 * A stranger on any transport (TCP, Aeron): connects without the link, sends `frames`, and
 * resolves with the messages it got back once the server hangs up (or after 8 s of silence).
 */
export async function stranger(raw: Transport, address: string, frames: Uint8Array[]): Promise<Uint8Array[]> {
  const channel = await raw.connect(address);
  const answers: Uint8Array[] = [];
  channel.onMessage((m) => answers.push(Buffer.from(m)));
  const closed = new Promise<void>((resolve) => channel.onClose(() => resolve()));
  const timer = setTimeout(() => channel.close(), 8_000);
  for (const f of frames) channel.send(f);
  await closed;
  clearTimeout(timer);
  return answers;
}

/** Random hostile conversations (message frames only) over `raw` until `until`; as fuzzPort. */
export async function fuzzChannels(
  raw: Transport,
  address: string,
  linkName: string,
  known: Uint8Array[],
  until: number,
  parallel = 3,
): Promise<{ conversations: number; largestAnswer: number }> {
  let conversations = 0;
  let largestAnswer = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const answers = await stranger(raw, address, randomConversation(linkName, known).frames);
      conversations++;
      largestAnswer = Math.max(largestAnswer, ...answers.map((a) => a.length));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { conversations, largestAnswer };
}
