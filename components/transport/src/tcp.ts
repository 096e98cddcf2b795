import { createServer, connect as netConnect, type Socket } from "node:net";
import { ChannelHandlers } from "./channel-handlers.ts";
import type { Channel, Transport, TransportServer } from "./port.ts";

/**
 * The transport over TCP on loopback: each message is a u32 little-endian length and the bytes.
 * Nagle is off (small messages go out at once). A stand-in for Aeron IPC with the same port.
 */
const MAX_MESSAGE = 64 * 1024 * 1024;

class TcpChannel implements Channel {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly handlers = new ChannelHandlers();

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("error", (e) => this.finish(e));
    socket.on("close", () => this.finish());
  }

  send(message: Uint8Array): void {
    if (this.handlers.closed) return;
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(message.length, 0);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(message);
    process.nextTick(() => this.socket.uncork());
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.handlers.onMessage(handler);
  }

  onClose(handler: (error?: Error) => void): void {
    this.handlers.onClose(handler);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
    this.finish();
  }

  private receive(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < 4) return;
    let data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    let o = 0;
    while (data.length - o >= 4) {
      const length = data.readUInt32LE(o);
      if (length > MAX_MESSAGE) {
        this.finish(new Error(`transport message of ${length} bytes exceeds ${MAX_MESSAGE}`));
        this.socket.destroy();
        return;
      }
      if (data.length - o - 4 < length) break;
      const message = data.subarray(o + 4, o + 4 + length);
      o += 4 + length;
      this.handlers.deliver(message);
    }
    data = data.subarray(o);
    this.buffered = data.length > 0 ? [data] : [];
    this.bufferedBytes = data.length;
  }

  private finish(error?: Error): void {
    this.handlers.finish(error);
  }
}

function split(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`transport address must be host:port, got ${address}`);
  }
  return { host: address.slice(0, i), port };
}

export const tcpTransport: Transport = {
  listen(address, onChannel) {
    const { host, port } = split(address);
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      onChannel(new TcpChannel(socket));
    });
    return new Promise<TransportServer>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        const bound = server.address();
        const actual = typeof bound === "object" && bound ? bound.port : port;
        resolve({
          address: `${host}:${actual}`,
          close: () =>
            new Promise<void>((r) => {
              for (const s of sockets) s.destroy();
              server.close(() => r());
            }),
        });
      });
    });
  },

  connect(address) {
    const { host, port } = split(address);
    return new Promise<Channel>((resolve, reject) => {
      const socket = netConnect({ host, port });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new TcpChannel(socket));
      });
      socket.once("error", reject);
    });
  },
};
