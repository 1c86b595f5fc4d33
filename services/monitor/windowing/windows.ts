// Event-time windows: tumbling (slide = size) or sliding (slide < size), closed by a watermark. Each
// source (a Kafka partition) is in event-time order only within itself, so the watermark is the
// smallest of the sources' newest event times, minus the allowed lateness; a source idle for
// `idleMs` of wall time stops holding it back, but only once it has caught up: a partition the
// consumer has not read to its end is behind, not idle, however long it goes unheard. An event
// whose windows are all closed already is late: it is counted, not added. Sources the caller
// announces (`setSources`) hold the watermark back before their first event, so the first partition
// heard from does not close windows the others still feed. Pure; each open window
// holds whatever state the caller keeps per window (here, O(bins) drift accumulators).

export interface WindowSpec {
  sizeMs: number;
  slideMs: number;
  allowedLatenessMs: number;
  /** Wall-clock time after which a silent source no longer holds the watermark back. */
  idleMs?: number;
}

/** Starts of every window [start, start + size) that contains `time`, oldest first. */
export function windowStarts(time: number, spec: WindowSpec): number[] {
  const last = Math.floor(time / spec.slideMs) * spec.slideMs;
  const starts: number[] = [];
  for (let start = last; start > time - spec.sizeMs; start -= spec.slideMs) starts.unshift(start);
  return starts;
}

export interface ClosedWindow<State> {
  key: string;
  start: number;
  end: number;
  state: State;
}

/**
 * Open windows keyed by (group, start): a group separates what must not mix, e.g. model versions.
 * `add` routes an event to its open windows; `advance` closes the ones the watermark has passed.
 */
export class WindowTracker<State> {
  private readonly open = new Map<string, { group: string; start: number; state: State }>();
  private watermark = Number.NEGATIVE_INFINITY;
  /**
   * Per source: newest event time, the wall-clock time it was last heard from, and whether it was
   * read to its end then (true unless the caller says otherwise).
   */
  private readonly sources = new Map<string, { maxEventTime: number; seenAt: number; caughtUp: boolean }>();
  late = 0;

  private readonly spec: WindowSpec;
  private readonly createState: (group: string, start: number) => State;

  constructor(spec: WindowSpec, createState: (group: string, start: number) => State) {
    this.spec = spec;
    this.createState = createState;
  }

  /** Adds an event from a source; returns false (and counts it late) when all its windows are closed. */
  add(group: string, time: number, update: (state: State) => void, source = "", wallNow = 0): boolean {
    const seen = this.sources.get(source);
    if (!seen || seen.maxEventTime === Number.NEGATIVE_INFINITY) this.startIdleClocks(wallNow);
    if (!seen) this.sources.set(source, { maxEventTime: time, seenAt: wallNow, caughtUp: true });
    else {
      seen.maxEventTime = Math.max(seen.maxEventTime, time);
      seen.seenAt = wallNow;
    }
    let added = false;
    for (const start of windowStarts(time, this.spec)) {
      if (start + this.spec.sizeMs <= this.watermark) continue;
      const key = `${group}\u0000${start}`;
      let window = this.open.get(key);
      if (!window) {
        window = { group, start, state: this.createState(group, start) };
        this.open.set(key, window);
      }
      update(window.state);
      added = true;
    }
    if (!added) this.late += 1;
    return added;
  }

  /**
   * The sources the caller now reads (a consumer's assigned partitions), each with whether it is read
   * to its end. A new one holds the watermark back until it is heard from, or for `idleMs` if it is
   * caught up (nothing to read); one no longer read is forgotten, so it holds nothing back.
   */
  setSources(sources: ReadonlyArray<{ source: string; caughtUp: boolean }>, wallNow = 0): void {
    const kept = new Set(sources.map((s) => s.source));
    for (const source of this.sources.keys()) if (!kept.has(source)) this.sources.delete(source);
    for (const { source, caughtUp } of sources) {
      const seen = this.sources.get(source);
      if (seen) seen.caughtUp = caughtUp;
      else this.sources.set(source, { maxEventTime: Number.NEGATIVE_INFINITY, seenAt: wallNow, caughtUp });
    }
  }

  /**
   * Sources announced but not heard from start their idle time when another source's first events
   * arrive: a stream that begins long after the assignment must not find them idle already.
   */
  private startIdleClocks(wallNow: number): void {
    for (const s of this.sources.values()) if (s.maxEventTime === Number.NEGATIVE_INFINITY) s.seenAt = wallNow;
  }

  /** Says whether a source was read to its end with its latest events (a Kafka partition's lag was 0). */
  setCaughtUp(source: string, caughtUp: boolean): void {
    const seen = this.sources.get(source);
    if (seen) seen.caughtUp = caughtUp;
  }

  /** Moves the watermark (never back) and returns the windows it closed. */
  advance(wallNow = 0): Array<ClosedWindow<State> & { group: string }> {
    const idleMs = this.spec.idleMs ?? Number.POSITIVE_INFINITY;
    const sources = [...this.sources.values()];
    const active = sources.filter((s) => !s.caughtUp || wallNow - s.seenAt <= idleMs);
    // All idle: the watermark follows the slowest source that ever had events.
    const pool = active.length > 0 ? active : sources.filter((s) => s.maxEventTime > Number.NEGATIVE_INFINITY);
    if (pool.length > 0) {
      const next = Math.min(...pool.map((s) => s.maxEventTime)) - this.spec.allowedLatenessMs;
      if (next > this.watermark) this.watermark = next;
    }
    return this.closeUpTo(this.watermark);
  }

  /** Closes every open window (e.g. at shutdown, or in tests). */
  flush(): Array<ClosedWindow<State> & { group: string }> {
    return this.closeUpTo(Number.POSITIVE_INFINITY);
  }

  get openWindows(): number {
    return this.open.size;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  private closeUpTo(watermark: number): Array<ClosedWindow<State> & { group: string }> {
    const closed: Array<ClosedWindow<State> & { group: string }> = [];
    for (const [key, window] of this.open) {
      const end = window.start + this.spec.sizeMs;
      if (end <= watermark) {
        closed.push({ key, group: window.group, start: window.start, end, state: window.state });
        this.open.delete(key);
      }
    }
    return closed.sort((a, b) => a.start - b.start || a.group.localeCompare(b.group));
  }
}
