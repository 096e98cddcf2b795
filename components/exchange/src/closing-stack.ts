/**
 * What a starting process has opened, to be closed newest first: when a later step fails (so no
 * server, lease or connection a failed start opened keeps running) and when the process closes.
 */
export class ClosingStack {
  private readonly closers: (() => unknown)[] = [];

  /** Runs `open` and remembers how to close what it gave; if it fails, closes all opened so far. */
  async open<T>(open: () => Promise<T>, close: (opened: T) => unknown): Promise<T> {
    let opened: T;
    try {
      opened = await open();
    } catch (e) {
      await this.close().catch(() => {
        // The start's own error is the one to report.
      });
      throw e;
    }
    this.closers.push(() => close(opened));
    return opened;
  }

  /** Closes everything opened, newest first; every closer runs, the first failure is thrown. */
  async close(): Promise<void> {
    let failure: unknown;
    for (let closer = this.closers.pop(); closer; closer = this.closers.pop()) {
      try {
        await closer();
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
