import type { Channel } from "./port.ts";

/**
 * The listener bookkeeping every Channel adapter shares: message handlers, and close handlers
 * that run once (at once for one registered after the close).
 */
export class ChannelHandlers implements Pick<Channel, "onMessage" | "onClose"> {
  private readonly messageHandlers: ((message: Uint8Array) => void)[] = [];
  private readonly closeHandlers: ((error?: Error) => void)[] = [];
  private done = false;

  get closed(): boolean {
    return this.done;
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.messageHandlers.push(handler);
  }

  onClose(handler: (error?: Error) => void): void {
    if (this.done) handler();
    else this.closeHandlers.push(handler);
  }

  deliver(message: Uint8Array): void {
    for (const h of this.messageHandlers) h(message);
  }

  /** Marks the channel closed and tells its close handlers; false if it already was. */
  finish(error?: Error): boolean {
    if (this.done) return false;
    this.done = true;
    for (const h of this.closeHandlers.splice(0)) h(error);
    return true;
  }
}
