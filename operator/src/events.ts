import { hostname } from "node:os";
import { type Exchange, microTime } from "./exchange.ts";
import type { KubeClient } from "./kube-client.ts";

/**
 * Kubernetes Events (events.k8s.io/v1) about an Exchange, shown by `kubectl describe` and
 * `kubectl events`. The same event again (same object, type, reason and note) within the series
 * window is not a new object but a count on the first one (its `series`), so a reconcile failing
 * every few seconds makes one event that counts, not thousands. Recording is best effort: a lost
 * event must never fail a reconcile.
 */
const SERIES_WINDOW_MS = 30 * 60_000;
/** Series remembered at most; the oldest is forgotten first (its next repeat starts a new event). */
const MAX_SERIES = 1000;

interface Series {
  readonly name: string;
  readonly count: number;
  readonly first: number;
}

export class EventRecorder {
  readonly instance = `${hostname()}-${process.pid}`;
  /** Per event key, the series so far, chained so that repeats are counted in order. */
  private readonly series = new Map<string, Promise<Series | undefined>>();

  constructor(
    private readonly kube: KubeClient,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  normal(ex: Exchange, reason: string, note: string): void {
    this.record(ex, "Normal", reason, note);
  }

  warning(ex: Exchange, reason: string, note: string): void {
    this.record(ex, "Warning", reason, note);
  }

  /** Resolves once every event recorded so far is written (or given up). */
  async settled(): Promise<void> {
    await Promise.all(this.series.values());
  }

  private record(ex: Exchange, type: "Normal" | "Warning", reason: string, note: string): void {
    const key = [ex.metadata.uid, type, reason, note].join("\0");
    const before = this.series.get(key) ?? Promise.resolve(undefined);
    this.series.delete(key);
    const next = before
      .then((seen) =>
        seen && this.now() - seen.first < SERIES_WINDOW_MS
          ? this.repeat(ex, seen)
          : this.create(ex, type, reason, note),
      )
      .catch((e) => {
        this.onError(e);
        return undefined;
      });
    this.series.set(key, next);
    if (this.series.size > MAX_SERIES) this.series.delete(this.series.keys().next().value as string);
  }

  private async create(ex: Exchange, type: string, reason: string, note: string): Promise<Series> {
    const { name, namespace, uid } = ex.metadata;
    const created = await this.kube.create<{ metadata: { name: string } }>({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { generateName: `${name}-`, namespace } as never,
      eventTime: microTime(new Date(this.now())),
      reportingController: "bourse.dev/operator",
      reportingInstance: this.instance,
      action: reason,
      reason,
      note: note.slice(0, 1024),
      type,
      regarding: { apiVersion: ex.apiVersion, kind: ex.kind, name, namespace, uid },
    });
    return { name: created.metadata.name, count: 1, first: this.now() };
  }

  private async repeat(ex: Exchange, seen: Series): Promise<Series> {
    const count = seen.count + 1;
    await this.kube.mergePatch(
      `/apis/events.k8s.io/v1/namespaces/${ex.metadata.namespace}/events/${seen.name}`,
      { series: { count, lastObservedTime: microTime(new Date(this.now())) } },
    );
    return { ...seen, count };
  }
}
