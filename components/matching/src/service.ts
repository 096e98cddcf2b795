import { crashOnViolation } from "../../domain/src/index.ts";
import { matchingMetrics, secondsSince } from "../../observability/src/index.ts";
import type { Channel, Transport, TransportServer } from "../../transport/src/index.ts";
import { MatchingEngine } from "./engine.ts";
import { decodeCommandMessage, decodeHandover, encodeOutcome, MatchingMessage, messageType } from "./wire.ts";

export interface MatchingServiceOptions {
  readonly transport: Transport;
  readonly listen: string;
  /** Each market's id and its quote units per (tick x lot). */
  readonly markets: readonly { readonly id: number; readonly quotePerTickLot: number }[];
  /** Checks each book's structure after every command (slow; for finding bugs). */
  readonly verify?: boolean;
}

/**
 * `bourse matching`: the order books of every market, run for UBSCore. It keeps nothing on disk:
 * UBSCore journals each command it forwards and each outcome it gets back, and whenever it
 * connects it hands over the books (HANDOVER) and sends again every command still unanswered,
 * so a restart of either side resumes from UBSCore's journal. One UBSCore is served at a time:
 * a new connection that hands over (UBSCore restarted, or moved) replaces the old one.
 */
export class MatchingService {
  private session: Channel | undefined;
  private engines = new Map<number, MatchingEngine>();
  /** The sequence each market's next command must carry. */
  private expected = new Map<number, number>();
  private server!: TransportServer;
  /** Commands matched since start, and handovers taken (for the logs and tests). */
  commands = 0;
  handovers = 0;

  private constructor(
    private readonly markets: MatchingServiceOptions["markets"],
    private readonly verify: boolean,
  ) {
    const m = matchingMetrics();
    this.untrack = [
      m.commands.track(() => this.commands),
      m.handovers.track(() => this.handovers),
      m.connected.track(() => (this.session ? 1 : 0)),
    ];
  }

  private readonly untrack: (() => void)[];
  private readonly execute = matchingMetrics().execute;

  /** Serving a UBSCore (a session holds the books): what its readiness reports. */
  get connected(): boolean {
    return this.session !== undefined;
  }

  static async start(options: MatchingServiceOptions): Promise<MatchingService> {
    const service = new MatchingService(options.markets, options.verify ?? false);
    service.server = await options.transport.listen(options.listen, (channel) => service.accept(channel));
    return service;
  }

  get address(): string {
    return this.server.address;
  }

  async close(): Promise<void> {
    for (const stop of this.untrack) stop();
    this.session?.close();
    await this.server.close();
  }

  /**
   * A connection becomes the session with its first message, a handover (UBSCore's); anything
   * else (a probe, a stray peer) is dropped without disturbing the UBSCore being served.
   */
  private accept(channel: Channel): void {
    channel.onClose(() => {
      if (this.session === channel) this.session = undefined;
    });
    channel.onMessage((message) => {
      // A message that does not decode, or out of sequence, ends the session: UBSCore
      // reconnects and hands over afresh, which puts both sides back in step.
      try {
        if (this.session === channel) this.receive(channel, message);
        else this.takeOver(channel, message);
      } catch (e) {
        crashOnViolation(e);
        channel.close();
      }
    });
  }

  private receive(channel: Channel, message: Uint8Array): void {
    switch (messageType(message)) {
      case MatchingMessage.Command: {
        const { marketId, seq, command } = decodeCommandMessage(message);
        const engine = this.engines.get(marketId);
        if (!engine || seq !== this.expected.get(marketId))
          throw new Error(`market ${marketId}: unexpected ${seq}`);
        engine.events.clear();
        const start = performance.now();
        engine.execute(command);
        this.execute.observe(secondsSince(start));
        if (this.verify) engine.checkInvariants();
        this.expected.set(marketId, seq + 1);
        this.commands++;
        channel.send(encodeOutcome(marketId, seq, engine.events.data, engine.events.count));
        return;
      }
      default:
        throw new Error("unknown message");
    }
  }

  /** A (re)connected UBSCore's books: this channel is the session from now on. */
  private takeOver(channel: Channel, message: Uint8Array): void {
    if (messageType(message) !== MatchingMessage.Handover) throw new Error("not a handover");
    const engines = new Map<number, MatchingEngine>();
    const expected = new Map<number, number>();
    for (const book of decodeHandover(message)) {
      const market = this.markets.find((m) => m.id === book.marketId);
      // Both sides must run the same markets, or fills would move other amounts than UBSCore froze.
      if (!market || market.quotePerTickLot !== book.quotePerTickLot) {
        throw new Error(`market ${book.marketId} differs from this service's configuration`);
      }
      engines.set(
        market.id,
        MatchingEngine.restore(book.snapshot, { quotePerTickLot: market.quotePerTickLot }),
      );
      expected.set(market.id, book.matched + 1);
    }
    const previous = this.session;
    this.session = channel;
    this.engines = engines;
    this.expected = expected;
    this.handovers++;
    previous?.close();
  }
}
