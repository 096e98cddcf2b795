import type { Worker } from "node:worker_threads";
import {
  combineFamilies,
  countsOf,
  ForwardedMetrics,
  type MetricFamily,
} from "../../observability/src/index.ts";
import type { ToGatewayThread } from "./gateway-threads.ts";

/**
 * How long a scrape waits for a thread's answer before taking what it answered last: a thread
 * busy that long serves nobody either, and Prometheus gives up on a scrape after 10 s by default.
 */
const ANSWER_WITHIN_MS = 2_000;

/**
 * The gateway threads' metrics (bourse_gateway_*: each thread has a registry of its own) in the
 * process's /metrics, read from every thread at each scrape and combined family by family, label
 * set by label set: counters, histograms (buckets, sums and counts) and the WebSocket gauges
 * summed, the replica gauges by their own aggregator (metrics.ts).
 *
 * A thread that ends (replaced) leaves its counters and histograms as they were last read, added
 * into every later scrape, so that the sums over the threads only grow as counters must. Dropped,
 * they would make a sum fall by the ended thread's counts, which Prometheus takes for a reset of
 * the whole counter: rate() and increase() would count the other threads' totals again as new.
 * What a thread counted after its last reading is lost with it (an undercount, never a fall); its
 * gauges (connections, its replica) end with it.
 */
export class GatewayThreadMetrics {
  /** What each serving thread answered last. */
  private readonly lastRead = new Map<Worker, MetricFamily[]>();
  /** The counts of the threads that ended, combined. */
  private retired: MetricFamily[] = [];
  private readonly asked = new Map<number, { worker: Worker; answer: (f?: MetricFamily[]) => void }>();
  private nextAsk = 1;
  readonly forwarded = new ForwardedMetrics(() => this.read());

  /** A thread that serves: read at every scrape from now on. */
  add(worker: Worker): void {
    this.lastRead.set(worker, []);
  }

  /** A thread's answer to `ask`. */
  answered(id: number, families: MetricFamily[]): void {
    this.asked.get(id)?.answer(families);
  }

  /** A thread that ended: its counts as last read stay in the sums. */
  retire(worker: Worker): void {
    const last = this.lastRead.get(worker);
    if (!last) return;
    this.lastRead.delete(worker);
    this.retired = combineFamilies([this.retired, countsOf(last)]);
    for (const ask of this.asked.values()) if (ask.worker === worker) ask.answer();
  }

  private async read(): Promise<MetricFamily[]> {
    await Promise.all([...this.lastRead.keys()].map((worker) => this.refresh(worker)));
    // Each thread's counts are in one place, whichever ended meanwhile: its last reading or retired.
    return combineFamilies([this.retired, ...this.lastRead.values()]);
  }

  private async refresh(worker: Worker): Promise<void> {
    const families = await this.ask(worker);
    if (families && this.lastRead.has(worker)) this.lastRead.set(worker, families);
  }

  /** The thread's families now; none if it ends or does not answer in time. */
  private ask(worker: Worker): Promise<MetricFamily[] | undefined> {
    const id = this.nextAsk++;
    return new Promise((resolve) => {
      const answer = (families?: MetricFamily[]) => {
        clearTimeout(timer);
        this.asked.delete(id);
        resolve(families);
      };
      const timer = setTimeout(answer, ANSWER_WITHIN_MS);
      this.asked.set(id, { worker, answer });
      worker.postMessage({ kind: "metrics", id } satisfies ToGatewayThread);
    });
  }
}
