// Windows per partition: each partition's part is sealed when the watermark (over the partitions
// owned here and the ones other instances report) passes its end; lateness is judged per partition.
import { describe, expect, it } from "vitest";
import { PartitionedWindows, type RemoteSource } from "../../../services/monitor/windowing/partitioned-windows.ts";

const minute = 60_000;
const spec = { sizeMs: minute, slideMs: minute, allowedLatenessMs: 0, idleMs: 30_000 };

function windowsOf() {
  return new PartitionedWindows<number[]>(spec, () => []);
}

function remote(progress: Partial<RemoteSource>): RemoteSource {
  return {
    maxEventTime: Number.NEGATIVE_INFINITY,
    seenAt: 0,
    caughtUp: false,
    sealedThrough: Number.NEGATIVE_INFINITY,
    live: true,
    ...progress,
  };
}

describe("partitioned windows", () => {
  it("keeps one part per partition and seals both once the slowest partition passes the window", () => {
    const w = windowsOf();
    w.assign(
      [
        { source: "0", caughtUp: false },
        { source: "1", caughtUp: false },
      ],
      0,
    );
    w.add("0", "v1", 10, (s) => s.push(10));
    w.add("1", "v1", 20, (s) => s.push(20));
    w.add("0", "v1", minute + 5, (s) => s.push(minute + 5));
    // Partition 1 is still in the first minute: nothing sealed.
    expect(w.advance(0)).toEqual([]);
    w.add("1", "v1", minute + 1, (s) => s.push(minute + 1));
    const sealed = w.advance(0);
    expect(sealed.map((p) => [p.source, p.start, p.state])).toEqual([
      ["0", 0, [10]],
      ["1", 0, [20]],
    ]);
    expect(w.progress().get("0")?.sealedThrough).toBe(minute + 1);
  });

  it("waits for a partition another instance owns until it reports past the window", () => {
    const w = windowsOf();
    w.assign([{ source: "0", caughtUp: false }], 0);
    w.setRemote(new Map([["1", remote({ maxEventTime: 30 })]]));
    w.add("0", "v1", 10, (s) => s.push(10));
    w.add("0", "v1", 2 * minute, (s) => s.push(2 * minute));
    expect(w.advance(0)).toEqual([]);
    w.setRemote(new Map([["1", remote({ maxEventTime: minute + 30 })]]));
    expect(w.advance(0).map((p) => p.start)).toEqual([0]);
  });

  it("lets an idle remote partition go, but not one whose owner went silent", () => {
    const w = windowsOf();
    w.assign([{ source: "0", caughtUp: false }], 0);
    w.add("0", "v1", 10, (s) => s.push(10), 0);
    w.add("0", "v1", 2 * minute, (s) => s.push(2 * minute), 100_000);
    // Read to its end and quiet for 100 s, but its owner stopped reporting: it holds the windows.
    w.setRemote(new Map([["1", remote({ maxEventTime: 30, caughtUp: true, seenAt: 0, live: false })]]));
    expect(w.advance(100_000)).toEqual([]);
    // The same report from a live owner: idle, so it holds nothing back.
    w.setRemote(new Map([["1", remote({ maxEventTime: 30, caughtUp: true, seenAt: 0, live: true })]]));
    expect(w.advance(100_000).map((p) => p.start)).toEqual([0]);
  });

  it("judges lateness by what is sealed for the event's own partition", () => {
    const w = windowsOf();
    w.assign([{ source: "0", caughtUp: false }], 0);
    w.add("0", "v1", 2 * minute, () => {});
    w.advance(0);
    expect(w.add("0", "v1", 10, () => {})).toBe(false);
    expect(w.late).toBe(1);
    // A partition taken over from another instance resumes from what was sealed for it.
    w.assign(
      [
        { source: "0", caughtUp: false },
        { source: "1", caughtUp: false, resume: { sealedThrough: 0, maxEventTime: 5 } },
      ],
      0,
    );
    const parts: number[][] = [];
    expect(
      w.add("1", "v1", 10, (s) => {
        s.push(10);
        parts.push(s);
      }),
    ).toBe(true);
    expect(parts).toEqual([[10]]);
  });

  it("drops the parts of a partition it no longer owns, and holds a new one back until heard from", () => {
    const w = windowsOf();
    w.assign([{ source: "0", caughtUp: false }], 0);
    w.add("0", "v1", 10, () => {});
    expect(w.openWindows).toBe(1);
    w.assign([{ source: "1", caughtUp: false }], 0);
    expect(w.openWindows).toBe(0);
    expect(w.owns("0")).toBe(false);
    expect(w.advance(0)).toEqual([]);
    expect(w.currentWatermark).toBe(Number.NEGATIVE_INFINITY);
  });
});
