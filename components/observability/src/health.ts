/**
 * What `/livez` and `/readyz` answer. Each component adds its checks: a check returns why it
 * fails (a short reason, never a secret), or undefined while all is well.
 * - Live: the process can make progress. Answering at all says the event loop turns (a stalled
 *   loop answers nothing, and the probe's timeout fails it); checks add what the loop cannot see
 *   for itself, such as a journal write stuck in the kernel.
 * - Ready: the process can serve what it is there for (UBSCore replayed, a gateway's replica
 *   subscribed, settlement reaching its ledger and feed).
 */
export type Check = () => string | undefined;

export class Health {
  private readonly liveChecks = new Map<string, Check>();
  private readonly readyChecks = new Map<string, Check>();

  live(name: string, check: Check): void {
    this.liveChecks.set(name, check);
  }

  ready(name: string, check: Check): void {
    this.readyChecks.set(name, check);
  }

  /** Failing liveness checks, by name; empty when live. */
  notLive(): Record<string, string> {
    return failing(this.liveChecks);
  }

  /** Failing readiness checks, by name; empty when ready. */
  notReady(): Record<string, string> {
    return failing(this.readyChecks);
  }
}

function failing(checks: Map<string, Check>): Record<string, string> {
  const reasons: Record<string, string> = {};
  for (const [name, check] of checks) {
    let reason: string | undefined;
    try {
      reason = check();
    } catch (e) {
      reason = `check failed: ${(e as Error).message}`;
    }
    if (reason !== undefined) reasons[name] = reason;
  }
  return reasons;
}
