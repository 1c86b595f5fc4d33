import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress, formatRate, liveRate } from "../../../services/shared/progress.ts";

/** A stream that records what is written to it, a terminal or not. */
function stream(isTTY: boolean) {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; cursorTo?: unknown; clearLine?: unknown };
  if (isTTY) {
    out.isTTY = true;
    out.columns = 120;
    // What cli-progress calls on a terminal.
    out.cursorTo = (_x: number, _y?: number, done?: () => void) => done?.();
    out.clearLine = (_dir: number, done?: () => void) => done?.();
    (out as unknown as { moveCursor: unknown }).moveCursor = (_x: number, _y: number, done?: () => void) => done?.();
  }
  return { out: out as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}

describe("live rate", () => {
  it("counts over the window, from the sample just before it", () => {
    const samples = [
      { at: 0, done: 0 },
      { at: 1000, done: 100 },
      { at: 6000, done: 600 },
      { at: 7000, done: 1600 },
    ];
    // Window of 2 s ending at 7 s: from the sample at 6 s back one, i.e. 1 s → 7 s.
    expect(liveRate(samples, 7000, 2000)).toBeCloseTo(1500 / 6, 6);
    // A window covering everything: the whole run.
    expect(liveRate(samples, 7000, 60_000)).toBeCloseTo(1600 / 7, 6);
  });

  it("is 0 without two samples or without time between them", () => {
    expect(liveRate([], 0, 1000)).toBe(0);
    expect(liveRate([{ at: 5, done: 10 }], 5, 1000)).toBe(0);
    expect(
      liveRate(
        [
          { at: 5, done: 0 },
          { at: 5, done: 10 },
        ],
        5,
        1000,
      ),
    ).toBe(0);
  });

  it("reads as a person would", () => {
    expect(formatRate(0, "events")).toBe("0.0 events/s");
    expect(formatRate(7.25, "events")).toBe("7.3 events/s");
    expect(formatRate(512.4, "events")).toBe("512 events/s");
    expect(formatRate(2345, "events")).toBe("2.3k events/s");
    expect(formatRate(45_678, "runs")).toBe("46k runs/s");
  });
});

describe("progress bar", () => {
  it("writes nothing when its stream is not a terminal", () => {
    const { out, text } = stream(false);
    const progress = createProgress({ label: "publish", total: 10, unit: "events", stream: out });
    progress.add(5, "half");
    progress.note("x");
    progress.stop();
    expect(text()).toBe("");
  });

  it("shows the count, the total and the rate on a terminal", () => {
    const { out, text } = stream(true);
    let clock = 0;
    const progress = createProgress({ label: "publish", total: 1000, unit: "events", stream: out, now: () => clock });
    clock = 1000;
    progress.add(400);
    clock = 2000;
    progress.add(400, "2 rejected");
    progress.stop();
    const written = text();
    expect(written).toContain("publish [");
    expect(written).toContain("800/1000");
    expect(written).toContain("400 events/s");
    expect(written).toContain("2 rejected");
    // Stopped is stopped: nothing more is drawn.
    const length = written.length;
    progress.add(100);
    expect(text().length).toBe(length);
  });
});
