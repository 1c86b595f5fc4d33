// A progress bar with the count done and the live rate, for the commands a person watches (the
// CLI's generate and publish, the bench, the chaos runs). It draws only on a terminal: piped or
// redirected output, CI logs and tests get nothing from it, so their text stays what it was.
import { SingleBar } from "cli-progress";

export interface Progress {
  /** Adds `count` to what is done; `note` replaces the text after the rate (e.g. the current step). */
  add(count: number, note?: string): void;
  /** Sets the text after the rate without counting anything. */
  note(text: string): void;
  /** Prints a line to stdout above the bar (a bare write would land on the bar's line). */
  log(line: string): void;
  /** Ends the bar (leaves its last state on screen); later calls do nothing. */
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** What is counted, for the rate: "events" gives "events/s". */
  unit: string;
  /** Where the bar goes (default: stderr, so stdout keeps only the command's results). */
  stream?: NodeJS.WriteStream;
  /** The seconds the live rate looks back over (default 5). */
  rateWindowSeconds?: number;
  /** The rate per second (default) or per minute, for slow steps such as whole benchmark sections. */
  ratePer?: "s" | "min";
  now?: () => number;
}

export interface RateSample {
  at: number;
  done: number;
}

/**
 * Units per second over the samples no older than `windowMs` before `now` (the newest sample
 * counts from the one just before the window, so a burst does not read as an endless rate).
 * Samples are oldest first; fewer than two, or no time between them, gives 0.
 */
export function liveRate(samples: readonly RateSample[], now: number, windowMs: number): number {
  if (samples.length < 2) return 0;
  let first = samples.length - 1;
  while (first > 0 && (samples[first - 1] as RateSample).at >= now - windowMs) first -= 1;
  if (first > 0) first -= 1;
  const from = samples[first] as RateSample;
  const to = samples[samples.length - 1] as RateSample;
  const seconds = (to.at - from.at) / 1000;
  return seconds > 0 ? (to.done - from.done) / seconds : 0;
}

/** A rate for a person: 3 significant figures at most, thousands as k. */
export function formatRate(perSecond: number, unit: string, per: "s" | "min" = "s"): string {
  const rate = per === "min" ? perSecond * 60 : perSecond;
  const value =
    rate >= 10_000
      ? `${(rate / 1000).toFixed(0)}k`
      : rate >= 1000
        ? `${(rate / 1000).toFixed(1)}k`
        : rate >= 10
          ? rate.toFixed(0)
          : rate.toFixed(1);
  return `${value} ${unit}/${per}`;
}

function quiet(): Progress {
  return {
    add: () => undefined,
    note: () => undefined,
    log: (line) => {
      process.stdout.write(`${line}\n`);
    },
    stop: () => undefined,
  };
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return quiet();
  const now = options.now ?? Date.now;
  const windowMs = (options.rateWindowSeconds ?? 5) * 1000;
  const samples: RateSample[] = [{ at: now(), done: 0 }];
  let done = 0;
  let text = "";
  let stopped = false;
  const bar = new SingleBar({
    stream,
    format: `${options.label} [{bar}] {value}/{total} | {rate} | {duration_formatted} {note}`,
    barsize: 30,
    hideCursor: true,
    // At most five redraws a second: a terminal kept busy by a bar slows the run it shows.
    fps: 5,
  });
  const per = options.ratePer ?? "s";
  bar.start(Math.max(options.total, 1), 0, { rate: formatRate(0, options.unit, per), note: "" });
  const payload = () => {
    const at = now();
    samples.push({ at, done });
    // Only the window (and one before it) is ever read.
    while (samples.length > 2 && (samples[1] as RateSample).at < at - windowMs) samples.shift();
    return { rate: formatRate(liveRate(samples, at, windowMs), options.unit, per), note: text };
  };
  return {
    add(count, note) {
      if (stopped) return;
      done += count;
      if (note !== undefined) text = note;
      bar.update(done, payload());
    },
    note(value) {
      if (stopped) return;
      text = value;
      bar.update(done, payload());
    },
    log(line) {
      if (stopped) {
        process.stdout.write(`${line}\n`);
        return;
      }
      // Clear the bar's line, print, and let the bar's timer draw it again below.
      stream.cursorTo(0);
      stream.clearLine(0);
      process.stdout.write(`${line}\n`);
      bar.update(done, payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.update(done, payload());
      bar.stop();
    },
  };
}
