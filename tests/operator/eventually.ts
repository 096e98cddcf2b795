/**
 * Polls until `probe` holds. Generous: on a CI machine running the fault and soak suites beside
 * this one, a reconcile (tens of API calls against an etcd that fsyncs on the same disk) has
 * taken long enough for two of them in a row to pass 30 s.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
