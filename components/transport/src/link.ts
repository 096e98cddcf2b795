import {
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { BourseError } from "../../domain/src/index.ts";
import { ChannelHandlers } from "./channel-handlers.ts";
import type { Channel, Transport } from "./port.ts";

/**
 * Authenticated, encrypted channels over any transport (TCP, Aeron IPC or UDP), for the links
 * between Bourse's processes. Each link (who dials whom) has a key of its own that only its two
 * ends hold, so a process can prove one thing only: that it is the client or the server of the
 * links it was given keys for (a gateway holds the gateway>ubscore key and nothing else).
 *
 * Handshake, before anything else is read or sent (the key itself never crosses):
 *   client -> server  HELLO     nc (32 random bytes), the link's name
 *   server -> client  CHALLENGE ns (32 random bytes), HMAC-SHA256(key, "server" name nc ns)
 *   client -> server  PROOF     HMAC-SHA256(key, "client" name nc ns)
 * Each side checks the other's MAC (constant time), so a peer without the key is refused whichever
 * end it plays; the labels keep a proof from being reflected back. Both derive the session's two
 * keys, one per direction, by HKDF-SHA256 from the link key with salt nc|ns: fresh per session,
 * so nothing of one session is accepted in another. Everything after it travels in records
 * (the messages of one event-loop turn, see SecureChannel) sealed with AES-256-GCM under the
 * direction's key with the record's sequence number as the nonce: a record replayed, reordered,
 * altered or injected (by anyone who can write to the stream, as anyone can on an Aeron log)
 * fails to open, and the channel closes. GCM also keeps the content secret:
 * UBSCore's stream to gateways carries users' API secrets.
 *
 * A peer that sends anything else, too much, or does not finish the handshake within
 * `handshakeMs` is dropped; the server's callback only ever sees authenticated channels.
 */
export type LinkRole = "gateway" | "ubscore" | "matching" | "settlement";

export interface Link {
  /** The dialing side and the listening side. */
  readonly client: LinkRole;
  readonly server: LinkRole;
  /** The link's key (32 bytes or more), read when first needed. */
  readonly key: () => Promise<Uint8Array>;
}

/** The link's name: the roles it joins, also the name of its key file. */
export const linkName = (link: Pick<Link, "client" | "server">) => `${link.client}-${link.server}`;

const Step = { HELLO: 1, CHALLENGE: 2, PROOF: 3 } as const;
const NONCE = 32;
const MAC = 32;
const TAG = 16;
/** Connections still in their handshake, per server: more are dropped at once. */
const MAX_HANDSHAKING = 64;

export interface SecureOptions {
  /** How long a peer has to complete the handshake. */
  readonly handshakeMs?: number;
}

export function secureTransport(inner: Transport, link: Link, options: SecureOptions = {}): Transport {
  const handshakeMs = options.handshakeMs ?? 5_000;
  const name = Buffer.from(linkName(link), "latin1");
  const proof = (key: Uint8Array, side: "client" | "server", nc: Uint8Array, ns: Uint8Array) =>
    createHmac("sha256", key).update(side).update(name).update(nc).update(ns).digest();
  const sessionKeys = (key: Uint8Array, nc: Uint8Array, ns: Uint8Array) => {
    const okm = Buffer.from(hkdfSync("sha256", key, Buffer.concat([nc, ns]), name, 64));
    return { clientToServer: okm.subarray(0, 32), serverToClient: okm.subarray(32) };
  };
  const loadKey = async () => {
    const key = await link.key();
    if (key.length < 32) throw new BourseError("INVALID_CONFIG", `link key ${linkName(link)} is too short`);
    return key;
  };

  return {
    async listen(address, onChannel) {
      const key = await loadKey();
      let handshaking = 0;
      return inner.listen(address, (raw) => {
        if (handshaking >= MAX_HANDSHAKING) return raw.close();
        handshaking++;
        const timer = setTimeout(() => raw.close(), handshakeMs);
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          handshaking--;
          clearTimeout(timer);
        };
        raw.onClose(settle);
        const nc = Buffer.alloc(NONCE);
        const ns = randomBytes(NONCE);
        // One handler for the channel's life: what it does depends on the step reached.
        let receive = (m: Uint8Array) => {
          if (!isHello(m, name)) return raw.close();
          nc.set(m.subarray(1, 1 + NONCE));
          receive = (p) => {
            if (p.length !== 1 + MAC || p[0] !== Step.PROOF) return raw.close();
            if (!timingSafeEqual(p.subarray(1), proof(key, "client", nc, ns))) return raw.close();
            settle();
            const keys = sessionKeys(key, nc, ns);
            const secure = new SecureChannel(raw, keys.serverToClient, keys.clientToServer);
            receive = (sealed) => secure.receive(sealed);
            onChannel(secure);
          };
          raw.send(Buffer.concat([Buffer.of(Step.CHALLENGE), ns, proof(key, "server", nc, ns)]));
        };
        raw.onMessage((m) => receive(m));
      });
    },

    async connect(address) {
      const key = await loadKey();
      const raw = await inner.connect(address);
      const nc = randomBytes(NONCE);
      return new Promise<Channel>((resolve, reject) => {
        let done = false;
        const refuse = (why: string) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(new BourseError("UNAUTHENTICATED", `${linkName(link)} link to ${address}: ${why}`));
          raw.close();
        };
        const timer = setTimeout(() => refuse("no answer to the handshake"), handshakeMs);
        raw.onClose((e) => refuse(`the peer closed the connection${e ? ` (${e.message})` : ""}`));
        let receive = (m: Uint8Array) => {
          if (m.length !== 1 + NONCE + MAC || m[0] !== Step.CHALLENGE)
            return refuse("not a handshake answer");
          const ns = Buffer.from(m.subarray(1, 1 + NONCE));
          if (!timingSafeEqual(m.subarray(1 + NONCE), proof(key, "server", nc, ns))) {
            return refuse("the peer does not hold this link's key");
          }
          done = true;
          clearTimeout(timer);
          raw.send(Buffer.concat([Buffer.of(Step.PROOF), proof(key, "client", nc, ns)]));
          const keys = sessionKeys(key, nc, ns);
          const secure = new SecureChannel(raw, keys.clientToServer, keys.serverToClient);
          receive = (sealed) => secure.receive(sealed);
          resolve(secure);
        };
        raw.onMessage((m) => receive(m));
        raw.send(Buffer.concat([Buffer.of(Step.HELLO), nc, name]));
      });
    },
  };
}

function isHello(m: Uint8Array, name: Buffer): boolean {
  return m.length === 1 + NONCE + name.length && m[0] === Step.HELLO && name.equals(m.subarray(1 + NONCE));
}

/** The sequence number as a GCM nonce (12 bytes: 4 zero, 8 big-endian). */
function nonce(seq: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(seq, 4);
  return n;
}

/**
 * A channel after the handshake. Messages sent in one turn of the event loop go out together as
 * one sealed record (each message framed by its u32 length inside it): one AES-GCM operation per
 * record rather than per message, since each costs about 12 us of fixed overhead in Node. A
 * record also closes when it reaches RECORD_BYTES. Each message is encrypted as it is sent, so
 * the caller may reuse its buffer at once.
 */
const RECORD_BYTES = 1024 * 1024;

class SecureChannel implements Channel {
  private readonly handlers = new ChannelHandlers();
  private sent = 0n;
  private received = 0n;
  /** The record being written: its cipher and the ciphertext so far. */
  private record: { cipher: CipherGCM; parts: Buffer[]; bytes: number } | undefined;

  constructor(
    private readonly raw: Channel,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {
    raw.onClose((e) => this.handlers.finish(e));
  }

  send(message: Uint8Array): void {
    if (this.handlers.closed) return;
    if (!this.record) {
      this.record = {
        cipher: createCipheriv("aes-256-gcm", this.sendKey, nonce(this.sent++)),
        parts: [],
        bytes: 0,
      };
      process.nextTick(() => this.seal());
    }
    const { cipher, parts } = this.record;
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(message.length);
    parts.push(cipher.update(length), cipher.update(message));
    this.record.bytes += 4 + message.length;
    if (this.record.bytes >= RECORD_BYTES) this.seal();
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.handlers.onMessage(handler);
  }

  onClose(handler: (error?: Error) => void): void {
    this.handlers.onClose(handler);
  }

  close(): void {
    this.seal();
    this.raw.close();
    this.handlers.finish();
  }

  /** Sends the record being written, if any. */
  private seal(): void {
    const record = this.record;
    if (!record) return;
    this.record = undefined;
    const { cipher, parts } = record;
    parts.push(cipher.final(), cipher.getAuthTag());
    if (!this.handlers.closed) this.raw.send(Buffer.concat(parts));
  }

  /** A sealed record from the peer: its messages delivered, or the channel closes. */
  receive(sealed: Uint8Array): void {
    if (this.handlers.closed) return;
    let messages: Buffer[];
    try {
      if (sealed.length < TAG) throw new Error("shorter than its tag");
      const decipher = createDecipheriv("aes-256-gcm", this.receiveKey, nonce(this.received++));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG)),
        decipher.final(),
      ]);
      messages = unframe(plain);
    } catch {
      const error = new BourseError("UNAUTHENTICATED", "a record on the link failed authentication");
      this.raw.close();
      this.handlers.finish(error);
      return;
    }
    for (const m of messages) {
      if (this.handlers.closed) return;
      this.handlers.deliver(m);
    }
  }
}

/** The messages of an opened record; a record that does not split exactly is refused. */
function unframe(plain: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at < plain.length; ) {
    if (plain.length - at < 4) throw new Error("truncated length");
    const length = plain.readUInt32LE(at);
    if (plain.length - at - 4 < length) throw new Error("truncated message");
    messages.push(plain.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return messages;
}
