import { writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isBourseError } from "../../components/domain/src/index.ts";
import { kubeLeaseStore, WriterLease } from "../../components/exchange/src/index.ts";
import type { Exchange } from "../../operator/src/index.ts";
import {
  KubeClient,
  KubeError,
  writerAccountName,
  writerLeaseAccess,
  writerLeaseName,
} from "../../operator/src/index.ts";
import { type KubeControlPlane, kubeconfigYaml } from "../infra/kube.ts";
import { freePort } from "../infra/ports.ts";
import { startKubeApi } from "../support/kube-api.ts";
import { until as waitUntil } from "../support/until.ts";
import { admin as adminCall, freshDataDir } from "./harness.ts";
import { bourse } from "./processes.ts";

/**
 * Fencing two UBSCores that could reach one journal from different hosts (issue 18, "on
 * Kubernetes, fencing so that two UBSCores can never both write"): the writer lease against a real
 * kube-apiserver. Each contender reaches the API server through a loopback proxy of its own, so
 * that a test can cut one off (a partitioned node) while the other still reaches it. "Writing"
 * here is what UBSCore does under the lease: a writer that records its name whenever its lease
 * says it may write, sampled on one clock for all contenders.
 */
// Short enough for a test, long enough that a loaded machine (2 cores shared) still renews in time.
const TIMINGS = { durationMs: 8_000, renewDeadlineMs: 5_000, retryMs: 250 };
let cp: KubeControlPlane;
let kube: KubeClient;

beforeAll(async () => {
  ({ cp, kube } = await startKubeApi());
}, 1_800_000);

afterAll(async () => {
  await cp?.stop();
});

/** A contender's own way to the API server: a loopback TCP proxy that `cut` severs for good. */
async function pathToApiServer(name: string, token = cp.token) {
  const sockets = new Set<Socket>();
  const target = new URL(cp.url);
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const kubeconfig = join(cp.dir, `kubeconfig-${name}`);
  await writeFile(kubeconfig, kubeconfigYaml(`https://127.0.0.1:${port}`, token));
  return {
    kubeconfig,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A contender for lease `lease`: its own path to the API server, and whom it was told holds the lease. */
async function contender(lease: string, name: string) {
  const path = await pathToApiServer(`${lease}-${name}`);
  const toldHolders: string[] = [];
  const store = kubeLeaseStore({ namespace: "default", name: lease, kubeconfig: path.kubeconfig });
  return {
    path,
    toldHolders,
    acquire: () => WriterLease.acquire(store, name, TIMINGS, (holder) => toldHolders.push(holder)),
  };
}

/** Samples every contender's lease until stopped: the names of those allowed to write, in order. */
function writers(leases: () => (WriterLease | undefined)[]) {
  const written: string[] = [];
  const timer = setInterval(() => {
    for (const l of leases()) if (l?.held) written.push(l.identity);
  }, 5);
  return {
    written,
    stop: () => clearInterval(timer),
  };
}

/** Resolves once `condition` holds, checked at each retry period. */
const until = (condition: () => boolean, what: string) =>
  waitUntil(condition, what, { timeoutMs: 120_000, everyMs: TIMINGS.retryMs });

const leaseObject = (name: string) =>
  kube.get<{
    metadata: { resourceVersion: string };
    spec: { holderIdentity: string; leaseTransitions: number };
  }>(`/apis/coordination.k8s.io/v1/namespaces/default/leases/${name}`);

describe("the UBSCore writer lease on a real kube-apiserver", () => {
  it("two contenders: one writes, the other waits; the holder cut off from the API server stops writing before the other starts", async () => {
    const [a, b] = [await contender("fence-1", "ubscore-a"), await contender("fence-1", "ubscore-b")];
    const held: { a?: WriterLease; b?: WriterLease } = {};
    const sampled = writers(() => [held.a, held.b]);
    const events: string[] = [];
    held.a = await a.acquire();
    const bAcquired = b.acquire().then((lease) => {
      events.push("b acquired");
      held.b = lease;
      return lease;
    });
    // b is refused by name, again and again, while a renews.
    await until(() => b.toldHolders.length >= 3 && sampled.written.length > 0, "b told of three holders");
    expect(new Set(b.toldHolders)).toEqual(new Set(["ubscore-a"]));
    expect(held.b).toBeUndefined();
    a.path.cut();
    const lost = await held.a.lost;
    events.push("a lost");
    expect(isBourseError(lost, "LEASE_LOST")).toBe(true);
    expect(held.a.held).toBe(false);
    await bAcquired;
    await until(() => sampled.written.at(-1) === "ubscore-b", "ubscore-b writing");
    sampled.stop();
    expect(events).toEqual(["a lost", "b acquired"]);
    // Never both: every sample allowed a, then only b.
    const firstB = sampled.written.indexOf("ubscore-b");
    expect(sampled.written.slice(0, firstB).every((w) => w === "ubscore-a")).toBe(true);
    expect(sampled.written.slice(firstB).every((w) => w === "ubscore-b")).toBe(true);
    expect((await leaseObject("fence-1")).spec).toMatchObject({
      holderIdentity: "ubscore-b",
      leaseTransitions: 1,
    });
    await held.b!.release();
    b.path.cut();
  }, 120_000);

  it("two contenders starting together on a fresh lease: exactly one wins; a release hands it over", async () => {
    const [a, b] = [await contender("fence-2", "ubscore-a"), await contender("fence-2", "ubscore-b")];
    const pending = [a.acquire(), b.acquire()];
    const winner = await Promise.race(pending);
    const loser = winner.identity === "ubscore-a" ? b : a;
    await until(() => loser.toldHolders.length >= 2, "the loser told of two holders");
    expect(new Set(loser.toldHolders)).toEqual(new Set([winner.identity]));
    expect(winner.held).toBe(true);
    await winner.release();
    expect(winner.held).toBe(false);
    const successor = await pending[winner.identity === "ubscore-a" ? 1 : 0]!;
    expect(successor.held).toBe(true);
    expect((await leaseObject("fence-2")).spec.holderIdentity).toBe(successor.identity);
    await successor.release();
    a.path.cut();
    b.path.cut();
  }, 120_000);

  it("a holder that loses the API server with nobody else contending still stops writing", async () => {
    const a = await contender("fence-3", "ubscore-a");
    const lease = await a.acquire();
    expect(lease.held).toBe(true);
    a.path.cut();
    expect(isBourseError(await lease.lost, "LEASE_LOST")).toBe(true);
    expect(lease.held).toBe(false);
  }, 60_000);
});

describe("`bourse ubscore` under the lease", () => {
  it("a second UBSCore on the same data waits for the lease without touching it; the holder cut off from the API server exits, and the second takes over its state", async () => {
    const dataDir = await freshDataDir();
    const config = join(dataDir, "..", `${Date.now()}-lease.json`);
    await writeFile(
      config,
      JSON.stringify({ ubscore: { lease: { name: "fence-4", namespace: "default", ...TIMINGS } } }),
    );
    const ubscore = async (name: string) => {
      const path = await pathToApiServer(`fence-4-${name}`);
      const admin = await freePort();
      const process = bourse("ubscore", {
        BOURSE_CONFIG: config,
        BOURSE_DATA_DIR: dataDir,
        BOURSE_ADMIN_PORT: String(admin),
        BOURSE_UBSCORE_LISTEN: `127.0.0.1:${await freePort()}`,
        BOURSE_UBSCORE_LEASE_IDENTITY: name,
        BOURSE_UBSCORE_LEASE_KUBECONFIG: path.kubeconfig,
      });
      return { process, path, adminUrl: `http://127.0.0.1:${admin}` };
    };
    const a = await ubscore("ubscore-a");
    await a.process.ready;
    const created = await adminCall(a.adminUrl, "POST", "/admin/v1/users", {});
    expect(created.status).toBe(201);
    const b = await ubscore("ubscore-b");
    let waiting = "";
    b.process.child.stderr!.on("data", (chunk) => {
      waiting += String(chunk);
    });
    await until(
      () => /waiting for lease default\/fence-4, held by ubscore-a-/.test(waiting),
      "the wait logged",
    );
    // a still writes (b has not even taken the data directory's lock).
    expect((await adminCall(a.adminUrl, "POST", "/admin/v1/users", {})).status).toBe(201);
    a.path.cut();
    const { code, stderr } = await a.process.exited;
    expect(code).toBe(3);
    expect(stderr).toMatch(/LEASE_LOST|lease not renewed/);
    await b.process.ready;
    for (const userId of [1, 2]) {
      expect((await adminCall(b.adminUrl, "GET", `/admin/v1/users/${userId}/balances`)).status).toBe(200);
    }
    expect((await b.process.stop()).code).toBe(0);
    b.path.cut();
  }, 120_000);
});

describe("the RBAC the operator renders for the lease", () => {
  it("lets UBSCore's service account take and renew its own lease, and read or change nothing else", async () => {
    const ex = { metadata: { name: "rbac", namespace: "default", uid: "u-1" } } as Exchange;
    for (const obj of writerLeaseAccess(ex)) await kube.apply(obj, "writer-lease-test");
    const issued = await kube.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/default/serviceaccounts/${writerAccountName(ex)}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      },
    );
    const path = await pathToApiServer("rbac", issued.status.token);
    const lease = await WriterLease.acquire(
      kubeLeaseStore({ namespace: "default", name: writerLeaseName(ex), kubeconfig: path.kubeconfig }),
      "ubscore-0",
      TIMINGS,
    );
    // Renewals go through (an update of the lease): the version the holder wrote moves on.
    const first = (await leaseObject(writerLeaseName(ex))).metadata.resourceVersion;
    let renewed = false;
    while (!renewed) {
      await new Promise((resolve) => setTimeout(resolve, TIMINGS.retryMs));
      renewed = (await leaseObject(writerLeaseName(ex))).metadata.resourceVersion !== first;
    }
    expect(lease.held).toBe(true);
    // Anything else is forbidden to it: another lease (read or renewed), the namespace's secrets.
    const config = new KubeConfig();
    config.loadFromFile(path.kubeconfig);
    const asUbsCore = new KubeClient(config);
    await kube.request("POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "someone-else" },
        spec: {},
      },
    });
    const forbidden = (request: Promise<unknown>) =>
      request.then(
        () => 200,
        (e: unknown) => (e instanceof KubeError ? e.status : 0),
      );
    const other = "/apis/coordination.k8s.io/v1/namespaces/default/leases/someone-else";
    expect(await forbidden(asUbsCore.get(other))).toBe(403);
    expect(await forbidden(asUbsCore.request("PUT", other, { body: await kube.get(other) }))).toBe(403);
    expect(await forbidden(asUbsCore.get("/api/v1/namespaces/default/secrets"))).toBe(403);
    await lease.release();
    path.cut();
  }, 60_000);
});
