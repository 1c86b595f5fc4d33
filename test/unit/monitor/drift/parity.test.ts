import { describe, expect, it } from "vitest";
import {
  datasetDrift,
  type ParityResult,
  parityCategorical,
  parityNumerical,
} from "../../../../services/monitor/drift/parity.ts";
import {
  decodeNumber,
  decodeNumbers,
  expectClose,
  type Json,
  loadDriftVectors,
  type Tolerance,
} from "../../../helpers/drift-vectors.ts";

const vectors = loadDriftVectors();
const tolerances = vectors.meta.suggested_tolerances as Record<string, string>;

// The tolerances are read from the file's own wording ("abs 1e-12 or rel 1e-9").
function parseTolerance(key: string): Tolerance {
  const text = tolerances[key];
  if (text === undefined) throw new Error(`no tolerance "${key}" in the vector file`);
  const abs = /abs ([0-9.e+-]+)/.exec(text)?.[1];
  const rel = /rel ([0-9.e+-]+)/.exec(text)?.[1];
  return { ...(abs ? { abs: Number(abs) } : {}), ...(rel ? { rel: Number(rel) } : {}) };
}

const statisticTolerance = parseTolerance("psi/js/kl/wasserstein/chi2 statistic");
const pValueTolerance = parseTolerance("ks p (exact mode), chi2 p, z p, t p");
// The file allows rel 1e-6 for the asymptotic KS p-value ("ks p (asymp mode, max(n)>10000)")
// unless scipy's smirnov is ported exactly; our log-space Birnbaum–Tingey sum reaches ~1e-12, so
// both KS modes are held to the exact-mode tolerance.
const asymptoticKsLoosest = parseTolerance("ks p (asymp mode, max(n)>10000)");

function run(testCase: Json): ParityResult {
  if (testCase.feature_type === "numerical") {
    return parityNumerical(decodeNumbers(testCase.reference), decodeNumbers(testCase.current));
  }
  return parityCategorical(testCase.reference, testCase.current);
}

function expectShares(actual: readonly number[], expected: readonly unknown[], label: string) {
  expect(actual.length, `${label} length`).toBe(expected.length);
  actual.forEach((value, i) => {
    expectClose(value, expected[i], statisticTolerance, `${label}[${i}]`);
  });
}

describe("parity mode against the Evidently vectors", () => {
  it("has the cases the README describes", () => {
    expect(vectors.cases.length).toBe(15);
  });

  for (const testCase of vectors.cases) {
    describe(testCase.id, () => {
      const e = testCase.expected;
      const result = run(testCase);

      it("bins as Evidently does", () => {
        const b = result.binning;
        expect(b.branch).toBe(e.binning.branch);
        expect(b.referenceShares.length).toBe(e.binning.n_bins);
        expect(result.referenceDistinct).toBe(e.binning.reference_nunique);
        if (e.binning.edges) expectShares(b.edges ?? [], e.binning.edges, "edges");
        if (e.binning.keys) expect(b.keys).toEqual(e.binning.keys);
        if (e.binning.ref_percents_raw) {
          expectShares(b.referenceShares, e.binning.ref_percents_raw, "reference shares");
          expectShares(b.currentShares, e.binning.cur_percents_raw, "current shares");
          expectShares(b.referenceFilled, e.binning.ref_percents_filled, "reference filled");
          expectShares(b.currentFilled, e.binning.cur_percents_filled, "current filled");
        }
        expectClose(b.referenceFill, e.binning.fill_value_ref, statisticTolerance, "reference fill");
        expectClose(b.currentFill, e.binning.fill_value_cur, statisticTolerance, "current fill");
      });

      it("matches PSI, Jensen–Shannon and KL", () => {
        expectClose(result.psi, e.psi.value, statisticTolerance, "psi");
        expectClose(result.jensenShannon.distance, e.jensenshannon.value, statisticTolerance, "js distance");
        expectClose(result.jensenShannon.divergence, e.jensenshannon.divergence_nats, statisticTolerance, "js nats");
        expectClose(
          result.jensenShannon.distanceBase2,
          e.jensenshannon.distance_base2,
          statisticTolerance,
          "js base 2",
        );
        expectClose(result.klDivergence, e.kl_div.value, statisticTolerance, "kl");
      });

      if (testCase.feature_type === "numerical") {
        it("matches Wasserstein, KS, the t-test and the moments", () => {
          if (result.featureType !== "numerical") throw new Error("expected a numerical result");
          expectClose(result.wasserstein.normed, e.wasserstein.value, statisticTolerance, "wasserstein");
          expectClose(result.wasserstein.raw, e.wasserstein.raw_distance, statisticTolerance, "wasserstein raw");
          expectClose(result.wasserstein.referenceStd, e.wasserstein.norm_ref_std_ddof0, statisticTolerance, "norm");
          expect(result.ks.method).toBe(e.ks.scipy_mode);
          expectClose(result.ks.statistic, e.ks.statistic, statisticTolerance, "ks statistic");
          expectClose(result.ks.pValue, e.ks.value, pValueTolerance, "ks p-value");
          expectClose(result.ks.pValue, e.ks.value, asymptoticKsLoosest, "ks p-value (file's loosest bound)");
          expectClose(result.tTest.pValue, e.t_test.value, pValueTolerance, "t-test p-value");
          const m = e.moments;
          expectClose(result.moments.referenceMean, m.ref_mean, statisticTolerance, "reference mean");
          expectClose(result.moments.currentMean, m.cur_mean, statisticTolerance, "current mean");
          expectClose(result.moments.referenceStd, m.ref_std_ddof0, statisticTolerance, "reference std");
          expectClose(result.moments.currentStd, m.cur_std_ddof0, statisticTolerance, "current std");
          expectClose(result.moments.referenceSampleStd, m.ref_std_ddof1, statisticTolerance, "reference sample std");
          expectClose(result.moments.currentSampleStd, m.cur_std_ddof1, statisticTolerance, "current sample std");
        });
      }

      if (e.chisquare) {
        it("matches the chi-square goodness of fit", () => {
          const chi = result.chiSquare;
          if (chi === undefined) throw new Error("no chi-square result");
          expect(chi.dof).toBe(e.chisquare.dof);
          expectClose(chi.statistic, e.chisquare.statistic, statisticTolerance, "chi2 statistic");
          expectClose(chi.pValue, e.chisquare.value, pValueTolerance, "chi2 p-value");
        });
      }

      if (e.z) {
        it("matches the two-proportion z-test", () => {
          expectClose(result.zTest?.pValue ?? Number.NaN, e.z.value, pValueTolerance, "z p-value");
        });
      }

      it("picks Evidently's default test and its drift flag", () => {
        const d = e.evidently_default;
        expect(result.defaultTest.name).toBe(d.stattest);
        expect(result.defaultTest.threshold).toBe(d.threshold);
        const tolerance =
          d.stattest === "ks" || d.stattest === "chisquare" || d.stattest === "z"
            ? pValueTolerance
            : statisticTolerance;
        expectClose(result.defaultTest.score, d.drift_score, tolerance, "drift score");
        expect(result.defaultTest.drifted).toBe(d.drift_detected);
      });

      it("gives each statistic's drift flag", () => {
        expect(result.psi >= e.psi.threshold).toBe(e.psi.drift);
        expect(result.jensenShannon.distance >= e.jensenshannon.threshold).toBe(e.jensenshannon.drift);
        if (result.featureType === "numerical") {
          expect(result.wasserstein.normed >= e.wasserstein.threshold).toBe(e.wasserstein.drift);
          expect(result.ks.pValue <= e.ks.threshold).toBe(e.ks.drift);
          expect(result.tTest.pValue < e.t_test.threshold).toBe(e.t_test.drift);
        }
        if (e.chisquare) expect((result.chiSquare?.pValue ?? 1) < e.chisquare.threshold).toBe(e.chisquare.drift);
      });

      if (testCase.raw_reference) {
        it("drops NaN and infinities before testing, and counts them", () => {
          const raw = parityNumerical(decodeNumbers(testCase.raw_reference), decodeNumbers(testCase.raw_current));
          expect(raw.nReference).toBe(testCase.reference.length);
          expect(raw.nCurrent).toBe(testCase.current.length);
          expectClose(raw.wasserstein.normed, e.wasserstein.value, statisticTolerance, "wasserstein after cleaning");
          const nonFinite = (values: unknown[]) =>
            values.map(decodeNumber).filter((v) => !Number.isNaN(v) && !Number.isFinite(v)).length;
          const missing = (values: unknown[]) => values.map(decodeNumber).filter((v) => Number.isNaN(v)).length;
          expect(raw.reference.nonFinite).toBe(nonFinite(testCase.raw_reference));
          expect(raw.reference.missing).toBe(missing(testCase.raw_reference));
          expect(raw.current.missingShare).toBe(missing(testCase.raw_current) / testCase.raw_current.length);
          expect(raw.reference.nonFinite + raw.reference.missing).toBeGreaterThan(0);
        });
      }
    });
  }

  it("flags the dataset when at least half of its columns drift", () => {
    const example = vectors.dataset_drift_example;
    const columns = vectors.cases.map((testCase) => ({ id: testCase.id, drifted: run(testCase).defaultTest.drifted }));
    expect(columns.map((c) => ({ id: c.id, drift_detected: c.drifted }))).toEqual(example.columns);
    const summary = datasetDrift(columns, example.drift_share);
    expect(summary.numberOfDriftedColumns).toBe(example.number_of_drifted_columns);
    expect(summary.shareOfDriftedColumns).toBe(example.share_of_drifted_columns);
    expect(summary.datasetDrift).toBe(example.dataset_drift);
  });
});
