import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MediaDriver, startMediaDriver } from "../../../tests/infra/aeron.ts";
import { freePort } from "../../../tests/infra/ports.ts";
import { AeronClient } from "../aeron/src/client.ts";
import { aeronTransport } from "../aeron/src/transport.ts";
import { secureTransport } from "../src/link.ts";
import { MessagePortTransport } from "../src/message-port.ts";
import type { Channel, Transport } from "../src/port.ts";
import { tcpTransport } from "../src/tcp.ts";

/** What every transport adapter must do: loopback TCP and Aeron IPC run the same cases. */
function conformance(name: string, adapter: () => Transport, address: string) {
  describe(`${name} transport`, () => {
    let transport: Transport;
    // A fresh adapter per case: an address may be listened at by one server at a time.
    beforeEach(() => {
      transport = adapter();
    });

    it("delivers messages whole and in order both ways, including empty and large ones", async () => {
      const received: Uint8Array[] = [];
      let serverSide!: Channel;
      const server = await transport.listen(address, (ch) => {
        serverSide = ch;
        ch.onMessage((m) => ch.send(m)); // echo
      });
      const client = await transport.connect(server.address);
      const done = new Promise<void>((resolve) =>
        client.onMessage((m) => {
          received.push(new Uint8Array(m));
          if (received.length === 1002) resolve();
        }),
      );
      const sent = [new Uint8Array(0), new Uint8Array(3 * 1024 * 1024).fill(7)];
      for (let i = 0; i < 1000; i++) sent.push(new Uint8Array([i & 0xff, (i >> 8) & 0xff, 42]));
      for (const m of sent) client.send(m);
      await done;
      // Byte comparison: a deep equality over 3 MB of elements takes seconds.
      expect(received.length).toBe(sent.length);
      received.forEach((m, i) => {
        expect(Buffer.compare(m, sent[i]!)).toBe(0);
      });
      expect(serverSide).toBeDefined();
      client.close();
      await server.close();
    });

    it("reports a closed peer to the other side", async () => {
      const closed = new Promise<void>((resolve, reject) => {
        void transport
          .listen(address, (ch) => ch.onClose(() => resolve()))
          .then(async (server) => {
            const client = await transport.connect(server.address);
            client.close();
            setTimeout(() => void server.close(), 1000).unref();
          }, reject);
      });
      await closed;
    });

    it("fails to connect where nothing listens", async () => {
      const server = await transport.listen(address, () => {});
      const where = server.address;
      await server.close();
      await expect(transport.connect(where)).rejects.toThrow();
    });
  });
}

/** The authenticated link over an adapter passes the same cases. */
const key = randomBytes(32);
const secured = (inner: Transport) =>
  secureTransport(inner, { client: "gateway", server: "ubscore", key: async () => key });

conformance("loopback TCP", () => tcpTransport, "127.0.0.1:0");
conformance("authenticated link over loopback TCP", () => secured(tcpTransport), "127.0.0.1:0");
// Between the threads of one process (the embedded exchange's gateway threads).
conformance("MessagePort", () => new MessagePortTransport(), "gateways");

describe("over the real Aeron media driver", () => {
  let driver: MediaDriver;
  let client: AeronClient;
  // Between pods each side has its own endpoint; here both are on loopback through one driver.
  let udp: { channel: string; replyChannel: string };
  beforeAll(async () => {
    driver = await startMediaDriver();
    client = await AeronClient.connect({ dir: driver.dir });
    udp = {
      channel: `aeron:udp?endpoint=127.0.0.1:${await freePort()}`,
      replyChannel: `aeron:udp?endpoint=127.0.0.1:${await freePort()}`,
    };
  });
  afterAll(async () => {
    await client?.close();
    await driver?.stop();
  });
  conformance("Aeron IPC", () => aeronTransport(client, { connectTimeoutMs: 2_000 }), "0");
  conformance("Aeron UDP", () => aeronTransport(client, { ...udp, connectTimeoutMs: 2_000 }), "0");
  conformance(
    "authenticated link over Aeron IPC",
    () => secured(aeronTransport(client, { connectTimeoutMs: 2_000 })),
    "0",
  );
  conformance(
    "authenticated link over Aeron UDP",
    () => secured(aeronTransport(client, { ...udp, connectTimeoutMs: 2_000 })),
    "0",
  );
});
