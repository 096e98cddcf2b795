import type { ExchangeSpec as ConfigSpec } from "./exchange-config.ts";

/**
 * The Exchange custom resource as the API server hands it to the operator: the CRD's defaults are
 * already applied (crds/exchanges.bourse.dev.yaml), so only fields without a default are optional.
 */
export const GROUP = "bourse.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FINALIZER = "bourse.dev/cleanup";
export const FIELD_MANAGER = "bourse-operator";

/** Kubernetes MicroTime (events, leases): RFC 3339 with exactly six fractional digits. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

type Resources = Record<string, unknown>;

/** An infrastructure image (a registry mirror, another release): defaults in infrastructure.ts. */
interface Infrastructure {
  image?: string;
  resources?: Resources;
}

export type StoreEngine = "scylla" | "cassandra";

export interface ExchangeSpec extends ConfigSpec {
  image: { repository: string; tag: string; pullPolicy: string };
  /** Every volume claim's class; the cluster's default class when unset. */
  storageClassName?: string;
  /** Aeron's term buffer length (transport: aeron): each log is three terms. */
  aeron?: { termLength?: string };
  gateway: { replicas: number; resources?: Resources };
  ubscore: { storage: string; resources?: Resources };
  matching: { replicas: number; resources?: Resources };
  settlement: { replicas: number; resources?: Resources };
  tigerbeetle: Infrastructure & {
    replicas: number;
    storage?: string;
    external?: { clusterId: string; addresses: string[] };
  };
  kafka: Infrastructure & { brokers: number; storage?: string; external?: { bootstrapServers: string[] } };
  store: Infrastructure & {
    engine: StoreEngine;
    nodes: number;
    storage?: string;
    /** ScyllaDB only: developer mode (no I/O tuning or XFS needed; for tests and laptops). */
    developerMode?: boolean;
    external?: { contactPoints: string[]; localDataCenter: string };
  };
  volumeRetention: "Retain" | "Delete";
}

export type ConditionType = "Ready" | "InfrastructureReady" | "ComponentsReady" | "Degraded";

export interface Condition {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type Phase = "Pending" | "Provisioning" | "Running" | "Degraded" | "Deleting";

export interface ExchangeStatus {
  observedGeneration?: number;
  phase?: Phase;
  markets?: number;
  gateway?: { replicas: number; selector: string };
  endpoints?: { trading: string; admin: string };
  /** Each component pod's readiness in its own words (its /readyz), from the last look. */
  components?: { component: string; pod: string; ready: boolean; reason: string }[];
  /** Settlement's lag behind UBSCore, as UBSCore measures it. */
  settlement?: { lagPositions: number; lagSeconds: number };
  /** The last reconcile of UBSCore's balances against the ledger. */
  reconcile?: { lastRunTime: string; differences: number };
  conditions?: Condition[];
}

export interface Exchange extends KubeObject {
  metadata: ObjectMeta & { namespace: string; uid: string; generation: number };
  spec: ExchangeSpec;
  status?: ExchangeStatus;
}
