import { microTime } from "./exchange.ts";
import type { KubeClient } from "./kube-client.ts";
import { KubeError } from "./kube-client.ts";

/**
 * Leader election on a coordination.k8s.io Lease, so that only one operator replica reconciles.
 * Every write carries the Lease's resourceVersion: of two replicas racing for it, one gets a 409
 * and stays a follower. A leader that cannot renew before its lease runs out steps down.
 */
export interface LeaseOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseSeconds?: number;
  readonly renewEveryMs?: number;
}

/** A coordination.k8s.io/v1 Lease as the API serves it (UBSCore's writer lease uses it too). */
export interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaderElector {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;

  constructor(
    private readonly kube: KubeClient,
    private readonly options: LeaseOptions,
    private readonly onChange: (leading: boolean) => void,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = async () => {
      const held = await this.tryAcquireOrRenew().catch(() => false);
      const seconds = this.options.leaseSeconds ?? 15;
      if (held) this.lastRenewed = Date.now();
      const leading = held || (this.leading && Date.now() - this.lastRenewed < seconds * 1000 * 0.8);
      if (leading !== this.leading) {
        this.leading = leading;
        this.onChange(leading);
      }
      this.timer = setTimeout(() => void tick(), this.options.renewEveryMs ?? 2_000);
    };
    void tick();
  }

  /** Stops renewing and, if leading, releases the lease so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const lease = await this.kube.find<Lease>(this.path());
    if (lease?.spec.holderIdentity === this.options.identity) {
      await this.kube
        .request("PUT", this.path(), {
          body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
        })
        .catch(() => {});
    }
  }

  private path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await this.kube.find<Lease>(this.path());
    if (!lease) {
      const collection = `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
      return unlessConflict(this.kube.request("POST", collection, { body: this.newLease(now) }));
    }
    const spec = this.nextSpec(lease, now);
    if (!spec) return false;
    return unlessConflict(this.kube.request("PUT", this.path(), { body: { ...lease, spec } }));
  }

  private newLease(now: Date): Lease {
    const micro = microTime(now);
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.options.name, namespace: this.options.namespace },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: this.options.leaseSeconds ?? 15,
        acquireTime: micro,
        renewTime: micro,
        leaseTransitions: 0,
      },
    };
  }

  /** The lease renewed if it is ours, taken over if it ran out, or none while another holds it. */
  private nextSpec(lease: Lease, now: Date): Lease["spec"] | undefined {
    const micro = microTime(now);
    const seconds = this.options.leaseSeconds ?? 15;
    const mine = lease.spec.holderIdentity === this.options.identity;
    const renewed = Date.parse(lease.spec.renewTime ?? "1970-01-01T00:00:00Z");
    const expired =
      !lease.spec.holderIdentity ||
      renewed + (lease.spec.leaseDurationSeconds ?? seconds) * 1000 < now.getTime();
    if (!mine && !expired) return undefined;
    return mine
      ? { ...lease.spec, renewTime: micro, leaseDurationSeconds: seconds }
      : {
          holderIdentity: this.options.identity,
          leaseDurationSeconds: seconds,
          acquireTime: micro,
          renewTime: micro,
          leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1,
        };
  }
}

/** A write another replica got in first (409: the resourceVersion moved on) is a lost race, not a failure. */
async function unlessConflict(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (e) {
    if (e instanceof KubeError && e.status === 409) return false;
    throw e;
  }
}
