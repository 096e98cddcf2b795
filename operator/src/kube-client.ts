import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";
import type { KubeObject } from "./exchange.ts";

/**
 * The operator's door to the API server. Authentication and TLS come from @kubernetes/client-node's
 * KubeConfig (in-cluster service account or a kubeconfig file); the requests themselves are raw
 * JSON, because the generated clients pass bodies through an object serializer that silently
 * drops fields it does not know (custom resources, int-or-string). Server-side apply is a PATCH
 * with `application/apply-patch+yaml` (JSON is YAML) and a field manager.
 */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where each kind the operator touches lives in the API. */
const RESOURCES: Record<string, { prefix: string; plural: string }> = {
  "v1/ConfigMap": { prefix: "/api/v1", plural: "configmaps" },
  "v1/Service": { prefix: "/api/v1", plural: "services" },
  "v1/Secret": { prefix: "/api/v1", plural: "secrets" },
  "v1/ServiceAccount": { prefix: "/api/v1", plural: "serviceaccounts" },
  "rbac.authorization.k8s.io/v1/Role": { prefix: "/apis/rbac.authorization.k8s.io/v1", plural: "roles" },
  "rbac.authorization.k8s.io/v1/RoleBinding": {
    prefix: "/apis/rbac.authorization.k8s.io/v1",
    plural: "rolebindings",
  },
  "v1/PersistentVolumeClaim": { prefix: "/api/v1", plural: "persistentvolumeclaims" },
  "apps/v1/StatefulSet": { prefix: "/apis/apps/v1", plural: "statefulsets" },
  "apps/v1/Deployment": { prefix: "/apis/apps/v1", plural: "deployments" },
  "policy/v1/PodDisruptionBudget": { prefix: "/apis/policy/v1", plural: "poddisruptionbudgets" },
  "networking.k8s.io/v1/NetworkPolicy": { prefix: "/apis/networking.k8s.io/v1", plural: "networkpolicies" },
  "coordination.k8s.io/v1/Lease": { prefix: "/apis/coordination.k8s.io/v1", plural: "leases" },
  "events.k8s.io/v1/Event": { prefix: "/apis/events.k8s.io/v1", plural: "events" },
  "bourse.dev/v1alpha1/Exchange": { prefix: "/apis/bourse.dev/v1alpha1", plural: "exchanges" },
};

export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const r = RESOURCES[`${apiVersion}/${kind}`];
  if (!r) throw new Error(`unknown resource ${apiVersion}/${kind}`);
  return namespace ? `${r.prefix}/namespaces/${namespace}/${r.plural}` : `${r.prefix}/${r.plural}`;
}

export function objectPath(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  return `${collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace)}/${obj.metadata.name}`;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion: string };
}

/**
 * A request (watches aside) whose connection is silent this long fails: reconciles of one key run
 * one at a time, so a single request left hanging (a connection lost without a reset) would stop
 * the operator reconciling that Exchange for good. The API server ends its own requests at 60 s.
 */
const REQUEST_IDLE_TIMEOUT_MS = 30_000;

interface KubeRequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string>;
  signal?: AbortSignal;
}

export class KubeClient {
  constructor(
    private readonly config: KubeConfig,
    private readonly requestIdleTimeoutMs = REQUEST_IDLE_TIMEOUT_MS,
  ) {}

  async request<T>(method: string, path: string, options: KubeRequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, { ...options, idleTimeoutMs: this.requestIdleTimeoutMs });
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    const body = text ? JSON.parse(text) : undefined;
    if (status >= 400) {
      const failure = body as { reason?: string; message?: string } | undefined;
      throw new KubeError(
        status,
        failure?.reason ?? "Unknown",
        `${method} ${path}: ${status} ${failure?.message ?? text}`,
      );
    }
    return body as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** GET that answers undefined for a missing object. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  list<T>(path: string, labelSelector?: string): Promise<ListResult<T>> {
    return this.request<ListResult<T>>("GET", path, { query: labelSelector ? { labelSelector } : {} });
  }

  create<T>(obj: KubeObject): Promise<T> {
    return this.request<T>("POST", collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace), {
      body: obj,
    });
  }

  /** Server-side apply: this manager's fields become exactly `obj`'s; `force` takes over conflicts. */
  apply<T>(
    obj: KubeObject,
    fieldManager: string,
    options: { force?: boolean; dryRun?: boolean } = {},
  ): Promise<T> {
    const query: Record<string, string> = { fieldManager, force: String(options.force ?? true) };
    if (options.dryRun) query.dryRun = "All";
    return this.request<T>("PATCH", objectPath(obj), {
      body: obj,
      contentType: "application/apply-patch+yaml",
      query,
    });
  }

  /** Server-side apply of the status subresource only. */
  applyStatus<T>(obj: KubeObject, fieldManager: string): Promise<T> {
    return this.request<T>("PATCH", `${objectPath(obj)}/status`, {
      body: obj,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager, force: "true" },
    });
  }

  /** JSON merge patch (e.g. finalizers with a resourceVersion precondition). */
  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body: patch, contentType: "application/merge-patch+json" });
  }

  async delete(path: string, propagationPolicy = "Background"): Promise<void> {
    try {
      await this.request("DELETE", path, {
        body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy },
      });
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 404)) throw e;
    }
  }

  /**
   * Streams watch events from `resourceVersion` until the server ends the watch, the signal
   * aborts it, or the connection fails (then it throws). An expired resourceVersion arrives as an
   * ERROR event with code 410: the caller relists.
   */
  async *watch<T>(path: string, resourceVersion: string, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const res = await this.send("GET", path, {
      query: { watch: "true", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: "300" },
      signal,
    });
    if (res.statusCode !== 200) {
      throw new KubeError(
        res.statusCode ?? 0,
        "WatchFailed",
        `watch ${path}: ${res.statusCode} ${await readAll(res)}`,
      );
    }
    const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim()) yield JSON.parse(line) as WatchEvent<T>;
    }
  }

  private async send(
    method: string,
    path: string,
    options: KubeRequestOptions & { idleTimeoutMs?: number },
  ): Promise<IncomingMessage> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error("no current cluster in the kubeconfig");
    const url = new URL(cluster.server.replace(/\/$/, "") + path);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    // KubeConfig adds the credentials (token, client certificate, exec plugin) and the cluster's CA.
    const opts: RequestOptions = { method, headers: { accept: "application/json" }, signal: options.signal };
    await this.config.applyToHTTPSOptions(opts);
    if (body !== undefined) {
      opts.headers = { ...opts.headers, "content-type": options.contentType ?? "application/json" };
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, opts, resolve);
      req.on("error", reject);
      const idle = options.idleTimeoutMs;
      if (idle !== undefined) {
        req.setTimeout(idle, () =>
          req.destroy(new KubeError(0, "Timeout", `${method} ${path}: no answer for ${idle} ms`)),
        );
      }
      req.end(body);
    });
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}
