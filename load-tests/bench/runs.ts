// Repetition and timing: one warm-up run that is thrown away, then the measured runs.
import { type Summary, summarize } from "./stats.ts";

export interface RunOptions {
  runs: number;
  log?: (line: string) => void;
}

/** Runs `measure` once to warm up and `runs` more times; summarizes the measured values. */
export async function repeat(
  label: string,
  options: RunOptions,
  measure: (run: { index: number; warmUp: boolean }) => Promise<number> | number,
): Promise<Summary> {
  await measure({ index: 0, warmUp: true });
  const values: number[] = [];
  for (let index = 1; index <= options.runs; index += 1) values.push(await measure({ index, warmUp: false }));
  const summary = summarize(values);
  options.log?.(`  ${label}: ${values.map((v) => v.toPrecision(4)).join(", ")}`);
  return summary;
}

/** Calls `step` (which returns how many records it handled) until `ms` passed; records/s. */
export function rateOverSync(ms: number, step: () => number): number {
  const started = performance.now();
  let records = 0;
  let elapsed = 0;
  do {
    records += step();
    elapsed = performance.now() - started;
  } while (elapsed < ms);
  return records / (elapsed / 1000);
}

export async function rateOver(ms: number, step: () => Promise<number>): Promise<number> {
  const started = performance.now();
  let records = 0;
  let elapsed = 0;
  do {
    records += await step();
    elapsed = performance.now() - started;
  } while (elapsed < ms);
  return records / (elapsed / 1000);
}

/** Wall time and this process's CPU time (all threads) between start and stop. */
export function stopwatch(): () => { seconds: number; cpu: NodeJS.CpuUsage } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return () => ({ seconds: (performance.now() - started) / 1000, cpu: process.cpuUsage(cpu) });
}
