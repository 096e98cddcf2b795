import type { Exchange, KubeObject } from "./exchange.ts";
import { collectionPath, type KubeClient } from "./kube-client.ts";
import { METRICS_PORT } from "./observability.ts";

/**
 * What the Exchange's status reports beyond its workloads' replica counts: each component pod's
 * own word on whether it can serve (its `/readyz` reason, the same endpoint the kubelet probes),
 * settlement's lag and the last reconcile's result as UBSCore measures them (its `/metrics`).
 * The operator reads them from the pods' metrics port, which the NetworkPolicies open to it.
 */
export interface PodHealth {
  readonly component: string;
  readonly pod: string;
  readonly ready: boolean;
  /** "ok", or why not: the failing checks, the pod's phase, or why it could not be asked. */
  readonly reason: string;
}

export interface ExchangeHealth {
  readonly components: readonly PodHealth[];
  /** Positions handed to settlement and not yet settled, and for how long; absent when UBSCore did not answer. */
  readonly settlement?: { readonly lagPositions: number; readonly lagSeconds: number };
  /** The last reconcile of UBSCore's balances against the ledger; absent before the first. */
  readonly reconcile?: { readonly lastRunTime: string; readonly differences: number };
}

/** An HTTP GET as the operator makes it (a port, so the pure parts are tested without pods). */
export type Fetch = (url: string) => Promise<{ status: number; body: string }>;

const COMPONENTS = ["ubscore", "matching", "gateway", "settlement"] as const;
const PROBE_TIMEOUT_MS = 2_000;
/** Bounds a hostile or broken pod's answer: a readiness body or UBSCore's exposition is far smaller. */
const MAX_BODY_BYTES = 1 << 20;

export const fetchFromPod: Fetch = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: "error" });
  const length = Number(res.headers.get("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) throw new Error(`answer of ${length} bytes`);
  const body = await res.text();
  if (body.length > MAX_BODY_BYTES) throw new Error(`answer of ${body.length} bytes`);
  return { status: res.status, body };
};

interface Pod extends KubeObject {
  status?: { phase?: string; podIP?: string };
}

/** Asks every component pod of `ex` (concurrently, each bounded in time). */
export async function observeHealth(kube: KubeClient, ex: Exchange, get: Fetch): Promise<ExchangeHealth> {
  const selector = `app.kubernetes.io/instance=${ex.metadata.name},app.kubernetes.io/managed-by=bourse-operator,app.kubernetes.io/component in (${COMPONENTS.join(",")})`;
  const pods = (await kube.list<Pod>(collectionPath("v1", "Pod", ex.metadata.namespace), selector)).items;
  const components = await Promise.all(pods.map((pod) => podHealth(pod, get)));
  const ubscore = pods.find((p) => component(p) === "ubscore" && p.status?.podIP);
  const metrics = ubscore ? await ask(get, ubscore, "/metrics") : undefined;
  return {
    components: components.sort((a, b) => a.pod.localeCompare(b.pod)),
    ...(metrics && "status" in metrics && metrics.status === 200 ? ubscoreFigures(metrics.body) : {}),
  };
}

async function podHealth(pod: Pod, get: Fetch): Promise<PodHealth> {
  const base = { component: component(pod), pod: pod.metadata.name };
  const phase = pod.status?.phase ?? "Unknown";
  if (pod.metadata.deletionTimestamp) return { ...base, ready: false, reason: "terminating" };
  if (phase !== "Running" || !pod.status?.podIP) return { ...base, ready: false, reason: `pod ${phase}` };
  const answer = await ask(get, pod, "/readyz");
  return { ...base, ...readiness(answer) };
}

function component(pod: Pod): string {
  return pod.metadata.labels?.["app.kubernetes.io/component"] ?? "unknown";
}

type Answer = { status: number; body: string } | { error: string };

async function ask(get: Fetch, pod: Pod, path: string): Promise<Answer> {
  try {
    return await get(`http://${hostPort(pod.status!.podIP!)}${path}`);
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { error: cause ?? (e instanceof Error ? e.message : String(e)) };
  }
}

function hostPort(ip: string): string {
  return ip.includes(":") ? `[${ip}]:${METRICS_PORT}` : `${ip}:${METRICS_PORT}`;
}

/** A `/readyz` answer as a reason: "ok", the failing checks ("name: reason; ..."), or why no answer. */
export function readiness(answer: Answer): { ready: boolean; reason: string } {
  if ("error" in answer) return { ready: false, reason: `not answering: ${answer.error}` };
  if (answer.status === 200) return { ready: true, reason: "ok" };
  let failing: unknown;
  try {
    failing = (JSON.parse(answer.body) as { failing?: unknown }).failing;
  } catch {
    failing = undefined;
  }
  const reasons =
    failing && typeof failing === "object"
      ? Object.entries(failing as Record<string, unknown>)
          .map(([name, why]) => `${name}: ${String(why)}`)
          .join("; ")
      : `HTTP ${answer.status}`;
  return { ready: false, reason: reasons.slice(0, 512) };
}

/** Settlement's lag and the last reconcile from UBSCore's exposition (the gauges observability.ts defines). */
export function ubscoreFigures(exposition: string): Pick<ExchangeHealth, "settlement" | "reconcile"> {
  const values = gauges(exposition);
  const lagPositions = values.get("bourse_settlement_lag_positions");
  const lagSeconds = values.get("bourse_settlement_lag_seconds");
  const last = values.get("bourse_reconcile_last_run_timestamp_seconds");
  const differences = values.get("bourse_reconcile_differences");
  return {
    ...(lagPositions !== undefined &&
      lagSeconds !== undefined && {
        settlement: { lagPositions, lagSeconds: Math.round(lagSeconds * 1000) / 1000 },
      }),
    ...(last !== undefined &&
      last > 0 &&
      differences !== undefined && {
        reconcile: { lastRunTime: new Date(last * 1000).toISOString(), differences },
      }),
  };
}

/**
 * The unlabelled samples of a Prometheus text exposition, by name. Labelled series, comments and
 * anything unparsable are skipped: the operator reads a few gauges, it does not store metrics.
 */
export function gauges(exposition: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of exposition.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)(?: \d+)?$/.exec(line.trim());
    if (!match) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) values.set(match[1]!, value);
  }
  return values;
}
