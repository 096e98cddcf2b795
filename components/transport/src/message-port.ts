import { MessageChannel, type MessagePort } from "node:worker_threads";
import { ChannelHandlers } from "./channel-handlers.ts";
import type { Channel, Transport, TransportServer } from "./port.ts";

/**
 * The transport between the threads of one process: each channel is a MessageChannel, one end of
 * which may be handed to a worker thread (`openPort`) and wrapped there by `messagePortChannel`.
 * No socket is opened, so nothing outside the process can reach it; the messages are copied
 * (the sender may send one buffer to several channels).
 */
export class MessagePortTransport implements Transport {
  private readonly listeners = new Map<string, (channel: Channel) => void>();

  async listen(address: string, onChannel: (channel: Channel) => void): Promise<TransportServer> {
    if (this.listeners.has(address)) throw new Error(`${address} already has a listener`);
    this.listeners.set(address, onChannel);
    return {
      address,
      close: async () => {
        this.listeners.delete(address);
      },
    };
  }

  async connect(address: string): Promise<Channel> {
    return messagePortChannel(this.openPort(address));
  }

  /** A channel to the listener at `address`; the returned end may be transferred to a worker. */
  openPort(address: string): MessagePort {
    const onChannel = this.listeners.get(address);
    if (!onChannel) throw new Error(`nothing listens at ${address}`);
    const { port1, port2 } = new MessageChannel();
    onChannel(messagePortChannel(port1));
    return port2;
  }
}

/** One end of a MessageChannel as a Channel: the side a worker thread was given. */
export function messagePortChannel(port: MessagePort): Channel {
  const handlers = new ChannelHandlers();
  port.on("message", (message: Uint8Array) => handlers.deliver(message));
  port.on("close", () => handlers.finish());
  return {
    send: (message) => {
      if (!handlers.closed) port.postMessage(message);
    },
    onMessage: (handler) => handlers.onMessage(handler),
    onClose: (handler) => handlers.onClose(handler),
    close: () => {
      port.close();
      handlers.finish();
    },
  };
}
