import {
  decodeOutcome,
  encodeCommandMessage,
  encodeHandover,
  MatchingMessage,
  messageType,
} from "../../matching/src/index.ts";
import type { Channel, Transport } from "../../transport/src/index.ts";
import { dial } from "../../transport/src/index.ts";
import type { UbsCoreService } from "./service.ts";

/**
 * UBSCore's connection to `bourse matching` (matching.kind service). On every connection it
 * hands the books over and sends again the commands still unanswered, then forwards each new
 * order command as UBSCore journals it; outcomes go to the service, which journals and applies
 * them. Lost, it reconnects (matching restarting); meanwhile commands wait in UBSCore's state
 * and go out with the next handover.
 */
export class MatchingLink {
  private channel: Channel | undefined;
  private stopped = false;
  /**
   * The wait before the next connection: doubled while connections end soon after they start
   * (matching refusing the handover, say), so UBSCore does not build handovers in a loop.
   */
  private retryMs = 0;

  private constructor(
    private readonly service: UbsCoreService,
    private readonly transport: Transport,
    private readonly address: string,
  ) {}

  static start(service: UbsCoreService, transport: Transport, address: string): MatchingLink {
    const link = new MatchingLink(service, transport, address);
    service.connectMatching(
      (f) => link.channel?.send(encodeCommandMessage(f)),
      () => link.channel?.close(),
    );
    void link.connect();
    return link;
  }

  close(): void {
    this.stopped = true;
    this.channel?.close();
  }

  private async connect(): Promise<void> {
    if (this.retryMs > 0) await new Promise((r) => setTimeout(r, this.retryMs));
    const channel = await dial(this.transport, this.address, { stopped: () => this.stopped });
    if (!channel) return;
    if (this.stopped) return channel.close();
    channel.onMessage((message) => {
      // Anything but the next outcome is a broken peer: drop it, reconnect, hand over afresh.
      try {
        if (messageType(message) !== MatchingMessage.Outcome) throw new Error("not an outcome");
        if (!this.service.receiveOutcome({ kind: "matched", ...decodeOutcome(message) })) {
          throw new Error("outcome out of sequence");
        }
      } catch {
        channel.close();
      }
    });
    const opened = Date.now();
    let closed = false;
    channel.onClose(() => {
      closed = true;
      if (this.channel === channel) this.channel = undefined;
      this.retryMs = Date.now() - opened < 1_000 ? Math.min(2_000, Math.max(50, this.retryMs * 2)) : 0;
      if (!this.stopped) void this.connect();
    });
    // In one turn: no command is forwarded between the handover and the channel taking over.
    const { books, pending } = this.service.handover();
    channel.send(encodeHandover(books));
    for (const f of pending) channel.send(encodeCommandMessage(f));
    if (closed) return;
    this.channel = channel;
  }
}
