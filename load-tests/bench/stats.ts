// Summaries of repeated measurements and latency percentiles. Pure.

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** The measured values, warm-up excluded, in run order. */
  runs: number[];
}

/** Median (mean of the middle two for an even count), min and max of one figure's runs. */
export function summarize(runs: readonly number[]): Summary {
  if (runs.length === 0) throw new Error("no runs to summarize");
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: [...runs] };
}

/** Nearest-rank percentile (q in 0..1) of unsorted values: a value that was actually observed. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error("no values for a percentile");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Events per second; 0 when no time passed (a broken run, never a division by zero). */
export function ratePerSecond(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

/** CPU-seconds per 1,000 events from a `process.cpuUsage()` delta (microseconds). */
export function cpuSecondsPerThousand(cpu: { user: number; system: number }, events: number): number {
  return events > 0 ? (cpu.user + cpu.system) / 1e6 / (events / 1000) : 0;
}
