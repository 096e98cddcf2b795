import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { Controller } from "./controller.ts";
import { EventRecorder } from "./events.ts";
import { KubeClient } from "./kube-client.ts";
import { LeaderElector } from "./leader.ts";
import { Metrics } from "./metrics.ts";
import { Reconciler } from "./reconciler.ts";

/**
 * `bourse operator`: leader election, then the controller; health and metrics on their own port
 * throughout (a follower is healthy and ready: it is waiting for the lease, as designed).
 */
export interface OperatorOptions {
  /** A kubeconfig file; in a pod the service account is used when this is not set. */
  readonly kubeconfig?: string;
  /** Watch one namespace only (default: all). */
  readonly namespace?: string;
  /** Where the leader Lease lives. */
  readonly leaseNamespace: string;
  readonly leaseName?: string;
  /** The namespace of the operator's own pod, when it runs in the cluster (see ReconcilerOptions). */
  readonly podNamespace?: string;
  readonly leaderElect?: boolean;
  readonly healthHost?: string;
  readonly healthPort?: number;
  readonly resyncMs?: number;
  readonly statusRefreshMs?: number;
  readonly log?: (msg: string) => void;
}

export interface RunningOperator {
  readonly healthUrl: string;
  readonly isLeader: () => boolean;
  stop(): Promise<void>;
}

export async function runOperator(options: OperatorOptions): Promise<RunningOperator> {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  const kube = new KubeClient(config);
  const log = options.log ?? ((msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`));
  const metrics = new Metrics();
  const events = new EventRecorder(kube, (e) => log(`event not recorded: ${String(e)}`));
  const reconciler = new Reconciler(kube, events, metrics, { operatorNamespace: options.podNamespace });
  let controller: Controller | undefined;
  const lead = (leading: boolean) => {
    metrics.set("bourse_operator_leader", leading ? 1 : 0);
    if (leading) {
      log("leading: starting the controller");
      controller = new Controller(kube, reconciler, metrics, {
        namespace: options.namespace,
        resyncMs: options.resyncMs,
        statusRefreshMs: options.statusRefreshMs,
        log,
      });
      controller.start();
    } else if (controller) {
      log("lost the lease: stopping the controller");
      const stopping = controller;
      controller = undefined;
      void stopping.stop();
    }
  };
  const elector =
    options.leaderElect === false
      ? undefined
      : new LeaderElector(
          kube,
          {
            namespace: options.leaseNamespace,
            name: options.leaseName ?? "bourse-operator",
            identity: events.instance,
          },
          lead,
        );
  const server = await listen(
    createServer((req, res) => {
      const path = req.url?.split("?")[0];
      // /livez as the components have it; /healthz for probes written before.
      if (path === "/livez" || path === "/healthz") return reply(res, 200, "ok\n");
      if (path === "/readyz") {
        const ready = !controller || controller.ready;
        return reply(res, ready ? 200 : 503, ready ? "ok\n" : "watches not synced\n");
      }
      if (path === "/metrics") {
        void metrics.render().then((text) => reply(res, 200, text, metrics.contentType));
        return;
      }
      reply(res, 404, "not found\n");
    }),
    options.healthHost ?? "0.0.0.0",
    options.healthPort ?? 8080,
  );
  if (elector) elector.start();
  else lead(true);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.healthPort;
  return {
    healthUrl: `http://${options.healthHost ?? hostname()}:${port}`,
    isLeader: () => controller !== undefined,
    async stop() {
      await elector?.stop();
      await controller?.stop();
      controller = undefined;
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function reply(
  res: import("node:http").ServerResponse,
  status: number,
  body: string,
  type = "text/plain",
): void {
  res.writeHead(status, { "content-type": type });
  res.end(body);
}

function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
