// Event-time windows kept per source (a Kafka partition), so that several monitor instances can each
// hold the partitions they own and a window's parts are merged when it closes.
//
// Each source is in event-time order only within itself, so the watermark is the smallest of the
// sources' newest event times, minus the allowed lateness, taken over the sources this instance owns
// and the remote ones other instances report. A source idle for `idleMs` of wall time stops holding it
// back, but only once it has caught up: a partition not read to its end is behind, not idle, however
// long it goes unheard. Sources announced (`assign`) hold the watermark back before their first event,
// so the first partition heard from does not close windows the others still feed; when every source is
// idle, the watermark follows the slowest one that had events. A remote source whose owner stopped
// reporting holds the watermark at its last word until a new owner reports it.
//
// A source's part of a window is sealed once the watermark passes the window's end: the part is
// final, and the source's `sealedThrough` records up to where. An event whose windows are all sealed
// for its source is late (counted, not added). Pure.
import { type WindowSpec, windowStarts } from "./windows.ts";

export interface SealedPart<State> {
  source: string;
  group: string;
  start: number;
  end: number;
  state: State;
}

/** What an instance knows of a source: its own, or another instance's report. */
export interface SourceProgress {
  /** Newest event time read (−∞ before the first). */
  maxEventTime: number;
  /** Wall-clock time of its newest event (or of its assignment, before one). */
  seenAt: number;
  /** Read to its end with its newest events. */
  caughtUp: boolean;
  /** Every window ending at or before this is sealed for the source. */
  sealedThrough: number;
}

export interface RemoteSource extends SourceProgress {
  /** Its owner reported recently; a silent owner's source holds the watermark back. */
  live: boolean;
}

interface OwnedSource<State> extends SourceProgress {
  open: Map<string, { group: string; start: number; state: State }>;
}

export class PartitionedWindows<State> {
  private readonly owned = new Map<string, OwnedSource<State>>();
  private remote = new Map<string, RemoteSource>();
  private watermark = Number.NEGATIVE_INFINITY;
  late = 0;

  private readonly spec: WindowSpec;
  private readonly createState: (group: string, start: number, source: string) => State;

  constructor(spec: WindowSpec, createState: (group: string, start: number, source: string) => State) {
    this.spec = spec;
    this.createState = createState;
  }

  /**
   * The sources this instance now reads. A new one starts from `resume` (what was sealed for it, as
   * its last owner stored) and holds the watermark back until heard from, or for `idleMs` if read to
   * its end; one no longer read is dropped with its open parts (its next owner rebuilds them).
   * Returns the new ones.
   */
  assign(
    sources: ReadonlyArray<{ source: string; caughtUp: boolean; resume?: Partial<SourceProgress> }>,
    wallNow: number,
  ): string[] {
    const kept = new Set(sources.map((s) => s.source));
    for (const source of this.owned.keys()) if (!kept.has(source)) this.owned.delete(source);
    const added: string[] = [];
    for (const { source, caughtUp, resume } of sources) {
      const known = this.owned.get(source);
      if (known) {
        known.caughtUp = caughtUp;
        continue;
      }
      this.owned.set(source, {
        maxEventTime: resume?.maxEventTime ?? Number.NEGATIVE_INFINITY,
        seenAt: wallNow,
        caughtUp,
        sealedThrough: resume?.sealedThrough ?? Number.NEGATIVE_INFINITY,
        open: new Map(),
      });
      this.remote.delete(source);
      added.push(source);
    }
    return added;
  }

  /** Other instances' sources, as they last reported them (sources owned here are ignored). */
  setRemote(remote: ReadonlyMap<string, RemoteSource>): void {
    this.remote = new Map([...remote].filter(([source]) => !this.owned.has(source)));
  }

  /** Adds an event; returns false (and counts it late) when its windows are all sealed for its source. */
  add(source: string, group: string, time: number, update: (state: State) => void, wallNow = 0): boolean {
    let owned = this.owned.get(source);
    if (!owned) {
      // A source never announced (a caller that does not assign): owned from its first event.
      this.assign([...this.ownedList(), { source, caughtUp: true }], wallNow);
      owned = this.owned.get(source) as OwnedSource<State>;
    }
    if (owned.maxEventTime === Number.NEGATIVE_INFINITY) this.startIdleClocks(wallNow);
    owned.maxEventTime = Math.max(owned.maxEventTime, time);
    owned.seenAt = wallNow;
    let added = false;
    for (const start of windowStarts(time, this.spec)) {
      if (start + this.spec.sizeMs <= owned.sealedThrough) continue;
      const key = `${group}\u0000${start}`;
      let window = owned.open.get(key);
      if (!window) {
        window = { group, start, state: this.createState(group, start, source) };
        owned.open.set(key, window);
      }
      update(window.state);
      added = true;
    }
    if (!added) this.late += 1;
    return added;
  }

  /** Says whether a source was read to its end with its latest events (a Kafka partition's lag was 0). */
  setCaughtUp(source: string, caughtUp: boolean): void {
    const owned = this.owned.get(source);
    if (owned) owned.caughtUp = caughtUp;
  }

  /** Moves the watermark (never back) and seals every owned source's parts that end at or before it. */
  advance(wallNow = 0): SealedPart<State>[] {
    const idleMs = this.spec.idleMs ?? Number.POSITIVE_INFINITY;
    const sources: Array<SourceProgress & { live?: boolean }> = [...this.owned.values(), ...this.remote.values()];
    const active = sources.filter((s) => s.live === false || !s.caughtUp || wallNow - s.seenAt <= idleMs);
    // All idle: the watermark follows the slowest source that ever had events.
    const pool = active.length > 0 ? active : sources.filter((s) => s.maxEventTime > Number.NEGATIVE_INFINITY);
    if (pool.length > 0) {
      const next = Math.min(...pool.map((s) => s.maxEventTime)) - this.spec.allowedLatenessMs;
      if (next > this.watermark) this.watermark = next;
    }
    return this.sealUpTo(this.watermark);
  }

  /** Seals everything open (at shutdown, or in tests). */
  flush(): SealedPart<State>[] {
    return this.sealUpTo(Number.POSITIVE_INFINITY);
  }

  /** The owned sources' progress, for reporting. */
  progress(): Map<string, SourceProgress> {
    return new Map(
      [...this.owned].map(([source, { maxEventTime, seenAt, caughtUp, sealedThrough }]) => [
        source,
        { maxEventTime, seenAt, caughtUp, sealedThrough },
      ]),
    );
  }

  owns(source: string): boolean {
    return this.owned.has(source);
  }

  get openWindows(): number {
    let open = 0;
    for (const owned of this.owned.values()) open += owned.open.size;
    return open;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  private ownedList(): Array<{ source: string; caughtUp: boolean }> {
    return [...this.owned].map(([source, { caughtUp }]) => ({ source, caughtUp }));
  }

  /**
   * Sources announced but not heard from start their idle time when another source's first events
   * arrive: a stream that begins long after the assignment must not find them idle already.
   */
  private startIdleClocks(wallNow: number): void {
    for (const s of this.owned.values()) if (s.maxEventTime === Number.NEGATIVE_INFINITY) s.seenAt = wallNow;
  }

  private sealUpTo(watermark: number): SealedPart<State>[] {
    const sealed: SealedPart<State>[] = [];
    for (const [source, owned] of this.owned) {
      for (const [key, window] of owned.open) {
        const end = window.start + this.spec.sizeMs;
        if (end <= watermark) {
          sealed.push({ source, group: window.group, start: window.start, end, state: window.state });
          owned.open.delete(key);
        }
      }
      if (watermark > owned.sealedThrough && watermark < Number.POSITIVE_INFINITY) owned.sealedThrough = watermark;
    }
    return sealed.sort((a, b) => a.start - b.start || a.group.localeCompare(b.group) || bySource(a.source, b.source));
  }
}

/** Partitions in number order (sources with other names in text order). */
function bySource(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  return Number.isNaN(x) || Number.isNaN(y) ? a.localeCompare(b) : x - y;
}
