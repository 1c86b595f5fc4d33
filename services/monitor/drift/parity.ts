// Batch ("parity") mode: Evidently's default column drift, reproduced number for number on a
// whole reference and a whole current sample. Binning is re-derived from both samples each time,
// so this mode needs all values in memory; the product's streaming mode does not (streaming.ts).
import { StreamscoreError } from "../../shared/errors.ts";
import { type ChiSquareResult, chiSquareGoodnessOfFit, expectedFromReference } from "./chi-square.ts";
import { type Dtype, type InferredColumnType, inferColumnType, inferDtype } from "./column-type.ts";
import {
  type CategoryKey,
  countValues,
  fillEmptyBins,
  histogramCounts,
  sharesOf,
  sturgesEdges,
  unionKeys,
} from "./histogram.ts";
import { type JensenShannon, jensenShannon, klDivergence } from "./jensen-shannon.ts";
import { type KsResult, ksTwoSample } from "./ks.ts";
import { mean, sortedCopy, variance } from "./numeric.ts";
import { psi } from "./psi.ts";
import { type RawCategory, type RawNumber, splitCategorical, splitNumerical, type WindowQuality } from "./quality.ts";
import { studentTTest, type TTestResult } from "./t-test.ts";
import { defaultThresholds, isDrifted } from "./thresholds.ts";
import { normedWasserstein, wassersteinDistance } from "./wasserstein.ts";
import { twoProportionZTest, type ZTestResult } from "./z-test.ts";

export type FeatureType = "numerical" | "categorical";
export type StatTestName = "ks" | "wasserstein" | "jensenshannon" | "chisquare" | "z";

/** Above this many distinct reference values a numerical column is binned by Sturges' rule. */
export const PER_VALUE_MAX_DISTINCT = 20;
/** Evidently's split between small-sample tests and distances. */
export const SMALL_REFERENCE_MAX = 1000;

export interface ParityBinning {
  branch: "histogram" | "per_value";
  /** Sturges edges (histogram branch). */
  edges?: number[];
  /** The sorted distinct values (per-value branch). */
  keys?: CategoryKey[];
  referenceShares: number[];
  currentShares: number[];
  referenceFilled: number[];
  currentFilled: number[];
  referenceFill: number;
  currentFill: number;
}

export interface DefaultTest {
  name: StatTestName;
  score: number;
  threshold: number;
  drifted: boolean;
}

interface ParityCommon {
  reference: WindowQuality;
  current: WindowQuality;
  /** Usable values on each side after dropping missing and non-finite ones. */
  nReference: number;
  nCurrent: number;
  referenceDistinct: number;
  combinedDistinct: number;
  binning: ParityBinning;
  psi: number;
  jensenShannon: JensenShannon;
  klDivergence: number;
  chiSquare?: ChiSquareResult;
  zTest?: ZTestResult;
  defaultTest: DefaultTest;
}

export interface ParityNumericalResult extends ParityCommon {
  featureType: "numerical";
  /** The pandas dtype of each side; Sturges bins follow numpy's integer rule when both are int64 (or uint64). */
  dtypes: { reference: Dtype; current: Dtype };
  wasserstein: { normed: number; raw: number; referenceStd: number };
  ks: KsResult;
  /** Student's pooled-variance test, as Evidently's `t_test` (scipy `ttest_ind` default). */
  tTest: TTestResult;
  moments: {
    referenceMean: number;
    currentMean: number;
    /** Population (ddof 0) standard deviations. */
    referenceStd: number;
    currentStd: number;
    /** Sample (ddof 1) standard deviations. */
    referenceSampleStd: number;
    currentSampleStd: number;
  };
  /** (current mean − reference mean) / reference std, floored like the Wasserstein norm. */
  meanShift: number;
  /** current / reference sample variance. */
  varianceRatio: number;
}

export interface ParityCategoricalResult extends ParityCommon {
  featureType: "categorical";
  /** Share of current values whose category never occurs in the reference. */
  unseenShare: number;
}

export type ParityResult = ParityNumericalResult | ParityCategoricalResult;

/** Evidently's `_get_default_stattest` for numerical and categorical columns. */
export function defaultStatTest(featureType: FeatureType, nReference: number, combinedDistinct: number): StatTestName {
  if (nReference <= SMALL_REFERENCE_MAX) {
    if (featureType === "categorical" || combinedDistinct <= 5) return combinedDistinct > 2 ? "chisquare" : "z";
    return "ks";
  }
  if (featureType === "categorical") return "jensenshannon";
  return combinedDistinct <= 5 ? "jensenshannon" : "wasserstein";
}

function decide(name: StatTestName, score: number): DefaultTest {
  const rule = {
    ks: defaultThresholds.ksPValue,
    wasserstein: defaultThresholds.wasserstein,
    jensenshannon: defaultThresholds.jensenShannon,
    chisquare: defaultThresholds.chiSquarePValue,
    z: defaultThresholds.zTestPValue,
  }[name];
  return { name, score, threshold: rule.threshold, drifted: isDrifted(score, rule.threshold, rule.rule) };
}

function requireValues(n: number, side: string): void {
  if (n === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", `the ${side} sample has no usable values`);
}

interface PerValue<K extends CategoryKey> {
  keys: K[];
  referenceCounts: number[];
  currentCounts: number[];
}

function perValueCounts<K extends CategoryKey>(reference: Iterable<K>, current: Iterable<K>): PerValue<K> {
  const referenceMap = countValues(reference);
  const currentMap = countValues(current);
  const keys = unionKeys(referenceMap, currentMap);
  return {
    keys,
    referenceCounts: keys.map((key) => referenceMap.get(key) ?? 0),
    currentCounts: keys.map((key) => currentMap.get(key) ?? 0),
  };
}

function binning(
  branch: ParityBinning["branch"],
  referenceShares: number[],
  currentShares: number[],
  extra: Pick<ParityBinning, "edges" | "keys">,
): ParityBinning {
  const reference = fillEmptyBins(referenceShares);
  const current = fillEmptyBins(currentShares);
  return {
    branch,
    ...extra,
    referenceShares,
    currentShares,
    referenceFilled: reference.filled,
    currentFilled: current.filled,
    referenceFill: reference.fill,
    currentFill: current.fill,
  };
}

// PSI and KL use the filled shares; Jensen–Shannon the raw ones (Evidently passes feel_zeroes=False).
function distances(bins: ParityBinning) {
  return {
    psi: psi(bins.referenceFilled, bins.currentFilled),
    jensenShannon: jensenShannon(bins.referenceShares, bins.currentShares),
    klDivergence: klDivergence(bins.referenceFilled, bins.currentFilled),
  };
}

function chiSquareOf<K extends CategoryKey>(counts: PerValue<K>, nReference: number, nCurrent: number) {
  return chiSquareGoodnessOfFit(
    counts.currentCounts,
    expectedFromReference(counts.referenceCounts, nReference, nCurrent),
  );
}

// Evidently's z-test: the first key (sorted) against all others, pooled two-proportion test;
// one identical value on both sides is p = 1 by definition.
function zTestOf<K extends CategoryKey>(counts: PerValue<K>, nReference: number, nCurrent: number): ZTestResult {
  if (counts.keys.length === 1) return { z: 0, pValue: 1 };
  const referenceFirst = counts.referenceCounts[0] as number;
  const currentFirst = counts.currentCounts[0] as number;
  return twoProportionZTest(nReference - referenceFirst, nReference, nCurrent - currentFirst, nCurrent);
}

/**
 * The pandas dtype of each side, when the caller knows better than the values can say (a number
 * written as 1.0 is a float in Python but not distinguishable from 1 here); else inferred.
 */
export interface ParityOptions {
  referenceDtype?: Dtype;
  currentDtype?: Dtype;
}

export function parityNumerical(
  referenceRaw: readonly RawNumber[],
  currentRaw: readonly RawNumber[],
  options: ParityOptions = {},
): ParityNumericalResult {
  const dtypes = {
    reference: options.referenceDtype ?? inferDtype(referenceRaw),
    current: options.currentDtype ?? inferDtype(currentRaw),
  };
  const reference = splitNumerical(referenceRaw);
  const current = splitNumerical(currentRaw);
  const nReference = reference.finite.length;
  const nCurrent = current.finite.length;
  requireValues(nReference, "reference");
  requireValues(nCurrent, "current");
  const sortedReference = sortedCopy(reference.finite);
  const sortedCurrent = sortedCopy(current.finite);
  const counts = perValueCounts(sortedReference, sortedCurrent);
  const referenceDistinct = counts.referenceCounts.filter((count) => count > 0).length;
  const combinedDistinct = counts.keys.length;

  let bins: ParityBinning;
  if (referenceDistinct > PER_VALUE_MAX_DISTINCT) {
    const pooled = new Float64Array(nReference + nCurrent);
    pooled.set(reference.finite);
    pooled.set(current.finite, nReference);
    // Evidently concatenates the two columns before binning; pandas keeps an integer dtype only
    // when both sides have the same one (int64 with uint64 becomes float64).
    const integer =
      dtypes.reference === dtypes.current && (dtypes.reference === "int64" || dtypes.reference === "uint64");
    const edges = sturgesEdges(pooled, integer);
    bins = binning(
      "histogram",
      sharesOf(histogramCounts(sortedReference, edges), nReference),
      sharesOf(histogramCounts(sortedCurrent, edges), nCurrent),
      { edges },
    );
  } else {
    bins = binning(
      "per_value",
      sharesOf(counts.referenceCounts, nReference),
      sharesOf(counts.currentCounts, nCurrent),
      { keys: counts.keys },
    );
  }

  const referenceMean = mean(reference.finite);
  const currentMean = mean(current.finite);
  const referenceVariance = variance(reference.finite, 1);
  const currentVariance = variance(current.finite, 1);
  const referenceStd = Math.sqrt(variance(reference.finite, 0));
  const rawWasserstein = wassersteinDistance(sortedReference, sortedCurrent);
  const ks = ksTwoSample(sortedReference, sortedCurrent);
  const wasserstein = { normed: normedWasserstein(rawWasserstein, referenceStd), raw: rawWasserstein, referenceStd };
  const perValue = referenceDistinct <= PER_VALUE_MAX_DISTINCT;
  const chiSquare = perValue ? chiSquareOf(counts, nReference, nCurrent) : undefined;
  const zTest = combinedDistinct <= 2 ? zTestOf(counts, nReference, nCurrent) : undefined;
  const testName = defaultStatTest("numerical", nReference, combinedDistinct);
  const measured = distances(bins);
  const score = {
    ks: ks.pValue,
    wasserstein: wasserstein.normed,
    jensenshannon: measured.jensenShannon.distance,
    chisquare: chiSquare?.pValue ?? chiSquareOf(counts, nReference, nCurrent).pValue,
    z: zTest?.pValue ?? zTestOf(counts, nReference, nCurrent).pValue,
  }[testName];

  return {
    featureType: "numerical",
    dtypes,
    reference: reference.quality,
    current: current.quality,
    nReference,
    nCurrent,
    referenceDistinct,
    combinedDistinct,
    binning: bins,
    ...measured,
    wasserstein,
    ks,
    tTest: studentTTest(
      { n: nReference, mean: referenceMean, variance: referenceVariance },
      { n: nCurrent, mean: currentMean, variance: currentVariance },
    ),
    moments: {
      referenceMean,
      currentMean,
      referenceStd,
      currentStd: Math.sqrt(variance(current.finite, 0)),
      referenceSampleStd: Math.sqrt(referenceVariance),
      currentSampleStd: Math.sqrt(currentVariance),
    },
    meanShift: (currentMean - referenceMean) / Math.max(referenceStd, 0.001),
    varianceRatio: currentVariance / referenceVariance,
    ...(chiSquare ? { chiSquare } : {}),
    ...(zTest ? { zTest } : {}),
    defaultTest: decide(testName, score),
  };
}

export function parityCategorical(
  referenceRaw: readonly RawCategory[],
  currentRaw: readonly RawCategory[],
): ParityCategoricalResult {
  const reference = splitCategorical(referenceRaw);
  const current = splitCategorical(currentRaw);
  const nReference = reference.present.length;
  const nCurrent = current.present.length;
  requireValues(nReference, "reference");
  requireValues(nCurrent, "current");
  const counts = perValueCounts(reference.present, current.present);
  const bins = binning(
    "per_value",
    sharesOf(counts.referenceCounts, nReference),
    sharesOf(counts.currentCounts, nCurrent),
    { keys: counts.keys },
  );
  const combinedDistinct = counts.keys.length;
  const chiSquare = chiSquareOf(counts, nReference, nCurrent);
  const zTest = combinedDistinct <= 2 ? zTestOf(counts, nReference, nCurrent) : undefined;
  const measured = distances(bins);
  let unseen = 0;
  counts.keys.forEach((_, i) => {
    if (counts.referenceCounts[i] === 0) unseen += counts.currentCounts[i] as number;
  });
  const testName = defaultStatTest("categorical", nReference, combinedDistinct);
  const score =
    testName === "jensenshannon"
      ? measured.jensenShannon.distance
      : testName === "z"
        ? (zTest as ZTestResult).pValue
        : chiSquare.pValue;
  return {
    featureType: "categorical",
    reference: reference.quality,
    current: current.quality,
    nReference,
    nCurrent,
    referenceDistinct: counts.referenceCounts.filter((count) => count > 0).length,
    combinedDistinct,
    binning: bins,
    ...measured,
    chiSquare,
    ...(zTest ? { zTest } : {}),
    unseenShare: unseen / nCurrent,
    defaultTest: decide(testName, score),
  };
}

/**
 * Parity mode for a column of the given type, or with "auto" of the type Evidently infers for it:
 * from the current sample's values, since Evidently's drift metric takes the current dataset's
 * column type. Evidently runs no numerical or categorical test on text or unknown columns, so
 * neither do we.
 */
export function parity(
  type: FeatureType | "auto",
  reference: readonly RawCategory[],
  current: readonly RawCategory[],
  options: ParityOptions = {},
): ParityResult & { inferredType?: InferredColumnType } {
  if (type === "auto") {
    const inferredType = inferColumnType(current, options.currentDtype);
    if (inferredType.type !== "numerical" && inferredType.type !== "categorical") {
      throw new StreamscoreError(
        "DRIFT_INPUT_INVALID",
        `Evidently would type this column as ${inferredType.type} (${inferredType.reason}) and run no drift test on it; ` +
          "give the type explicitly",
      );
    }
    return { ...parity(inferredType.type, reference, current, options), inferredType };
  }
  const featureType = type;
  if (featureType === "numerical") {
    const numbers = (values: readonly RawCategory[]) =>
      values.map((value) => {
        if (typeof value === "number" || value === null || value === undefined) return value;
        throw new StreamscoreError("DRIFT_INPUT_INVALID", `numerical column holds a non-number: ${String(value)}`);
      });
    return parityNumerical(numbers(reference), numbers(current), options);
  }
  return parityCategorical(reference, current);
}

export interface DatasetDrift {
  numberOfColumns: number;
  numberOfDriftedColumns: number;
  shareOfDriftedColumns: number;
  datasetDrift: boolean;
}

/** Evidently's default: the dataset drifts when at least half of its columns do. */
export const DATASET_DRIFT_SHARE = 0.5;

export function datasetDrift(columns: ReadonlyArray<{ drifted: boolean }>, share = DATASET_DRIFT_SHARE): DatasetDrift {
  const drifted = columns.filter((column) => column.drifted).length;
  const shareOfDriftedColumns = columns.length === 0 ? 0 : drifted / columns.length;
  return {
    numberOfColumns: columns.length,
    numberOfDriftedColumns: drifted,
    shareOfDriftedColumns,
    datasetDrift: columns.length > 0 && shareOfDriftedColumns >= share,
  };
}
