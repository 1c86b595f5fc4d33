import { describe, expect, it } from "vitest";
import { parityCategorical, parityNumerical } from "../../../../services/monitor/drift/parity.ts";
import type { RawCategory, RawNumber } from "../../../../services/monitor/drift/quality.ts";
import {
  binIndex,
  buildReferenceProfile,
  type CategoricalAccumulator,
  type CategoricalProfile,
  createWindow,
  NumericalAccumulator,
  type NumericalProfile,
  payloadBytes,
  SKETCH_K,
  SKETCH_TAIL,
  streamingDefaultTest,
  streamingPsi,
  streamingStatistics,
  streamingVerdicts,
} from "../../../../services/monitor/drift/streaming.ts";
import { welchTTest } from "../../../../services/monitor/drift/t-test.ts";
import { seededRandom } from "../../../../services/shared/random.ts";

function normalSampler(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function windowOf(profile: NumericalProfile, values: readonly RawNumber[]): NumericalAccumulator;
function windowOf(profile: CategoricalProfile, values: readonly RawCategory[]): CategoricalAccumulator;
function windowOf(profile: NumericalProfile | CategoricalProfile, values: readonly RawCategory[]) {
  if (profile.kind === "numerical") {
    const window = createWindow(profile);
    for (const value of values) window.add(value as RawNumber);
    return window;
  }
  const window = createWindow(profile);
  for (const value of values) window.add(value);
  return window;
}

describe("reference profile", () => {
  it("puts quantile edges between the reference min and max, with empty outer bins", () => {
    const values = Array.from({ length: 1001 }, (_, i) => i);
    const profile = buildReferenceProfile(values, { bins: 10 });
    expect(profile.edges).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(profile.shares.length).toBe(12);
    expect(profile.shares[0]).toBe(0);
    expect(profile.shares[11]).toBe(0);
    expect(profile.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(profile.mean).toBe(500);
    expect(profile.min).toBe(0);
    expect(profile.max).toBe(1000);
  });

  it("uses numpy's linear quantiles and drops tied edges", () => {
    // Positions 0, 0.7, …, 7 in the sorted sample; 3.5 and 6.3 fall between distinct values.
    const profile = buildReferenceProfile([1, 1, 1, 1, 2, 2, 2, 3], { bins: 10 });
    expect(profile.edges.map((edge) => Number(edge.toFixed(12)))).toEqual([1, 1.5, 2, 2.3, 3]);
  });

  it("keeps one zero-width bin for a constant reference", () => {
    const profile = buildReferenceProfile([5, 5, 5], { bins: 10 });
    expect(profile.edges).toEqual([5, 5]);
    expect(profile.shares).toEqual([0, 1, 0]);
  });

  it("assigns values to underflow, interior bins (closed on the left) and overflow", () => {
    const edges = [0, 1, 2];
    expect([-1, 0, 0.5, 1, 1.5, 2, 3].map((x) => binIndex(edges, x))).toEqual([0, 1, 1, 2, 2, 2, 3]);
  });

  it("counts missing and non-finite reference values apart", () => {
    const profile = buildReferenceProfile([1, 2, null, Number.NaN, Number.POSITIVE_INFINITY, 3]);
    expect(profile.count).toBe(3);
    expect(profile.quality).toMatchObject({ total: 6, missing: 2, nonFinite: 1 });
  });

  it("refuses a reference without usable values and a bad bin count", () => {
    expect(() => buildReferenceProfile([null, Number.NaN])).toThrow(/no usable values/);
    expect(() => buildReferenceProfile([1, 2], { bins: 0 })).toThrow(/bins must be a positive integer/);
  });

  it("keeps categories sorted with their shares", () => {
    const profile = buildReferenceProfile(["b", "a", "b", null, "c"], { type: "categorical" });
    expect(profile.categories).toEqual(["a", "b", "c"]);
    expect(profile.shares).toEqual([0.25, 0.5, 0.25]);
    expect(profile.quality.missingShare).toBe(0.2);
  });
});

describe("window accumulator", () => {
  const sample = normalSampler(11);
  const reference = Array.from({ length: 5000 }, sample);
  const current = Array.from({ length: 4000 }, () => 3 + 2 * sample());
  const profile = buildReferenceProfile(reference, { bins: 10 });

  it("tracks counts, moments, extremes and data quality in O(bins) state", () => {
    const state = windowOf(profile, [...current, null, Number.NaN, Number.NEGATIVE_INFINITY]).state();
    expect(state.counts.length).toBe(12);
    expect(state.counts.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(state).toMatchObject({ total: 4003, count: 4000, missing: 2, nonFinite: 1 });
    const exact = parityNumerical(reference, current);
    expect(state.mean).toBeCloseTo(exact.moments.currentMean, 12);
    expect(Math.sqrt(state.m2 / 3999)).toBeCloseTo(exact.moments.currentSampleStd, 12);
    expect(state.min).toBe(Math.min(...current));
    expect(state.max).toBe(Math.max(...current));
  });

  it("merges partial windows into the same state as one window", () => {
    const whole = windowOf(profile, current).state();
    const left = windowOf(profile, current.slice(0, 1234));
    left.merge(windowOf(profile, current.slice(1234)));
    const merged = left.state();
    expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
    expect(merged.count).toBe(whole.count);
    expect(merged.mean).toBeCloseTo(whole.mean, 12);
    expect(merged.m2 / whole.m2).toBeCloseTo(1, 12);
    expect([merged.min, merged.max]).toEqual([whole.min, whole.max]);
  });

  it("refuses to merge windows of different profiles", () => {
    const other = new NumericalAccumulator(buildReferenceProfile(reference, { bins: 5 }));
    expect(() => new NumericalAccumulator(profile).merge(other)).toThrow(/different profiles/);
  });
});

describe("streaming statistics", () => {
  it("are zero for a window drawn from the reference itself", () => {
    const values = Array.from({ length: 3000 }, normalSampler(3));
    const profile = buildReferenceProfile(values);
    const stats = streamingStatistics(profile, windowOf(profile, values));
    expect(stats.psi).toBe(0);
    expect(stats.jensenShannon.distance).toBe(0);
    expect(stats.ks.statistic).toBe(0);
    expect(stats.ks.pValue).toBe(1);
    expect(stats.wasserstein.raw).toBe(0);
    expect(stats.meanShift).toBeCloseTo(0, 12);
    expect(stats.varianceRatio).toBeCloseTo(1, 12);
    expect(stats.outOfRangeShare).toBe(0);
  });

  it("give the Welch t-test of the exact moments", () => {
    const sample = normalSampler(5);
    const reference = Array.from({ length: 2000 }, sample);
    const current = Array.from({ length: 700 }, () => 0.2 + 1.4 * sample());
    const profile = buildReferenceProfile(reference);
    const stats = streamingStatistics(profile, windowOf(profile, current));
    const exact = parityNumerical(reference, current).moments;
    const welch = welchTTest(
      { n: 2000, mean: exact.referenceMean, variance: exact.referenceSampleStd ** 2 },
      { n: 700, mean: exact.currentMean, variance: exact.currentSampleStd ** 2 },
    );
    expect(stats.tTest.pValue / welch.pValue).toBeCloseTo(1, 9);
    expect(stats.tTest.dof).toBeCloseTo(welch.dof, 6);
  });

  it("report values outside the reference range in the outer bins", () => {
    const profile = buildReferenceProfile([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const stats = streamingStatistics(profile, windowOf(profile, [-5, 20, 4, 5]));
    expect(stats.outOfRangeShare).toBe(0.5);
  });

  it("leave out of PSI the bins empty on both sides and fill one-sided ones alike", () => {
    expect(streamingPsi([0, 0.5, 0.5, 0], [0, 0.5, 0.5, 0])).toBe(0);
    const filled = (0.5 - 1e-4) * Math.log(0.5 / 1e-4);
    expect(streamingPsi([0, 0.5, 0.5, 0], [0, 0.5, 0, 0.5])).toBeCloseTo(2 * filled, 12);
  });

  it("judge every statistic against the thresholds and pick Evidently's test by reference size", () => {
    const sample = normalSampler(9);
    const reference = Array.from({ length: 5000 }, sample);
    const profile = buildReferenceProfile(reference);
    const stats = streamingStatistics(
      profile,
      windowOf(
        profile,
        Array.from({ length: 2000 }, () => 1 + sample()),
      ),
    );
    const verdicts = streamingVerdicts(stats);
    expect(verdicts.psi).toMatchObject({ threshold: 0.1, drifted: true, level: "alert" });
    expect(verdicts.ksPValue?.drifted).toBe(true);
    expect(verdicts.meanShift?.drifted).toBe(true);
    expect(verdicts.missingShare).toEqual({ value: 0, threshold: 0.05, drifted: false });
    expect(streamingDefaultTest(profile, stats)).toMatchObject({ name: "wasserstein", threshold: 0.1, drifted: true });
  });

  // The intervals stated in streaming.ts, checked against parity mode's exact values on 20 000
  // values a side: past the sketch's exact size, so the KLL part is in play.
  describe("sketched KS and Wasserstein versus the exact values", () => {
    const scenarios = [
      { name: "same distribution", shift: 0, scale: 1 },
      { name: "mean shift 0.3", shift: 0.3, scale: 1 },
      { name: "scale 1.5", shift: 0, scale: 1.5 },
      { name: "shift 1, scale 2 (mass outside the reference range)", shift: 1, scale: 2 },
    ];
    for (const [i, scenario] of scenarios.entries()) {
      it(`lie in the stated intervals: ${scenario.name}`, () => {
        const sample = normalSampler(100 + i);
        const reference = Array.from({ length: 20_000 }, sample);
        const current = Array.from({ length: 20_000 }, () => scenario.shift + scenario.scale * sample());
        const profile = buildReferenceProfile(reference);
        const stats = streamingStatistics(profile, windowOf(profile, current));
        const exact = parityNumerical(reference, current);
        expect(stats.sketch.exact).toBe(false);
        expect(exact.ks.statistic).toBeGreaterThanOrEqual(stats.ks.lower - 1e-12);
        expect(exact.ks.statistic).toBeLessThanOrEqual(stats.ks.upper + 1e-12);
        expect(Math.abs(exact.ks.statistic - stats.ks.statistic)).toBeLessThanOrEqual(stats.ks.errorBound + 1e-12);
        expect(stats.ks.errorBound).toBeLessThanOrEqual(stats.sketch.rankError + 1e-12);
        expect(exact.wasserstein.normed).toBeGreaterThanOrEqual(stats.wasserstein.lower - 1e-12);
        expect(exact.wasserstein.normed).toBeLessThanOrEqual(stats.wasserstein.upper + 1e-12);
        expect(Math.abs(exact.wasserstein.normed - stats.wasserstein.normed)).toBeLessThanOrEqual(
          stats.wasserstein.errorBound + 1e-12,
        );
        // Moments are exact whatever the sketch.
        expect(stats.meanShift).toBeCloseTo(
          (exact.moments.currentMean - exact.moments.referenceMean) / exact.moments.referenceStd,
          10,
        );
      });
    }

    it("are exact, with zero-width intervals, for a window the sketch holds whole", () => {
      const sample = normalSampler(7);
      const reference = Array.from({ length: 5000 }, sample);
      const current = Array.from({ length: 3000 }, () => 0.4 + sample());
      const profile = buildReferenceProfile(reference);
      const stats = streamingStatistics(profile, windowOf(profile, current));
      const exact = parityNumerical(reference, current);
      expect(stats.sketch).toMatchObject({ exact: true, rankError: 0 });
      expect(stats.ks.statistic).toBeCloseTo(exact.ks.statistic, 14);
      expect(stats.ks.errorBound).toBe(0);
      expect(stats.wasserstein.normed).toBeCloseTo(exact.wasserstein.normed, 10);
      expect(stats.wasserstein.errorBound).toBeLessThan(1e-12);
      const sorted = [...current].sort((x, y) => x - y);
      expect(Object.keys(stats.quantiles)).toEqual(["p1", "p5", "p25", "p50", "p75", "p95", "p99"]);
      for (const q of Object.values(stats.quantiles)) {
        const value = sorted[Math.ceil(q.p * sorted.length) - 1];
        expect(q).toMatchObject({ value, lower: value, upper: value });
      }
    });

    it("merge partial windows into a window with the same guarantees", () => {
      const sample = normalSampler(8);
      const reference = Array.from({ length: 20_000 }, sample);
      const current = Array.from({ length: 30_000 }, () => 0.2 + sample());
      const profile = buildReferenceProfile(reference);
      const parts = [0, 7_000, 19_000, 30_000];
      const merged = createWindow(profile, { seed: 1 });
      for (let p = 0; p + 1 < parts.length; p++) {
        const part = createWindow(profile, { seed: 10 + p });
        for (const value of current.slice(parts[p], parts[p + 1])) part.add(value);
        merged.merge(part);
      }
      const stats = streamingStatistics(profile, merged);
      const exact = parityNumerical(reference, current);
      expect(stats.count).toBe(30_000);
      expect(Math.abs(exact.ks.statistic - stats.ks.statistic)).toBeLessThanOrEqual(stats.ks.errorBound + 1e-12);
      expect(Math.abs(exact.wasserstein.normed - stats.wasserstein.normed)).toBeLessThanOrEqual(
        stats.wasserstein.errorBound + 1e-12,
      );
    });
  });
});

describe("categorical streaming", () => {
  it("reports the unseen share apart and tests the seen categories with chi-square", () => {
    const profile = buildReferenceProfile(["a", "a", "b", "c"], { type: "categorical" });
    const stats = streamingStatistics(profile, windowOf(profile, ["a", "b", "b", "c", "d", "d", null]));
    expect(stats.unseenShare).toBeCloseTo(2 / 6, 15);
    expect(stats.window.missingShare).toBeCloseTo(1 / 7, 15);
    expect(stats.chiSquare.dof).toBe(2);
    // Four seen values against reference shares 1/2, 1/4, 1/4.
    expect(stats.chiSquare.statistic).toBeCloseTo((1 - 2) ** 2 / 2 + (2 - 1) ** 2 / 1 + 0, 12);
    expect(stats.zTest).toBeUndefined();
    expect(stats.psi).toBeGreaterThan(0.25);
  });

  it("matches parity mode's z-test for a binary feature without unseen values", () => {
    const random = seededRandom(21);
    const reference = Array.from({ length: 800 }, () => (random() < 0.3 ? "yes" : "no"));
    const current = Array.from({ length: 500 }, () => (random() < 0.38 ? "yes" : "no"));
    const profile = buildReferenceProfile(reference, { type: "categorical" });
    const stats = streamingStatistics(profile, windowOf(profile, current));
    const exact = parityCategorical(reference, current);
    expect(stats.zTest?.pValue).toBeCloseTo(exact.zTest?.pValue ?? Number.NaN, 12);
    expect(stats.chiSquare.pValue).toBeCloseTo(exact.chiSquare?.pValue ?? Number.NaN, 12);
    expect(stats.jensenShannon.distance).toBeCloseTo(exact.jensenShannon.distance, 12);
    expect(streamingDefaultTest(profile, stats).name).toBe("z");
  });
});

describe("memory", () => {
  it("is bounded per feature and window, whatever the window size", () => {
    const profile = buildReferenceProfile(Array.from({ length: 10_000 }, normalSampler(1)));
    // 11 edges + 12 shares + 10 000 sorted values + 9 scalars; a window's fixed part is 12 counts + 8 scalars.
    expect(payloadBytes(profile)).toEqual({ profile: 8 * (32 + 10_000), window: 8 * 20 });
    const small = windowOf(profile, [1]);
    expect(small.byteSize()).toBe(8 * 20 + 8 * (4 + 1) + 8 * 6);
    const sample = normalSampler(2);
    const large = createWindow(profile, { seed: 3 });
    let previous = 0;
    for (const n of [10_000, 100_000, 1_000_000]) {
      while ((large.state().count as number) < n) large.add(sample());
      // KLL: under 3k items plus MIN_WIDTH per level, a header per level; the tails: 2·tail values.
      const bound = 8 * 20 + 8 * (4 + 2 * SKETCH_TAIL) + 8 * (5 + 3 * SKETCH_K + 9 * 40);
      expect(large.byteSize()).toBeLessThan(bound);
      previous = Math.max(previous, large.byteSize());
    }
    expect(previous).toBeLessThan(100_000);
  });
});
