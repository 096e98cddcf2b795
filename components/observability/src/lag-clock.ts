/**
 * How long ago the oldest unsettled position was handed over: positions are noted as they are
 * recorded, sampled (at most one sample per `resolutionMs`, so a command costs a clock read and a
 * comparison), and the age is read off the first sample past the settled position. Exact to
 * `resolutionMs`.
 */
export class LagClock {
  private readonly samples: { lsn: number; at: number }[] = [];
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly resolutionMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Position `lsn` was handed over to settlement just now. */
  note(lsn: number): void {
    const at = this.now();
    if (at - this.lastAt < this.resolutionMs) return;
    this.lastAt = at;
    this.samples.push({ lsn, at });
  }

  /** Seconds since the oldest position after `settled` was handed over; 0 if none is owed. */
  secondsBehind(settled: number, recorded: number): number {
    // Samples settled for good go, but the last one at or below `settled` stays: the oldest
    // owed position was handed over after it, within resolutionMs.
    let last = 0;
    while (last + 1 < this.samples.length && this.samples[last + 1]!.lsn <= settled) last++;
    if (last > 0) this.samples.splice(0, last);
    const oldest = this.samples[0];
    if (recorded <= settled || !oldest) return 0;
    return Math.max(0, (this.now() - oldest.at) / 1000);
  }
}
