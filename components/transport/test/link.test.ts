import { randomBytes } from "node:crypto";
import { connect as netConnect } from "node:net";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MediaDriver, startMediaDriver } from "../../../tests/infra/aeron.ts";
import { isBourseError } from "../../domain/src/index.ts";
import { AeronClient } from "../aeron/src/client.ts";
import { aeronTransport } from "../aeron/src/transport.ts";
import { type Link, type LinkRole, secureTransport } from "../src/link.ts";
import type { Channel, Transport, TransportServer } from "../src/port.ts";
import { tcpTransport } from "../src/tcp.ts";

/**
 * The authenticated link (src/link.ts) over real loopback TCP, attacked from both ends: peers
 * without the key, peers with another link's key, raw bytes, and a man in the middle that
 * replays, reorders, alters and injects sealed messages. In every case the honest side's
 * handler never sees what was refused.
 */
const KEY = randomBytes(32);
const link = (key: Uint8Array = KEY, client: LinkRole = "gateway", server: LinkRole = "ubscore"): Link => ({
  client,
  server,
  key: async () => key,
});

const servers: TransportServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** An echo server on the link; `accepted` counts the channels its handler was given. */
async function echoServer(transport: Transport) {
  const state = { accepted: 0, received: [] as Buffer[] };
  const server = await transport.listen("127.0.0.1:0", (ch) => {
    state.accepted++;
    ch.onMessage((m) => {
      state.received.push(Buffer.from(m));
      ch.send(m);
    });
  });
  servers.push(server);
  return { ...state, server, state };
}

const closedOf = (ch: Channel) => new Promise<Error | undefined>((resolve) => ch.onClose(resolve));

/** Raw bytes to a TCP port, framed as the TCP transport frames; resolves when the server hangs up. */
function rawPeer(address: string, frames: Uint8Array[]): Promise<Buffer> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.split(":").pop())];
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const answer: Buffer[] = [];
    socket.on("data", (d) => answer.push(d));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Buffer.concat(answer)));
    socket.on("connect", () => {
      for (const f of frames) {
        const header = Buffer.alloc(4);
        header.writeUInt32LE(f.length);
        socket.write(header);
        socket.write(f);
      }
    });
  });
}

describe("the authenticated link", () => {
  it("carries messages between two ends holding the link's key, sealed on the wire", async () => {
    const { server, state } = await echoServer(secureTransport(tcpTransport, link()));
    // A tap on the client's raw channel: what actually crosses the wire.
    const wire: Buffer[] = [];
    const tapped: Transport = {
      listen: tcpTransport.listen,
      async connect(address) {
        const raw = await tcpTransport.connect(address);
        const send = raw.send.bind(raw);
        raw.send = (m) => {
          wire.push(Buffer.from(m));
          send(m);
        };
        return raw;
      },
    };
    const client = await secureTransport(tapped, link()).connect(server.address);
    const secret = Buffer.from("user 7 secretKey 0123456789abcdef");
    const echoed = new Promise<Uint8Array>((resolve) => client.onMessage(resolve));
    client.send(secret);
    expect(Buffer.from(await echoed)).toEqual(secret);
    expect(state.accepted).toBe(1);
    // The key never crosses, and neither does the message in clear.
    for (const m of wire) {
      expect(m.includes(KEY)).toBe(false);
      expect(m.includes(secret)).toBe(false);
    }
    client.close();
  });

  it("refuses a client without the key: the server's handler never sees it", async () => {
    const { server, state } = await echoServer(secureTransport(tcpTransport, link()));
    const attempt = secureTransport(tcpTransport, link(randomBytes(32))).connect(server.address);
    await expect(attempt).rejects.toSatisfy((e) => isBourseError(e, "UNAUTHENTICATED"));
    expect(state.accepted).toBe(0);
  });

  it("refuses a server without the key: a fake UBSCore is not believed", async () => {
    const fake = await echoServer(secureTransport(tcpTransport, link(randomBytes(32))));
    const attempt = secureTransport(tcpTransport, link()).connect(fake.server.address);
    await expect(attempt).rejects.toSatisfy((e) => isBourseError(e, "UNAUTHENTICATED"));
    expect(fake.state.accepted).toBe(0);
  });

  it("refuses a peer of another link, even one holding the same key bytes", async () => {
    const { server, state } = await echoServer(
      secureTransport(tcpTransport, link(KEY, "ubscore", "matching")),
    );
    const attempt = secureTransport(tcpTransport, link(KEY, "gateway", "ubscore")).connect(server.address);
    await expect(attempt).rejects.toSatisfy((e) => isBourseError(e, "UNAUTHENTICATED"));
    expect(state.accepted).toBe(0);
  });

  it("drops a peer that says nothing within the handshake time", async () => {
    const server = await secureTransport(tcpTransport, link(), { handshakeMs: 100 }).listen(
      "127.0.0.1:0",
      () => {
        throw new Error("an unauthenticated peer reached the handler");
      },
    );
    servers.push(server);
    expect(await rawPeer(server.address, [])).toEqual(Buffer.alloc(0));
  });

  it("drops any first message that is not a well-formed HELLO, answering nothing (property)", async () => {
    let reached = 0;
    const server = await secureTransport(tcpTransport, link()).listen("127.0.0.1:0", () => {
      reached++;
    });
    servers.push(server);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }),
        async (frames) => {
          expect((await rawPeer(server.address, frames)).length).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
    expect(reached).toBe(0);
  });

  it("closes a raw peer that announces a frame larger than the transport allows", async () => {
    const server = await secureTransport(tcpTransport, link()).listen("127.0.0.1:0", () => {});
    servers.push(server);
    const [host, port] = ["127.0.0.1", Number(server.address.split(":").pop())];
    const hungUp = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host, port }, () =>
        socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2])),
      );
      socket.on("error", () => {});
      socket.on("close", () => resolve(true));
    });
    expect(hungUp).toBe(true);
  });
});

describe("a man in the middle of an authenticated session", () => {
  /** A client whose raw sends the test can capture and replay, hold back, alter or forge. */
  async function intercepted() {
    const echo = await echoServer(secureTransport(tcpTransport, link()));
    const sent: Buffer[] = [];
    let rawSend!: (m: Uint8Array) => void;
    let hold = false;
    const tap: Transport = {
      listen: tcpTransport.listen,
      async connect(address) {
        const raw = await tcpTransport.connect(address);
        rawSend = raw.send.bind(raw);
        raw.send = (m) => {
          sent.push(Buffer.from(m));
          if (!hold) rawSend(m);
        };
        return raw;
      },
    };
    const client = await secureTransport(tap, link()).connect(echo.server.address);
    const echoed: Buffer[] = [];
    client.onMessage((m) => echoed.push(Buffer.from(m)));
    const roundTrip = async (m: string) => {
      const before = echoed.length;
      client.send(Buffer.from(m));
      await expect.poll(() => echoed.length).toBe(before + 1);
    };
    /** Sends `m` but keeps its sealed record off the wire (records go out at the end of the turn). */
    const capture = async (m: string) => {
      hold = true;
      client.send(Buffer.from(m));
      await new Promise((r) => setImmediate(r));
      hold = false;
      return sent.at(-1)!;
    };
    return { echo, client, sent, rawSend, roundTrip, capture };
  }

  it("carries what one turn sends as one record, and what a later turn sends as the next", async () => {
    const { echo, client, sent } = await intercepted();
    const before = sent.length;
    for (const m of ["a", "b", "c"]) client.send(Buffer.from(m));
    await expect.poll(() => echo.state.received.map(String)).toEqual(["a", "b", "c"]);
    expect(sent.length).toBe(before + 1);
    client.send(Buffer.from("d"));
    await expect.poll(() => echo.state.received.length).toBe(4);
    expect(sent.length).toBe(before + 2);
  });

  it("refuses a replayed message: the server closes and delivers it once", async () => {
    const { echo, client, sent, rawSend, roundTrip } = await intercepted();
    await roundTrip("cancel order 5");
    const closed = closedOf(client);
    rawSend(sent.at(-1)!);
    await closed;
    expect(echo.state.received.map(String)).toEqual(["cancel order 5"]);
  });

  it("refuses reordered messages", async () => {
    const { echo, client, rawSend, capture } = await intercepted();
    const first = await capture("first");
    const second = await capture("second");
    const closed = closedOf(client);
    rawSend(second);
    rawSend(first);
    await closed;
    expect(echo.state.received).toEqual([]);
  });

  it("refuses an altered message and an injected one", async () => {
    for (const forge of [
      (last: Buffer) => Buffer.from(last.map((b, i) => (i === 0 ? b ^ 1 : b))),
      () => randomBytes(48),
    ]) {
      const { echo, client, rawSend, capture } = await intercepted();
      const record = await capture("place 1 BTC");
      const closed = closedOf(client);
      rawSend(forge(record));
      await closed;
      expect(echo.state.received).toEqual([]);
    }
  });
});

describe("the authenticated link over Aeron IPC, through the real media driver", () => {
  let driver: MediaDriver;
  let client: AeronClient;
  beforeAll(async () => {
    driver = await startMediaDriver();
    client = await AeronClient.connect({ dir: driver.dir });
  }, 300_000);
  afterAll(async () => {
    await client?.close();
    await driver?.stop();
  });

  it("an Aeron peer without the key reaches no handler, gets no answer, and is dropped", async () => {
    const aeron = aeronTransport(client, { connectTimeoutMs: 2_000 });
    let reached = 0;
    const server = await secureTransport(aeron, link()).listen("0", () => {
      reached++;
    });
    servers.push(server);
    // A stranger that speaks Aeron's own HELLO/WELCOME but not the link: junk, then a forged proof.
    for (const junk of [
      Uint8Array.of(1),
      Buffer.concat([Buffer.of(1), randomBytes(32), Buffer.from("gateway-ubscore"), randomBytes(8)]),
    ]) {
      const stranger = await aeron.connect(server.address);
      const answers: Uint8Array[] = [];
      stranger.onMessage((m) => answers.push(m));
      const closed = closedOf(stranger);
      stranger.send(junk);
      await closed;
      expect(answers).toEqual([]);
    }
    // A peer with another key is refused; one with the key is served.
    await expect(secureTransport(aeron, link(randomBytes(32))).connect(server.address)).rejects.toSatisfy(
      (e) => isBourseError(e, "UNAUTHENTICATED"),
    );
    expect(reached).toBe(0);
    const honest = await secureTransport(aeron, link()).connect(server.address);
    await expect.poll(() => reached).toBe(1);
    honest.close();
  });

  it("a peer cannot make a server hold more than one message's worth of parts", async () => {
    const aeron = aeronTransport(client, { connectTimeoutMs: 2_000 });
    let delivered = 0;
    let refused: Error | undefined;
    const server = await aeron.listen("0", (ch) => {
      ch.onMessage(() => delivered++);
      ch.onClose((e) => {
        refused = e;
      });
    });
    servers.push(server);
    const peer = await aeron.connect(server.address);
    const closed = closedOf(peer);
    peer.send(new Uint8Array(65 * 1024 * 1024));
    await closed;
    expect(refused).toMatchObject({ code: "MESSAGE_TOO_LONG" });
    expect(delivered).toBe(0);
  });
});
