/**
 * What a starting process has opened, to be closed newest first: when a later step fails (so no
 * server, lease, journal or connection a failed start opened keeps running) and when the process
 * closes.
 */
export class ClosingStack {
  private readonly entries: { readonly opened: unknown; readonly close: () => unknown }[] = [];

  /** Runs `open` and remembers how to close what it gave; if it fails, closes all opened so far. */
  async open<T>(open: () => Promise<T> | T, close: (opened: T) => unknown): Promise<T> {
    let opened: T;
    try {
      opened = await open();
    } catch (e) {
      await this.close().catch(() => {
        // The start's own error is the one to report.
      });
      throw e;
    }
    this.entries.push({ opened, close: () => close(opened) });
    return opened;
  }

  /** Runs the steps of a start; if one throws, closes all they opened, then throws its error. */
  async closedOnFailure<T>(steps: () => Promise<T>): Promise<T> {
    try {
      return await steps();
    } catch (e) {
      await this.close().catch(() => {
        // The start's own error is the one to report.
      });
      throw e;
    }
  }

  /** Remembers how to undo something already done (a timer, a subscription). */
  defer(close: () => unknown): void {
    this.entries.push({ opened: close, close });
  }

  /** `opened` now belongs to what it was handed to, which closes it: this stack forgets it. */
  handedOver(...opened: unknown[]): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (opened.includes(this.entries[i]!.opened)) this.entries.splice(i, 1);
    }
  }

  /** Closes everything opened, newest first; every closer runs, the first failure is thrown. */
  async close(): Promise<void> {
    let failure: unknown;
    for (let entry = this.entries.pop(); entry; entry = this.entries.pop()) {
      try {
        await entry.close();
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
