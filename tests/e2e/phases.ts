import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LocalCluster } from "../infra/cluster/cluster.ts";

/**
 * `kubectl get exchanges --watch`, as an operator would look at it, kept running through the
 * suite: every row it prints is logged and its phase recorded, so a test can ask which phases an
 * Exchange went through since a point (Degraded while a pod was down, Running again after).
 */
export class PhaseWatcher {
  private readonly phases: string[] = [];
  private child: ChildProcess | undefined;
  private stopped = false;

  constructor(
    private readonly cluster: LocalCluster,
    private readonly name: string,
  ) {
    this.watch();
  }

  private watch(): void {
    if (this.stopped) return;
    const child = spawn(this.cluster.binaries.kubectl, [
      "--kubeconfig",
      this.cluster.kubeconfig,
      "get",
      "exchanges",
      "--watch",
    ]);
    this.child = child;
    createInterface({ input: child.stdout }).on("line", (line) => {
      console.log(`kubectl get exchanges: ${line}`);
      const [name, phase] = line.trim().split(/\s+/);
      if (name === this.name && phase && this.phases.at(-1) !== phase) this.phases.push(phase);
    });
    // The server ends a watch after a while: watch again.
    child.on("exit", () => setTimeout(() => this.watch(), 500));
  }

  /** A point to ask from: the phases seen since include the one current then. */
  mark(): number {
    return Math.max(0, this.phases.length - 1);
  }

  since(mark: number): string[] {
    return this.phases.slice(mark);
  }

  seen(): string[] {
    return [...this.phases];
  }

  async waitFor(phase: string, mark: number, ms = 300_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.since(mark).includes(phase)) {
      if (Date.now() > deadline)
        throw new Error(`${this.name} never showed ${phase}; seen ${this.since(mark).join(" -> ")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill();
  }
}

interface ExchangeStatus {
  gateway?: { replicas: number };
  conditions?: { type: string; status: string }[];
}

/** Until the Exchange is Ready and `done` holds (of its status, or of anything else). */
export async function eventuallyReady(
  cluster: LocalCluster,
  name: string,
  done: (status: ExchangeStatus) => boolean | Promise<boolean>,
  ms = 900_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = JSON.parse(
      (await cluster.kubectl(["get", "exchange", name, "-o", "jsonpath={.status}"])) || "{}",
    ) as ExchangeStatus;
    const ready = status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (ready && (await done(status))) return;
    if (Date.now() > deadline) throw new Error(`${name} not ready in time: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
