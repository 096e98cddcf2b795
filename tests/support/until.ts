export interface UntilOptions {
  /** How long before it fails (a limit that only stops a test that would otherwise hang). */
  readonly timeoutMs?: number;
  readonly everyMs?: number;
  /** A probe that throws counts as not yet (a server still starting); its last error is reported. */
  readonly retryErrors?: boolean;
}

/**
 * Polls `probe` until it gives a value (anything but `undefined` or `false`) and returns it; after
 * `timeoutMs` fails, naming `what`. Tests never assert timings: the limit is only a backstop.
 */
export async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  { timeoutMs = 10_000, everyMs = 10, retryErrors = false }: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (!retryErrors) throw e;
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
