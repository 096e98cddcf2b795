import type { ExchangeHealth } from "./component-health.ts";
import type { Condition, ConditionType, Exchange, ExchangeStatus, KubeObject, Phase } from "./exchange.ts";
import { objectName, PORTS, type Workload } from "./resources.ts";

/**
 * The Exchange's status from what the cluster reports about its workloads: pure, so every
 * transition is unit-tested. Conditions follow Kubernetes conventions: each carries the generation
 * it describes, and lastTransitionTime moves only when its status does.
 */
export interface Observed {
  readonly workloads: readonly Workload[];
  /** The workloads as read from the API server (missing = not created yet). */
  readonly objects: ReadonlyMap<string, KubeObject | undefined>;
  /** Why the last reconcile failed, if it did. */
  readonly error?: { reason: string; message: string };
  /** What the component pods said of themselves (component-health.ts); absent when not asked. */
  readonly health?: ExchangeHealth;
  readonly now: Date;
}

interface WorkloadStatus {
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
}

export function workloadKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/** Ready = the controller has seen the current spec, and every desired replica is updated and ready. */
export function workloadReady(w: Workload, obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  const status = (obj.status ?? {}) as WorkloadStatus;
  if ((status.observedGeneration ?? 0) < (obj.metadata.generation ?? 1)) return false;
  const ready = w.kind === "Deployment" ? status.availableReplicas : status.readyReplicas;
  return (ready ?? 0) >= w.replicas && (status.updatedReplicas ?? 0) >= w.replicas;
}

/** The workloads of a tier not ready yet, by name. */
function waitingIn(observed: Observed, tier: Workload["tier"]): string[] {
  return observed.workloads
    .filter((w) => w.tier === tier && !workloadReady(w, observed.objects.get(workloadKey(w.kind, w.name))))
    .map((w) => w.name);
}

/** Once ready, a workload down keeps the Exchange Degraded (not Provisioning) until all are back. */
function wasReady(previous: readonly Condition[]): boolean {
  return previous.some(
    (c) =>
      (c.type === "Ready" && c.status === "True") ||
      (c.type === "Degraded" && c.status === "True" && c.reason === "WorkloadUnavailable"),
  );
}

/** Makes conditions that keep their lastTransitionTime while their status holds. */
function conditionMaker(ex: Exchange, observed: Observed, unseen: boolean) {
  const previous = ex.status?.conditions ?? [];
  return (type: ConditionType, ok: boolean, reason: string, message: string): Condition => {
    const notSeen = unseen && (type === "InfrastructureReady" || type === "ComponentsReady");
    const status = notSeen ? "Unknown" : ok ? "True" : "False";
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      observedGeneration: ex.metadata.generation,
      lastTransitionTime:
        before && before.status === status ? before.lastTransitionTime : observed.now.toISOString(),
      reason,
      message,
    };
  };
}

/** A tier's condition (InfrastructureReady, ComponentsReady): its reason says which way it stands. */
function tierCondition(
  condition: ReturnType<typeof conditionMaker>,
  type: "InfrastructureReady" | "ComponentsReady",
  waiting: string[],
  unseen: boolean,
  describe: (names: string[]) => string,
): Condition {
  const what = type === "InfrastructureReady" ? "Infrastructure" : "Components";
  const reason = unseen
    ? "ReconcileFailed"
    : waiting.length === 0
      ? `${what}Available`
      : `${what}Provisioning`;
  const message = unseen ? "not observed: the reconcile failed" : describe(waiting);
  return condition(type, waiting.length === 0, reason, message);
}

export function computeStatus(ex: Exchange, observed: Observed): ExchangeStatus {
  const infraWaiting = waitingIn(observed, "infrastructure");
  const componentsWaiting = waitingIn(observed, "component");
  const allWaiting = [...infraWaiting, ...componentsWaiting];
  const ready = allWaiting.length === 0 && !observed.error;
  // A failed pass may have stopped before reading any workload: what it did not see is Unknown,
  // never "all ready" by default.
  const unseen = observed.error !== undefined && observed.workloads.length === 0;
  const condition = conditionMaker(ex, observed, unseen);
  const describe = (what: string) => (names: string[]) =>
    names.length === 0
      ? `all ${what} ready`
      : `waiting for ${names.map(withReason(observed.health)).join(", ")}`;
  const degraded =
    observed.error ??
    (wasReady(ex.status?.conditions ?? []) && !ready
      ? { reason: "WorkloadUnavailable", message: describe("")(allWaiting) }
      : undefined);
  const conditions = [
    condition(
      "Ready",
      ready,
      observed.error?.reason ?? (ready ? "Running" : "Provisioning"),
      observed.error?.message ?? describe("workloads")(allWaiting),
    ),
    tierCondition(condition, "InfrastructureReady", infraWaiting, unseen, describe("infrastructure")),
    tierCondition(condition, "ComponentsReady", componentsWaiting, unseen, describe("components")),
    condition(
      "Degraded",
      degraded !== undefined,
      degraded?.reason ?? "AsExpected",
      degraded?.message ?? "no fault",
    ),
  ];
  return {
    observedGeneration: ex.metadata.generation,
    phase: phase(ex, observed, ready, degraded !== undefined),
    markets: ex.spec.markets.length,
    ...addresses(ex, observed),
    ...(observed.health && {
      components: [...observed.health.components],
      ...(observed.health.settlement && { settlement: observed.health.settlement }),
      ...(observed.health.reconcile && { reconcile: observed.health.reconcile }),
    }),
    conditions,
  };
}

/** The gateway's replicas (for the scale subresource) and the Services clients reach. */
function addresses(ex: Exchange, observed: Observed): Pick<ExchangeStatus, "gateway" | "endpoints"> {
  const gateway = observed.objects.get(workloadKey("Deployment", objectName(ex, "gateway")));
  const ns = ex.metadata.namespace;
  return {
    gateway: {
      replicas: ((gateway?.status ?? {}) as WorkloadStatus).replicas ?? 0,
      selector: `app.kubernetes.io/instance=${ex.metadata.name},app.kubernetes.io/component=gateway`,
    },
    endpoints: {
      trading: `http://${objectName(ex, "gateway")}.${ns}.svc:${PORTS.trading}`,
      admin: `http://${objectName(ex, "admin")}.${ns}.svc:${PORTS.admin}`,
    },
  };
}

/** A workload named with what its pods that cannot serve say of themselves, e.g. "demo-settlement (settlement: ledger unreachable)". */
function withReason(health: ExchangeHealth | undefined): (workload: string) => string {
  return (workload) => {
    const reasons = (health?.components ?? [])
      .filter((p) => !p.ready && p.pod.startsWith(`${workload}-`))
      .map((p) => `${p.pod}: ${p.reason}`);
    return reasons.length === 0 ? workload : `${workload} (${reasons.join("; ")})`;
  };
}

function phase(ex: Exchange, observed: Observed, ready: boolean, degraded: boolean): Phase {
  if (ex.metadata.deletionTimestamp) return "Deleting";
  if (degraded) return "Degraded";
  if (ready) return "Running";
  const anyCreated = [...observed.objects.values()].some((o) => o !== undefined);
  return anyCreated ? "Provisioning" : "Pending";
}
