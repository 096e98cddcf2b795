/**
 * The hot-path transport between Bourse processes: ordered, reliable, message-framed duplex
 * channels. The loopback TCP adapter (tcp.ts) implements it today; the Aeron IPC client will
 * implement the same port (issue: Aeron transport), and both run the same conformance suite.
 */
export interface Channel {
  /** Queues one message; messages arrive whole and in order, or the channel closes. */
  send(message: Uint8Array): void;
  onMessage(handler: (message: Uint8Array) => void): void;
  /** Called once when the channel closes, from either side or by a failure. */
  onClose(handler: (error?: Error) => void): void;
  close(): void;
}

export interface TransportServer {
  /** Where clients connect (host:port for TCP). */
  readonly address: string;
  close(): Promise<void>;
}

export interface Transport {
  listen(address: string, onChannel: (channel: Channel) => void): Promise<TransportServer>;
  connect(address: string): Promise<Channel>;
}
