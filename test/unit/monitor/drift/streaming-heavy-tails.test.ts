// Streaming mode against parity mode on 10⁶ values a side, for light, heavy-tailed, bimodal and
// discrete data: every stated interval holds (the exact KS, Wasserstein and quantiles lie in it),
// and the drift flag of each quantile-based statistic equals parity mode's wherever the exact value
// is farther from the threshold than the stated bound.
//
// Parity mode's KS and Wasserstein are computed here with the functions parityNumerical calls
// (ksTwoSample, wassersteinDistance over the reference population std); parityNumerical itself also
// counts per distinct value for its binning, which takes over 15 s at 10⁶ distinct values and is
// no part of these two statistics. The first test checks the shortcut against it on 10⁵ values.
import { describe, expect, it } from "vitest";
import { ksPValue, ksTwoSample } from "../../../../services/monitor/drift/ks.ts";
import { variance } from "../../../../services/monitor/drift/numeric.ts";
import { parityNumerical } from "../../../../services/monitor/drift/parity.ts";
import { kolmogorovSf } from "../../../../services/monitor/drift/special-functions.ts";
import {
  buildReferenceProfile,
  createWindow,
  type NumericalProfile,
  SKETCH_K,
  SKETCH_TAIL,
  streamingStatistics,
  streamingVerdicts,
} from "../../../../services/monitor/drift/streaming.ts";
import { defaultThresholds, isDrifted } from "../../../../services/monitor/drift/thresholds.ts";
import { normedWasserstein, wassersteinDistance } from "../../../../services/monitor/drift/wasserstein.ts";
import { gaussian, seededRandom } from "../../../../services/shared/random.ts";

const N = 1_000_000;

type Draw = (random: () => number) => number;

interface Distribution {
  name: string;
  reference: Draw;
  /** Current samples: one from the reference distribution, then shifted ones. */
  currents: Array<{ name: string; draw: Draw }>;
}

const normal: Draw = (r) => gaussian(r);
const lognormal =
  (mu: number): Draw =>
  (r) =>
    Math.exp(mu + gaussian(r));
const cauchy =
  (scale: number): Draw =>
  (r) =>
    scale * Math.tan(Math.PI * (r() - 0.5));
const bimodal =
  (left: number): Draw =>
  (r) =>
    (r() < left ? -2 : 2) + gaussian(r);
// floor of an exponential: geometric counts, ties everywhere and about 40 distinct values.
const discrete =
  (mean: number): Draw =>
  (r) =>
    Math.floor(-mean * Math.log(1 - r()));

const distributions: Distribution[] = [
  {
    name: "normal",
    reference: normal,
    currents: [
      { name: "same", draw: normal },
      { name: "mean +0.05", draw: (r) => 0.05 + gaussian(r) },
      { name: "mean +0.13", draw: (r) => 0.13 + gaussian(r) },
    ],
  },
  {
    name: "lognormal",
    reference: lognormal(0),
    currents: [
      { name: "same", draw: lognormal(0) },
      { name: "log-mean +0.2", draw: lognormal(0.2) },
    ],
  },
  {
    name: "Cauchy",
    reference: cauchy(1),
    currents: [
      { name: "same", draw: cauchy(1) },
      { name: "scale ×3", draw: cauchy(3) },
    ],
  },
  {
    name: "bimodal",
    reference: bimodal(0.5),
    currents: [
      { name: "same", draw: bimodal(0.5) },
      { name: "modes 60/40", draw: bimodal(0.6) },
    ],
  },
  {
    name: "discrete",
    reference: discrete(3),
    currents: [
      { name: "same", draw: discrete(3) },
      { name: "mean 3 → 4", draw: discrete(4) },
    ],
  },
];

function sample(draw: Draw, seed: number, n = N): Float64Array {
  const random = seededRandom(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(random);
  return values;
}

/** Parity mode's KS and normed Wasserstein, from sorted samples. */
function exactStatistics(sortedReference: Float64Array, sortedCurrent: Float64Array, referenceStd: number) {
  const ks = ksTwoSample(sortedReference, sortedCurrent);
  return { ks, wasserstein: normedWasserstein(wassersteinDistance(sortedReference, sortedCurrent), referenceStd) };
}

// Each case sketches, sorts and compares 2·10⁶ values; on a busy shared machine that can take a while.
const CASE_TIMEOUT = 60_000;

/** The D at which a p-value function crosses the KS threshold (it decreases in D). */
function criticalD(pValue: (d: number) => number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (pValue(mid) > defaultThresholds.ksPValue.threshold) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const compared = { wasserstein: 0, ks: 0, exempt: [] as string[] };

describe(`streaming mode on 10⁶ values (k = ${SKETCH_K}, tail = ${SKETCH_TAIL}) against parity mode`, () => {
  it(
    "computes parity mode's KS and Wasserstein as parityNumerical does",
    () => {
      const reference = sample(lognormal(0), 1, 100_000);
      const current = sample(lognormal(0.1), 2, 100_000);
      const exact = parityNumerical(Array.from(reference), Array.from(current));
      const ours = exactStatistics(reference.slice().sort(), current.slice().sort(), Math.sqrt(variance(reference, 0)));
      expect(ours.ks).toEqual(exact.ks);
      expect(ours.wasserstein).toBe(exact.wasserstein.normed);
    },
    CASE_TIMEOUT,
  );

  distributions.forEach((distribution, d) => {
    let profile: NumericalProfile | undefined;
    const profileOf = () => {
      profile ??= buildReferenceProfile(Array.from(sample(distribution.reference, 1000 + d)));
      return profile;
    };

    distribution.currents.forEach((current, c) => {
      it(
        `${distribution.name}, ${current.name}: intervals hold and flags match outside the bound`,
        () => {
          const ref = profileOf();
          const values = sample(current.draw, 2000 + 10 * d + c);
          const window = createWindow(ref, { seed: 7 + c });
          for (const value of values) window.add(value);
          const stats = streamingStatistics(ref, window);
          const verdicts = streamingVerdicts(stats);
          const sorted = values.slice().sort();
          const exact = exactStatistics(ref.sorted, sorted, ref.std);
          const label = `${distribution.name}/${current.name}`;

          // The window is far past the exact size: the sketch is what is being tested.
          expect(stats.sketch.exact).toBe(false);

          // Wasserstein: the exact value lies in the stated interval, so within the bound.
          const w = stats.wasserstein;
          expect(w.lower).toBeLessThanOrEqual(exact.wasserstein + 1e-12);
          expect(exact.wasserstein).toBeLessThanOrEqual(w.upper + 1e-12);
          expect(Math.abs(w.normed - exact.wasserstein)).toBeLessThanOrEqual(w.errorBound + 1e-12);
          // The bound is useful: well under the threshold it decides against.
          expect(w.errorBound).toBeLessThan(defaultThresholds.wasserstein.threshold / 3);
          const wRule = defaultThresholds.wasserstein;
          if (Math.abs(exact.wasserstein - wRule.threshold) > w.errorBound) {
            expect(verdicts.wasserstein?.drifted, `${label} Wasserstein flag`).toBe(
              isDrifted(exact.wasserstein, wRule.threshold, wRule.rule),
            );
            compared.wasserstein++;
          } else compared.exempt.push(`${label} wasserstein`);

          // KS statistic: same, and the bound is the sketch's uniform rank error.
          const ks = stats.ks;
          expect(ks.lower).toBeLessThanOrEqual(exact.ks.statistic + 1e-12);
          expect(exact.ks.statistic).toBeLessThanOrEqual(ks.upper + 1e-12);
          expect(Math.abs(ks.statistic - exact.ks.statistic)).toBeLessThanOrEqual(ks.errorBound + 1e-12);
          expect(ks.errorBound).toBeLessThanOrEqual(stats.sketch.rankError + 1e-12);
          // The p-value flag flips where D crosses its critical value; streaming uses the limiting
          // Kolmogorov distribution, parity scipy's finite-n one, so both critical values count.
          const streamingCritical = criticalD((x) => kolmogorovSf(Math.sqrt(ks.effectiveN) * x));
          const parityCritical = criticalD((x) => ksPValue(x, ref.count, N).pValue);
          const distance = Math.min(
            Math.abs(exact.ks.statistic - streamingCritical),
            Math.abs(exact.ks.statistic - parityCritical),
          );
          const crossesBetween = (exact.ks.statistic - streamingCritical) * (exact.ks.statistic - parityCritical) < 0;
          if (distance > ks.errorBound && !crossesBetween) {
            const ksRule = defaultThresholds.ksPValue;
            expect(verdicts.ksPValue?.drifted, `${label} KS flag`).toBe(
              isDrifted(exact.ks.pValue, ksRule.threshold, ksRule.rule),
            );
            compared.ks++;
          } else compared.exempt.push(`${label} ks`);

          // Quantiles: the exact lower quantile lies in each stated interval.
          for (const q of Object.values(stats.quantiles)) {
            const exactQuantile = sorted[Math.max(0, Math.ceil(q.p * N) - 1)] as number;
            expect(q.lower).toBeLessThanOrEqual(exactQuantile);
            expect(exactQuantile).toBeLessThanOrEqual(q.upper);
          }
        },
        CASE_TIMEOUT,
      );
    });
  });

  it("compared the flags in most cases: every Wasserstein flag and every KS flag of a shifted window", () => {
    // The exempt cases are the unshifted KS ones: at 10⁶ values a side the KS critical value
    // (about 0.0019) is below the sketch's rank error (about 0.0026), so no sketch of this size
    // can call those; all of them are listed here so a change that exempts more shows up.
    expect(compared.wasserstein).toBe(11);
    expect(compared.ks).toBe(6);
    expect(compared.exempt.sort()).toEqual(
      ["Cauchy/same ks", "bimodal/same ks", "discrete/same ks", "lognormal/same ks", "normal/same ks"].sort(),
    );
  });
});
