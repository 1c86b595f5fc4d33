import { describe, expect, it } from "vitest";
import { KllSketch } from "../../../../services/monitor/drift/kll.ts";
import { gaussian, seededRandom } from "../../../../services/shared/random.ts";

const DELTA = 1e-6;

function sketchOf(values: ArrayLike<number>, k: number, seed: number): KllSketch {
  const sketch = new KllSketch({ k, seed });
  for (let i = 0; i < values.length; i++) sketch.update(values[i] as number);
  return sketch;
}

/** sup_x |R̂(x) − R(x)|: both rank functions step only at data values, so those are checked. */
function supRankError(sketch: KllSketch, values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  const { values: items, weights } = sketch.items();
  let j = 0;
  let estimated = 0;
  let worst = 0;
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i] as number;
    if (i + 1 < sorted.length && sorted[i + 1] === x) continue;
    while (j < items.length && (items[j] as number) <= x) estimated += weights[j++] as number;
    worst = Math.max(worst, Math.abs(estimated - (i + 1)));
  }
  return worst;
}

function normals(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, () => gaussian(random));
}

describe("KLL sketch", () => {
  it("is exact until its first compaction", () => {
    const values = normals(60, 1);
    const sketch = sketchOf(values, 64, 1);
    expect(sketch.exact).toBe(true);
    expect(sketch.rankErrorBound(DELTA)).toBe(0);
    expect(supRankError(sketch, values)).toBe(0);
    const sorted = values.slice().sort();
    expect(sketch.quantile(0.5)).toBe(sorted[29]);
    expect(sketch.rank(sorted[9] as number)).toBe(10);
  });

  it("stays within its stated uniform rank-error bound, whatever the seed and input order", () => {
    const n = 50_000;
    const base = normals(n, 2);
    const orders = {
      random: base,
      increasing: base.slice().sort(),
      decreasing: base.slice().sort().reverse(),
      // Heavy ties: five distinct values.
      ties: Float64Array.from(base, (v) => Math.min(4, Math.max(0, Math.round(v + 2)))),
    };
    let worstRatio = 0;
    for (const [name, values] of Object.entries(orders)) {
      for (let seed = 1; seed <= 8; seed++) {
        const sketch = sketchOf(values, 64, seed);
        const bound = sketch.rankErrorBound(DELTA);
        const error = supRankError(sketch, values);
        expect(error, `${name}, seed ${seed}`).toBeLessThanOrEqual(bound);
        worstRatio = Math.max(worstRatio, error / bound);
      }
    }
    // The bound is a high-probability one, not a loose worst case: errors reach a fair share of it.
    expect(worstRatio).toBeGreaterThan(0.1);
  });

  it("bounds the rank error by about 5.3/k of n, in O(k + log n) items", () => {
    const values = normals(200_000, 3);
    for (const k of [128, 512, 2048]) {
      const sketch = sketchOf(values, k, 1);
      const epsilon = sketch.rankErrorBound(DELTA) / values.length;
      expect(epsilon * k).toBeGreaterThan(4);
      expect(epsilon * k).toBeLessThan(7);
      expect(sketch.size).toBeLessThan(3 * k + 8 * sketch.levelCount);
      expect(sketch.byteSize()).toBe(8 * (5 + sketch.levelCount + sketch.size));
    }
  });

  it("merges into a sketch with the same kind of guarantee as sketching the union", () => {
    const values = normals(60_000, 4);
    for (const parts of [2, 7, 40]) {
      const merged = new KllSketch({ k: 64, seed: 100 });
      const size = Math.ceil(values.length / parts);
      let variance = 0;
      for (let p = 0; p < parts; p++) {
        const part = sketchOf(values.subarray(p * size, (p + 1) * size), 64, p + 1);
        variance += part.variance;
        merged.merge(part);
      }
      expect(merged.n).toBe(values.length);
      expect(merged.variance).toBeGreaterThanOrEqual(variance);
      expect(supRankError(merged, values)).toBeLessThanOrEqual(merged.rankErrorBound(DELTA));
      // Merging costs about what one sketch of the union costs.
      const whole = sketchOf(values, 64, 1);
      expect(merged.rankErrorBound(DELTA)).toBeLessThan(2 * whole.rankErrorBound(DELTA));
    }
  });

  it("is deterministic given its seed", () => {
    const values = normals(20_000, 5);
    expect(sketchOf(values, 32, 9).toState()).toEqual(sketchOf(values, 32, 9).toState());
    expect(sketchOf(values, 32, 9).toState()).not.toEqual(sketchOf(values, 32, 10).toState());
  });

  it("serializes to a plain object and to bytes, and resumes exactly where it stopped", () => {
    const values = normals(30_000, 6);
    const whole = sketchOf(values, 48, 3);
    const half = sketchOf(values.subarray(0, 17_000), 48, 3);
    const fromJson = KllSketch.fromState(JSON.parse(JSON.stringify(half.toState())));
    const fromBytes = KllSketch.fromBytes(half.toBytes());
    expect(half.toBytes().byteLength).toBe(half.byteSize());
    for (const restored of [fromJson, fromBytes]) {
      for (const value of values.subarray(17_000)) restored.update(value);
      expect(restored.toState()).toEqual(whole.toState());
    }
  });

  it("refuses bad input and inconsistent states", () => {
    expect(() => new KllSketch({ k: 4 })).toThrow(/k must be/);
    expect(() => new KllSketch({ k: 64 }).update(Number.NaN)).toThrow(/finite/);
    expect(() => new KllSketch({ k: 64 }).merge(new KllSketch({ k: 32 }))).toThrow(/cannot merge/);
    const state = sketchOf(normals(1000, 7), 16, 1).toState();
    expect(() => KllSketch.fromState({ ...state, n: state.n + 1 })).toThrow(/add up/);
    expect(() => KllSketch.fromBytes(new Uint8Array(7))).toThrow(/not a serialized/);
    expect(() => new KllSketch({ k: 64 }).rankErrorBound(0)).toThrow(/δ/);
  });
});
