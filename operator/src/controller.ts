import { API_VERSION, type KubeObject } from "./exchange.ts";
import { collectionPath, type KubeClient, KubeError } from "./kube-client.ts";
import type { Metrics } from "./metrics.ts";
import type { Reconciler } from "./reconciler.ts";
import { MANAGED_SELECTOR } from "./resources.ts";

/**
 * Every kind the operator owns, watched so that an owned object changed or deleted by hand is put
 * back by the next pass (not by the resync, minutes later): workloads for status, the rest for drift.
 */
const OWNED_KINDS: [string, string][] = [
  ["apps/v1", "StatefulSet"],
  ["apps/v1", "Deployment"],
  ["v1", "Service"],
  ["v1", "ConfigMap"],
  ["policy/v1", "PodDisruptionBudget"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
];

/**
 * Watches Exchanges and the objects they own and reconciles each changed Exchange, one pass at
 * a time per Exchange. A watch is list + watch from the list's resourceVersion; when the server
 * says that version is gone (410) it relists, on any other failure it retries after a jittered
 * backoff, so it never silently stops. Failed reconciles are retried with per-key exponential
 * backoff, and every Exchange is reconciled again on a resync period regardless.
 */
export interface ControllerOptions {
  /** Watch one namespace, or all when undefined. */
  readonly namespace?: string;
  readonly resyncMs?: number;
  /** How often each Exchange's status is refreshed between passes (lag, readiness reasons). */
  readonly statusRefreshMs?: number;
  readonly log?: (msg: string) => void;
}

/** A queue key that asks for the status alone (Reconciler.refreshStatus), not a whole pass. */
const STATUS = "status:";

export class Controller {
  private readonly queue = new WorkQueue((key) => this.process(key));
  private readonly known = new Set<string>();
  private readonly abort = new AbortController();
  private synced = 0;
  private readonly watches: Promise<void>[] = [];

  constructor(
    private readonly kube: KubeClient,
    private readonly reconciler: Reconciler,
    private readonly metrics: Metrics,
    private readonly options: ControllerOptions = {},
  ) {}

  /** True once every watch has completed its first list. */
  get ready(): boolean {
    return this.synced >= 1 + OWNED_KINDS.length;
  }

  start(): void {
    const ns = this.options.namespace;
    // Exchanges seen are remembered for the periodic resync. A change of the status alone (this
    // operator's own writes, every refresh) needs no pass: only what a pass reads of the Exchange.
    const seen = new Map<string, string>();
    const byExchange = (obj: KubeObject) => {
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      this.known.add(key);
      const { generation, deletionTimestamp, finalizers } = obj.metadata;
      const fingerprint = JSON.stringify([generation, deletionTimestamp, finalizers]);
      if (seen.get(key) === fingerprint) return undefined;
      seen.set(key, fingerprint);
      return key;
    };
    const byOwner = (obj: KubeObject) => {
      const owner = obj.metadata.ownerReferences?.find((r) => r.kind === "Exchange" && r.controller);
      return owner ? `${obj.metadata.namespace}/${owner.name}` : undefined;
    };
    this.watches.push(
      this.watchLoop(collectionPath(API_VERSION, "Exchange", ns), undefined, byExchange),
      ...OWNED_KINDS.map(([apiVersion, kind]) =>
        this.watchLoop(collectionPath(apiVersion, kind, ns), MANAGED_SELECTOR, byOwner),
      ),
    );
    const every = (ms: number, key: (exchange: string) => string) => {
      const timer = setInterval(() => {
        for (const exchange of this.known) this.queue.add(key(exchange));
      }, ms);
      timer.unref();
      this.abort.signal.addEventListener("abort", () => clearInterval(timer));
    };
    every(this.options.resyncMs ?? 300_000, (exchange) => exchange);
    every(this.options.statusRefreshMs ?? 15_000, (exchange) => `${STATUS}${exchange}`);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.watches);
    await this.queue.drain();
  }

  private async process(key: string): Promise<void> {
    if (key.startsWith(STATUS)) {
      const [namespace, name] = key.slice(STATUS.length).split("/") as [string, string];
      return this.reconciler.refreshStatus(namespace, name);
    }
    const [namespace, name] = key.split("/") as [string, string];
    const started = performance.now();
    try {
      const result = await this.reconciler.reconcile(namespace, name);
      if (result === "gone") this.known.delete(key);
      this.metrics.count("bourse_operator_reconciles_total", { result: "success" });
    } catch (e) {
      this.metrics.count("bourse_operator_reconciles_total", { result: "error" });
      this.options.log?.(`reconcile ${key} failed: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    } finally {
      this.metrics.count("bourse_operator_reconcile_seconds_total", {}, (performance.now() - started) / 1000);
      this.metrics.set("bourse_operator_queue_depth", this.queue.depth);
    }
  }

  private async watchLoop(
    path: string,
    labelSelector: string | undefined,
    keyOf: (obj: KubeObject) => string | undefined,
  ): Promise<void> {
    const signal = this.abort.signal;
    const enqueue = (obj: KubeObject) => {
      const key = keyOf(obj);
      if (!key) return;
      this.queue.add(key);
    };
    let failures = 0;
    let firstList = true;
    while (!signal.aborted) {
      try {
        const list = await this.kube.list<KubeObject>(path, labelSelector);
        for (const obj of list.items) enqueue(obj);
        if (firstList) this.synced++;
        firstList = false;
        failures = 0;
        await this.watchUntilExpired(path, labelSelector, list.metadata.resourceVersion, enqueue);
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        this.metrics.count("bourse_operator_watch_restarts_total", { path, cause: "error" });
        this.options.log?.(
          `watch ${path} failed (${failures}): ${e instanceof Error ? e.message : String(e)}`,
        );
        await sleep(jitter(Math.min(30_000, 250 * 2 ** failures)), signal);
      }
    }
  }

  /**
   * Watches from `version` until it expires (410: the caller relists) or the controller stops; a
   * stream the server closes is watched again from the last version seen.
   */
  private async watchUntilExpired(
    path: string,
    labelSelector: string | undefined,
    from: string,
    enqueue: (obj: KubeObject) => void,
  ): Promise<void> {
    const signal = this.abort.signal;
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    let version = from;
    while (!signal.aborted) {
      for await (const event of this.kube.watch<KubeObject & { code?: number }>(
        `${path}${query}`,
        version,
        signal,
      )) {
        if (event.type === "ERROR") {
          expiredOrThrow(event.object);
          this.metrics.count("bourse_operator_watch_restarts_total", { path, cause: "gone" });
          return;
        }
        version = event.object.metadata.resourceVersion ?? version;
        if (event.type !== "BOOKMARK") enqueue(event.object);
      }
    }
  }
}

/** A watch's ERROR event: 410 Gone (the version expired, so relist) returns; anything else is a failure. */
function expiredOrThrow(status: { code?: number }): void {
  if (status.code !== 410) throw new KubeError(status.code ?? 0, "WatchError", JSON.stringify(status));
}

/**
 * Keys to process, each at most once at a time: a key added while it is being processed runs
 * again afterwards (level-triggered, so one more pass covers any number of changes). A failure
 * retries the key after an exponential, jittered delay.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly handle: (key: string) => Promise<void>) {}

  get depth(): number {
    return this.pending.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  async drain(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const key = this.pending.values().next().value as string;
      this.pending.delete(key);
      try {
        await this.handle(key);
        this.failures.delete(key);
      } catch {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            this.add(key);
          },
          jitter(Math.min(60_000, 500 * 2 ** (n - 1))),
        );
        this.timers.add(timer);
      }
    }
  }
}

function jitter(ms: number): number {
  return ms * (0.75 + Math.random() * 0.5);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
