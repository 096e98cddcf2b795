import type { BourseConfig } from "../../config/src/index.ts";
import type { Transport } from "../../transport/src/index.ts";
import { AeronClient, aeronTransport, linkTransport, tcpTransport } from "../../transport/src/index.ts";

/** One side of a hop: the transport, where the server listens and where clients dial. */
export interface Endpoint {
  readonly transport: Transport;
  readonly listen: string;
  readonly address: string;
}

/**
 * The configured hot-path transport: Aeron IPC/UDP through the media driver, or TCP. It carries
 * gateways <-> UBSCore (`ubscore`) and, with matching.kind service, UBSCore <-> matching
 * (`matching`, on its own stream and channel), each an authenticated link with its own key
 * (transport/src/link-keys.ts).
 */
export interface HotPath {
  readonly ubscore: Endpoint;
  readonly matching?: Endpoint;
  /** Resolves if the transport fails for good (the media driver died): the process must restart. */
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

/** Where a gateway finds UBSCore, for messages. */
export function upstreamOf(config: BourseConfig): string {
  const t = config.transport;
  return t.kind === "aeron" ? `Aeron stream ${t.stream} (${t.dir})` : config.ubscore.address;
}

export async function openHotPath(config: BourseConfig): Promise<HotPath> {
  const { transport: t, matching: m } = config;
  const toUbsCore = (inner: Transport) => linkTransport(config, inner, "gateway", "ubscore");
  const toMatching = (inner: Transport) => linkTransport(config, inner, "ubscore", "matching");
  if (t.kind === "tcp") {
    return {
      ubscore: {
        transport: toUbsCore(tcpTransport),
        listen: config.ubscore.listen,
        address: config.ubscore.address,
      },
      matching:
        m.kind === "service"
          ? { transport: toMatching(tcpTransport), listen: m.listen, address: m.address }
          : undefined,
      lost: new Promise<Error>(() => {}),
      close: async () => {},
    };
  }
  let onLost!: (e: Error) => void;
  const lost = new Promise<Error>((resolve) => {
    onLost = resolve;
  });
  const client = await AeronClient.connect({ dir: t.dir, onError: onLost });
  const stream = (id: number, channel: string, secure: (inner: Transport) => Transport): Endpoint => ({
    transport: secure(aeronTransport(client, { channel, replyChannel: t.replyChannel })),
    listen: String(id),
    address: String(id),
  });
  return {
    ubscore: stream(t.stream, t.channel, toUbsCore),
    matching: m.kind === "service" ? stream(m.stream, m.channel ?? t.channel, toMatching) : undefined,
    lost,
    close: () => client.close(),
  };
}
