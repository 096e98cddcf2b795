import { hostname } from "node:os";
import { type Exchange, microTime } from "./exchange.ts";
import type { KubeClient } from "./kube-client.ts";

/**
 * Kubernetes Events (events.k8s.io/v1) about an Exchange, shown by `kubectl describe` and
 * `kubectl events`. Recording is best effort: a lost event must never fail a reconcile.
 */
export class EventRecorder {
  readonly instance = `${hostname()}-${process.pid}`;

  constructor(
    private readonly kube: KubeClient,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  normal(ex: Exchange, reason: string, note: string): void {
    this.record(ex, "Normal", reason, note);
  }

  warning(ex: Exchange, reason: string, note: string): void {
    this.record(ex, "Warning", reason, note);
  }

  private record(ex: Exchange, type: "Normal" | "Warning", reason: string, note: string): void {
    const { name, namespace, uid } = ex.metadata;
    this.kube
      .create({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { generateName: `${name}-`, namespace } as never,
        eventTime: microTime(),
        reportingController: "bourse.dev/operator",
        reportingInstance: this.instance,
        action: reason,
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: { apiVersion: ex.apiVersion, kind: ex.kind, name, namespace, uid },
      })
      .catch(this.onError);
  }
}
