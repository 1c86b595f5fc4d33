// Event-time windows and the watermark, seen as one monitor holding every partition: the parts each
// partition keeps of a window are joined in partition order, as the monitor merges them.
import { describe, expect, it } from "vitest";
import { PartitionedWindows, type SealedPart } from "../../../services/monitor/windowing/partitioned-windows.ts";
import { type WindowSpec, windowStarts } from "../../../services/monitor/windowing/windows.ts";

const minute = 60_000;

/** The windows as one tracker: sealed parts of the same window joined, sources in order. */
class Tracker {
  readonly windows: PartitionedWindows<number[]>;
  constructor(spec: WindowSpec) {
    this.windows = new PartitionedWindows<number[]>(spec, () => []);
  }
  add(group: string, time: number, update: (state: number[]) => void, source = "", wallNow = 0): boolean {
    return this.windows.add(source, group, time, update, wallNow);
  }
  setSources(sources: Array<{ source: string; caughtUp: boolean }>, wallNow: number): void {
    this.windows.assign(sources, wallNow);
  }
  setCaughtUp(source: string, caughtUp: boolean): void {
    this.windows.setCaughtUp(source, caughtUp);
  }
  advance(wallNow = 0) {
    return joined(this.windows.advance(wallNow));
  }
  flush() {
    return joined(this.windows.flush());
  }
  get late(): number {
    return this.windows.late;
  }
  get openWindows(): number {
    return this.windows.openWindows;
  }
  get currentWatermark(): number {
    return this.windows.currentWatermark;
  }
}

function joined(parts: SealedPart<number[]>[]) {
  const windows = new Map<string, { group: string; start: number; end: number; state: number[] }>();
  for (const part of parts) {
    const key = `${part.group}/${part.start}`;
    const window = windows.get(key) ?? { group: part.group, start: part.start, end: part.end, state: [] };
    window.state.push(...part.state);
    windows.set(key, window);
  }
  return [...windows.values()];
}

describe("window assignment", () => {
  it("puts an event in exactly one tumbling window, start inclusive and end exclusive", () => {
    const spec = { sizeMs: minute, slideMs: minute, allowedLatenessMs: 0 };
    expect(windowStarts(0, spec)).toEqual([0]);
    expect(windowStarts(minute - 1, spec)).toEqual([0]);
    expect(windowStarts(minute, spec)).toEqual([minute]);
  });

  it("puts an event in size/slide sliding windows", () => {
    const spec = { sizeMs: 15 * minute, slideMs: minute, allowedLatenessMs: 0 };
    const starts = windowStarts(20 * minute + 5, spec);
    expect(starts).toHaveLength(15);
    expect(starts[0]).toBe(6 * minute);
    expect(starts.at(-1)).toBe(20 * minute);
    for (const start of starts) expect(start <= 20 * minute + 5 && 20 * minute + 5 < start + 15 * minute).toBe(true);
  });
});

describe("watermark and lateness", () => {
  const spec = { sizeMs: minute, slideMs: minute, allowedLatenessMs: 30_000 };

  it("closes a window once the newest event time minus the lateness passes its end", () => {
    const tracker = new Tracker(spec);
    tracker.add("v1", 10_000, (s) => s.push(1));
    tracker.add("v1", 80_000, (s) => s.push(2));
    expect(tracker.advance()).toEqual([]); // watermark 50 s < end 60 s
    tracker.add("v1", 95_000, (s) => s.push(3));
    const closed = tracker.advance(); // watermark 65 s
    expect(closed.map((w) => [w.start, w.end, w.state])).toEqual([[0, minute, [1]]]);
    expect(tracker.openWindows).toBe(1);
  });

  it("still takes events within the allowed lateness, and counts later ones as late", () => {
    const tracker = new Tracker(spec);
    tracker.add("v1", 100_000, (s) => s.push(1));
    tracker.advance(); // watermark 70 s: window [0, 60 s) is past
    expect(tracker.add("v1", 75_000, (s) => s.push(2))).toBe(true); // its window [60, 120) is open
    expect(tracker.add("v1", 59_000, (s) => s.push(3))).toBe(false);
    expect(tracker.late).toBe(1);
    expect(tracker.flush().map((w) => w.state)).toEqual([[1, 2]]);
  });

  it("keeps groups apart, e.g. two model versions in one minute", () => {
    const tracker = new Tracker(spec);
    tracker.add("v1", 1000, (s) => s.push(1));
    tracker.add("v2", 2000, (s) => s.push(2));
    expect(tracker.flush().map((w) => [w.group, w.state])).toEqual([
      ["v1", [1]],
      ["v2", [2]],
    ]);
  });

  it("never moves the watermark back", () => {
    const tracker = new Tracker(spec);
    tracker.add("v1", 200_000, () => {});
    tracker.advance();
    tracker.add("v1", 100_000, () => {});
    tracker.advance();
    expect(tracker.currentWatermark).toBe(170_000);
  });
});

describe("watermark over several sources", () => {
  const spec = { sizeMs: minute, slideMs: minute, allowedLatenessMs: 0, idleMs: 10_000 };

  it("waits for the slowest source, so a partition behind the others is not late", () => {
    const tracker = new Tracker(spec);
    tracker.add("v", 130_000, (s) => s.push(1), "p0", 0);
    tracker.add("v", 30_000, (s) => s.push(2), "p1", 0);
    expect(tracker.advance(0)).toEqual([]); // p1 holds the watermark at 30 s
    expect(tracker.add("v", 40_000, (s) => s.push(3), "p1", 0)).toBe(true);
    tracker.add("v", 125_000, (s) => s.push(4), "p1", 0);
    expect(tracker.advance(0).map((w) => [w.start, w.state])).toEqual([[0, [2, 3]]]);
  });

  it("stops waiting for a source that has gone quiet", () => {
    const tracker = new Tracker(spec);
    tracker.add("v", 10_000, (s) => s.push(1), "p1", 0);
    tracker.add("v", 130_000, (s) => s.push(2), "p0", 20_000);
    expect(tracker.advance(5_000)).toEqual([]);
    expect(tracker.advance(20_000).map((w) => w.start)).toEqual([0]);
  });

  it("keeps waiting for a quiet source that was not read to its end (a lagging partition)", () => {
    const tracker = new Tracker(spec);
    tracker.add("v", 10_000, (s) => s.push(1), "p1", 0);
    tracker.setCaughtUp("p1", false);
    tracker.add("v", 130_000, (s) => s.push(2), "p0", 20_000);
    expect(tracker.advance(20_000)).toEqual([]);
    // Its next batch arrives late in wall time, and still in its window.
    expect(tracker.add("v", 50_000, (s) => s.push(3), "p1", 40_000)).toBe(true);
    tracker.add("v", 70_000, (s) => s.push(4), "p1", 41_000);
    tracker.setCaughtUp("p1", true);
    expect(tracker.advance(41_000).map((w) => [w.start, w.state])).toEqual([[0, [1, 3]]]);
  });

  /** A tracker told at wall time 0 that it reads p0 and p1, both with (or both without) a backlog. */
  const announced = (caughtUp: boolean) => {
    const tracker = new Tracker(spec);
    tracker.setSources(
      ["p0", "p1"].map((source) => ({ source, caughtUp })),
      0,
    );
    return tracker;
  };

  it("waits for an announced source it has not heard from, so its first events are not late", () => {
    const tracker = announced(false);
    tracker.add("v", 130_000, (s) => s.push(1), "p0", 0);
    // p1 has a backlog: however long it takes, the window it feeds stays open.
    expect(tracker.advance(60_000)).toEqual([]);
    expect(tracker.add("v", 20_000, (s) => s.push(2), "p1", 60_000)).toBe(true);
    tracker.add("v", 125_000, (s) => s.push(3), "p1", 61_000);
    expect(tracker.advance(61_000).map((w) => [w.start, w.state])).toEqual([[0, [2]]]);
  });

  it("waits idleMs for an announced source with nothing to read, then goes on without it", () => {
    const tracker = announced(true);
    tracker.add("v", 70_000, (s) => s.push(1), "p0", 5_000);
    tracker.add("v", 130_000, (s) => s.push(2), "p0", 5_000);
    expect(tracker.advance(15_000)).toEqual([]);
    expect(tracker.advance(15_001).map((w) => w.start)).toEqual([60_000]);
  });

  it("starts an unheard source's idle time when the stream begins, not at the assignment", () => {
    const tracker = announced(true);
    // The first events come long after the assignment: p1 still gets idleMs to be heard from.
    tracker.add("v", 30_000, (s) => s.push(1), "p0", 50_000);
    tracker.add("v", 70_000, (s) => s.push(2), "p0", 50_000);
    expect(tracker.advance(50_000)).toEqual([]);
    expect(tracker.add("v", 40_000, (s) => s.push(3), "p1", 55_000)).toBe(true);
    tracker.add("v", 65_000, (s) => s.push(4), "p1", 55_000);
    expect(tracker.advance(55_000).map((w) => [w.start, w.state])).toEqual([[0, [1, 3]]]);
  });

  it("forgets a source that is no longer read (a revoked partition), with its parts: its next owner rebuilds them", () => {
    const tracker = new Tracker(spec);
    tracker.add("v", 130_000, (s) => s.push(1), "p0", 0);
    tracker.add("v", 10_000, (s) => s.push(2), "p1", 0);
    tracker.setCaughtUp("p1", false);
    expect(tracker.advance(0)).toEqual([]);
    tracker.setSources([{ source: "p0", caughtUp: true }], 0);
    // p1 holds nothing back any more: the watermark moves to p0's 130 s, and p1's part of [0, 60 s) went with it.
    expect(tracker.advance(0)).toEqual([]);
    expect(tracker.currentWatermark).toBe(130_000);
    expect(tracker.flush().map((w) => [w.start, w.state])).toEqual([[120_000, [1]]]);
  });

  it("closes the windows of the sources it heard from once every source is idle, ignoring one never heard from", () => {
    const tracker = announced(true);
    tracker.add("v", 30_000, (s) => s.push(1), "p0", 0);
    tracker.add("v", 70_000, (s) => s.push(2), "p0", 0);
    expect(tracker.advance(0)).toEqual([]);
    expect(tracker.advance(20_000).map((w) => [w.start, w.state])).toEqual([[0, [1]]]);
  });
});
