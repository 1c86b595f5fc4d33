import { describe, expect, it } from "vitest";
import { ksStatistic } from "../../../../services/monitor/drift/ks.ts";
import { wassersteinDistance } from "../../../../services/monitor/drift/wasserstein.ts";
import {
  bracketedQuantile,
  type CdfBrackets,
  compareWithReference,
  WindowSketch,
} from "../../../../services/monitor/drift/window-sketch.ts";
import { gaussian, seededRandom } from "../../../../services/shared/random.ts";

const DELTA = 1e-6;

function cauchy(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, () => Math.tan(Math.PI * (random() - 0.5)));
}

function sketchOf(values: ArrayLike<number>, options: { k: number; tail: number; seed?: number }): WindowSketch {
  const sketch = new WindowSketch(options);
  for (let i = 0; i < values.length; i++) sketch.add(values[i] as number);
  return sketch;
}

/** The exact rank function at every step of the brackets lies within them. */
function expectBracketsHold(brackets: CdfBrackets, values: ArrayLike<number>): void {
  const sorted = Float64Array.from(values).sort();
  let i = 0;
  for (let s = 0; s < brackets.steps.length; s++) {
    const x = brackets.steps[s] as number;
    const next = s + 1 < brackets.steps.length ? (brackets.steps[s + 1] as number) : Number.POSITIVE_INFINITY;
    while (i < sorted.length && (sorted[i] as number) <= x) i++;
    // Every rank the data takes on [x, next) must lie in the bracket.
    expect(i).toBeGreaterThanOrEqual(brackets.lower[s] as number);
    let j = i;
    while (j < sorted.length && (sorted[j] as number) < next) j++;
    expect(j).toBeLessThanOrEqual(brackets.upper[s] as number);
  }
  expect(brackets.steps[0]).toBe(sorted[0]);
  expect(brackets.steps[brackets.steps.length - 1]).toBe(sorted[sorted.length - 1]);
  expect(brackets.estimate[brackets.estimate.length - 1]).toBe(sorted.length);
}

describe("window sketch", () => {
  it("keeps the tail largest and smallest values exactly and sketches the rest", () => {
    const values = cauchy(20_000, 1);
    const sketch = sketchOf(values, { k: 64, tail: 100 });
    const state = sketch.toState();
    const sorted = values.slice().sort();
    expect([...state.top].sort((a, b) => a - b)).toEqual(Array.from(sorted.subarray(-100)));
    expect([...state.bottom].sort((a, b) => a - b)).toEqual(Array.from(sorted.subarray(0, 100)));
    expect(state.middleMin).toBe(sorted[100]);
    expect(state.middleMax).toBe(sorted[sorted.length - 101]);
    expect(sketch.n).toBe(20_000);
    expect(sketch.middle.n).toBe(19_800);
  });

  it("brackets the exact rank function, on heavy tails, ties and sorted input", () => {
    const random = seededRandom(2);
    const cases = {
      cauchy: cauchy(30_000, 3),
      ties: Float64Array.from({ length: 30_000 }, () => Math.floor(-3 * Math.log(1 - random()))),
      increasing: Float64Array.from({ length: 30_000 }, (_, i) => i),
      small: cauchy(150, 4),
    };
    for (const values of Object.values(cases)) {
      const brackets = sketchOf(values, { k: 64, tail: 50, seed: 1 }).cdfBrackets(DELTA);
      expectBracketsHold(brackets, values);
    }
  });

  it("is exact while it holds every value, and then KS and Wasserstein are the exact ones", () => {
    const random = seededRandom(5);
    const reference = Float64Array.from({ length: 5000 }, () => gaussian(random)).sort();
    const current = Float64Array.from({ length: 900 }, () => 0.3 + 2 * gaussian(random));
    const brackets = sketchOf(current, { k: 512, tail: 200 }).cdfBrackets(DELTA);
    expect(brackets.rankError).toBe(0);
    expect(Array.from(brackets.lower)).toEqual(Array.from(brackets.upper));
    const comparison = compareWithReference(reference, brackets);
    const sorted = current.slice().sort();
    expect(comparison.ks.estimate).toBeCloseTo(ksStatistic(reference, sorted), 14);
    expect(comparison.ks.lower).toBe(comparison.ks.upper);
    expect(comparison.wasserstein.estimate).toBeCloseTo(wassersteinDistance(reference, sorted), 12);
    expect(comparison.wasserstein.upper - comparison.wasserstein.lower).toBeLessThan(1e-9);
    expect(bracketedQuantile(brackets, 0.5)).toEqual({ estimate: sorted[449], lower: sorted[449], upper: sorted[449] });
  });

  it("merges windows: the tails of the union and brackets that still hold", () => {
    const values = cauchy(40_000, 6);
    const merged = new WindowSketch({ k: 64, tail: 100, seed: 1 });
    for (let p = 0; p < 5; p++)
      merged.merge(sketchOf(values.subarray(p * 8000, (p + 1) * 8000), { k: 64, tail: 100, seed: 2 + p }));
    // A small partition whose values all sit in its own top heap.
    const tiny = cauchy(30, 7);
    merged.merge(sketchOf(tiny, { k: 64, tail: 100 }));
    const all = new Float64Array([...values, ...tiny]);
    const sorted = all.slice().sort();
    const state = merged.toState();
    expect([...state.top].sort((a, b) => a - b)).toEqual(Array.from(sorted.subarray(-100)));
    expect([...state.bottom].sort((a, b) => a - b)).toEqual(Array.from(sorted.subarray(0, 100)));
    expect(merged.n).toBe(all.length);
    expectBracketsHold(merged.cdfBrackets(DELTA), all);
  });

  it("bounds KS and Wasserstein on Cauchy data far tighter than the value range", () => {
    const reference = cauchy(200_000, 8).sort();
    const current = cauchy(200_000, 9);
    const sketch = sketchOf(current, { k: 256, tail: 256, seed: 3 });
    const comparison = compareWithReference(reference, sketch.cdfBrackets(DELTA));
    const sorted = current.slice().sort();
    const d = ksStatistic(reference, sorted);
    const w = wassersteinDistance(reference, sorted);
    expect(comparison.ks.lower).toBeLessThanOrEqual(d);
    expect(d).toBeLessThanOrEqual(comparison.ks.upper);
    expect(comparison.wasserstein.lower).toBeLessThanOrEqual(w);
    expect(w).toBeLessThanOrEqual(comparison.wasserstein.upper);
    // Without exact tails the bound would be about ε·(max − min), here over 10⁴.
    const range = (sorted[sorted.length - 1] as number) - (sorted[0] as number);
    expect(comparison.wasserstein.upper - comparison.wasserstein.lower).toBeLessThan(range / 1000);
  });

  it("round-trips through a plain state", () => {
    const values = cauchy(10_000, 10);
    const sketch = sketchOf(values, { k: 64, tail: 32, seed: 4 });
    const restored = WindowSketch.fromState(JSON.parse(JSON.stringify(sketch.toState())));
    expect(restored.cdfBrackets(DELTA)).toEqual(sketch.cdfBrackets(DELTA));
    expect(restored.byteSize()).toBe(sketch.byteSize());
    expect(() => new WindowSketch({ k: 64, tail: 0 })).toThrow(/tail/);
  });
});
