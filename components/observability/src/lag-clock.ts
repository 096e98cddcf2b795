/**
 * How long ago the oldest unsettled position was handed over. Positions are noted as they are
 * handed over (a command costs a clock read and two comparisons); at most one is sampled per
 * `resolutionMs`, and the age is read off the samples around the settled position: never less
 * than the truth, at most `resolutionMs` more.
 */
interface Sample {
  readonly lsn: number;
  readonly at: number;
  /** The position noted before this one: if it is settled, this sample is the oldest owed. */
  readonly prev: number;
}

export class LagClock {
  private readonly samples: Sample[] = [];
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastNoted = 0;

  constructor(
    private readonly resolutionMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Position `lsn` is handed over to settlement now (noting the same position again changes nothing). */
  note(lsn: number): void {
    if (lsn <= this.lastNoted) return;
    const at = this.now();
    if (at - this.lastAt >= this.resolutionMs) {
      this.lastAt = at;
      this.samples.push({ lsn, at, prev: this.lastNoted });
    }
    this.lastNoted = lsn;
  }

  /** Seconds since the oldest position after `settled` was handed over; 0 if none is owed. */
  secondsBehind(settled: number, recorded: number): number {
    // Samples settled for good go, but the last one at or below `settled` stays: an owed
    // position noted without a sample was handed over within resolutionMs after it.
    let last = 0;
    while (last + 1 < this.samples.length && this.samples[last + 1]!.lsn <= settled) last++;
    if (last > 0) this.samples.splice(0, last);
    if (recorded <= settled || this.samples.length === 0) return 0;
    const [first, second] = this.samples as [Sample, Sample | undefined];
    const next = first.lsn > settled ? first : second;
    const since = next && next.prev <= settled ? next.at : first.at;
    return Math.max(0, (this.now() - since) / 1000);
  }
}
