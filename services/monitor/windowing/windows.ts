// Event-time windows: tumbling (slide = size) or sliding (slide < size), what an event belongs to, and
// the spec the watermark works with. partitioned-windows.ts keeps the open windows per partition and
// closes them; each open window holds whatever state the caller keeps (here, drift accumulators).

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
