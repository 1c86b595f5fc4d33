// Streaming mode, the product's default: bins are frozen on a reference profile, so a window is a
// fixed-size count array plus a few moments, whatever the number of values it has seen, and two
// windows (two partitions, two minutes) merge by adding counts.
//
// Numerical bins: reference-quantile edges e₀ = min < e₁ < … < e_k = max (duplicates from ties
// removed, so discrete data may get fewer bins), plus an underflow bin (x < e₀) and an overflow
// bin (x > e_k). Interior bins are [eᵢ, eᵢ₊₁), the last one closed. The reference puts nothing in
// the two outer bins; a window that does is outside the reference range.
//
// Empty bins: a bin empty on both sides carries no information and is left out of PSI; a bin
// empty on one side only gets EMPTY_BIN_SHARE on that side, the same constant for reference and
// window (Evidently's parity rule instead derives a fill per side from that side's smallest share,
// which makes two bins that are both empty contribute a spurious term). Jensen–Shannon needs no
// fill. KS and Wasserstein use the raw shares.
//
// Binned KS: the two CDFs are compared at the bin edges only, where they are exact, so
//   D_binned <= D_exact <= D_binned + maxᵢ max(rᵢ, cᵢ),
// rᵢ and cᵢ being the reference and window shares of bin i (inside a bin each CDF moves by at most
// its own bin share). The bound is returned with every window.
//
// Binned Wasserstein: inside a bin the mass is spread uniformly (each CDF is linear between edges);
// the underflow bin spans [window min, e₀] and the overflow bin [e_k, window max], so the window's
// min and max are tracked. The CDF error at any point of bin i is at most rᵢ·t and cᵢ·(1−t) in the
// two directions (t the position in the bin), which integrates to
//   |W_binned − W_exact| <= Σᵢ widthᵢ · (3·max(rᵢ, cᵢ) + min(rᵢ, cᵢ)) / 4,
// divided by the same norm (reference population std, floor 0.001). Also returned per window.
import { StreamscoreError } from "../../shared/errors.ts";
import { type ChiSquareResult, chiSquareGoodnessOfFit } from "./chi-square.ts";
import { type CategoryKey, compareKeys, countValues } from "./histogram.ts";
import { type JensenShannon, jensenShannon } from "./jensen-shannon.ts";
import { psi } from "./psi.ts";
import { categoryKey, isMissing, quality, type RawCategory, type RawNumber, type WindowQuality } from "./quality.ts";
import { kolmogorovSf } from "./special-functions.ts";
import { type TTestResult, welchTTest } from "./t-test.ts";
import {
  type DriftThresholds,
  defaultThresholds,
  evaluateDrift,
  isDrifted,
  type StatisticName,
  type Verdict,
} from "./thresholds.ts";
import { twoProportionZTest, type ZTestResult } from "./z-test.ts";

export const DEFAULT_BINS = 10;
/** The share given to a bin that is empty on one side only (see the empty-bin rule above). */
export const EMPTY_BIN_SHARE = 1e-4;
const NORM_FLOOR = 0.001;

export interface NumericalProfile {
  readonly kind: "numerical";
  /** k + 1 increasing edges; bins are underflow, k interior bins, overflow. */
  readonly edges: readonly number[];
  /** k + 2 shares in bin order; the first and the last are 0. */
  readonly shares: readonly number[];
  readonly count: number;
  readonly mean: number;
  /** Sample variance (ddof 1). */
  readonly variance: number;
  /** Population standard deviation (ddof 0), the Wasserstein and mean-shift norm. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly quality: WindowQuality;
}

export interface CategoricalProfile {
  readonly kind: "categorical";
  /** Sorted categories of the reference. */
  readonly categories: readonly CategoryKey[];
  readonly shares: readonly number[];
  readonly count: number;
  readonly quality: WindowQuality;
}

export type ReferenceProfile = NumericalProfile | CategoricalProfile;

/** numpy's default (linear) quantile of sorted values. */
function quantile(sorted: Float64Array, p: number): number {
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const fraction = position - lower;
  const a = sorted[lower] as number;
  if (fraction === 0 || lower + 1 >= sorted.length) return a;
  return a + fraction * ((sorted[lower + 1] as number) - a);
}

export function buildReferenceProfile(
  values: readonly RawNumber[],
  options?: { bins?: number; type?: "numerical" },
): NumericalProfile;
export function buildReferenceProfile(
  values: readonly RawCategory[],
  options: { type: "categorical" },
): CategoricalProfile;
export function buildReferenceProfile(
  values: readonly RawCategory[],
  options: { bins?: number; type?: "numerical" | "categorical" } = {},
): ReferenceProfile {
  if (options.type === "categorical") return buildCategoricalProfile(values);
  const bins = options.bins ?? DEFAULT_BINS;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new StreamscoreError("DRIFT_INPUT_INVALID", `bins must be a positive integer, got ${bins}`);
  }
  const window = new NumericalAccumulator(undefined);
  const finite: number[] = [];
  for (const value of values) {
    if (typeof value === "string" || typeof value === "boolean") {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", `numerical reference holds a non-number: ${value}`);
    }
    window.add(value);
    if (typeof value === "number" && Number.isFinite(value)) finite.push(value);
  }
  if (finite.length === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", "the reference has no usable values");
  const sorted = Float64Array.from(finite).sort();
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const edge = quantile(sorted, i / bins);
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  // A constant reference still needs one (zero-width) interior bin.
  if (edges.length === 1) edges.push(edges[0] as number);
  const counts = new Float64Array(edges.length + 1);
  for (const value of sorted) {
    const bin = binIndex(edges, value);
    counts[bin] = (counts[bin] as number) + 1;
  }
  const state = window.state();
  return {
    kind: "numerical",
    edges,
    shares: Array.from(counts, (count) => count / finite.length),
    count: finite.length,
    mean: state.mean,
    variance: finite.length > 1 ? state.m2 / (finite.length - 1) : Number.NaN,
    std: Math.sqrt(state.m2 / finite.length),
    min: state.min,
    max: state.max,
    quality: quality(state.total, state.missing, state.nonFinite),
  };
}

function buildCategoricalProfile(values: readonly RawCategory[]): CategoricalProfile {
  const present: CategoryKey[] = [];
  let missing = 0;
  for (const value of values) {
    if (isMissing(value)) missing++;
    else present.push(categoryKey(value));
  }
  if (present.length === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", "the reference has no usable values");
  const counts = countValues(present);
  const categories = [...counts.keys()].sort(compareKeys);
  return {
    kind: "categorical",
    categories,
    shares: categories.map((category) => (counts.get(category) as number) / present.length),
    count: present.length,
    quality: quality(values.length, missing, 0),
  };
}

/** Bin of a finite value: 0 underflow, 1..k interior, k + 1 overflow. */
export function binIndex(edges: readonly number[], value: number): number {
  const last = edges.length - 1;
  if (value < (edges[0] as number)) return 0;
  if (value > (edges[last] as number)) return last + 1;
  // Largest i with edges[i] <= value, capped so the top edge falls in the last interior bin.
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= value) lo = mid;
    else hi = mid;
  }
  if (value >= (edges[hi] as number) && hi < last) lo = hi;
  return lo + 1;
}

export interface NumericalWindowState {
  /** Count per bin: underflow, k interior bins, overflow (undefined-profile accumulators keep none). */
  readonly counts: Float64Array;
  /** Every value added, usable or not. */
  readonly total: number;
  /** Finite values. */
  readonly count: number;
  readonly missing: number;
  readonly nonFinite: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean (Welford), not a raw sum of squares: that cancels. */
  readonly m2: number;
  readonly min: number;
  readonly max: number;
}

/**
 * A numerical window: O(bins) memory, `add` in O(log bins), `merge` by Chan et al.'s pairwise
 * update of the moments. Mean and M2 are kept instead of a sum and a sum of squares, which lose
 * all precision when the mean is large against the spread.
 */
export class NumericalAccumulator {
  readonly kind = "numerical";
  readonly #edges: readonly number[] | undefined;
  readonly #counts: Float64Array;
  #total = 0;
  #count = 0;
  #missing = 0;
  #nonFinite = 0;
  #mean = 0;
  #m2 = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  constructor(profile: NumericalProfile | undefined) {
    this.#edges = profile?.edges;
    this.#counts = new Float64Array(profile ? profile.edges.length + 1 : 0);
  }

  add(value: RawNumber): void {
    this.#total++;
    if (isMissing(value)) {
      this.#missing++;
      return;
    }
    if (!Number.isFinite(value)) {
      this.#nonFinite++;
      return;
    }
    this.#count++;
    const delta = value - this.#mean;
    this.#mean += delta / this.#count;
    this.#m2 += delta * (value - this.#mean);
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    if (this.#edges) {
      const bin = binIndex(this.#edges, value);
      this.#counts[bin] = (this.#counts[bin] as number) + 1;
    }
  }

  merge(other: NumericalAccumulator): void {
    const o = other.state();
    if (o.counts.length !== this.#counts.length) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "cannot merge windows built on different profiles");
    }
    for (let i = 0; i < o.counts.length; i++) this.#counts[i] = (this.#counts[i] as number) + (o.counts[i] as number);
    const count = this.#count + o.count;
    if (o.count > 0) {
      const delta = o.mean - this.#mean;
      this.#m2 += o.m2 + (delta * delta * this.#count * o.count) / count;
      this.#mean += (delta * o.count) / count;
    }
    this.#count = count;
    this.#total += o.total;
    this.#missing += o.missing;
    this.#nonFinite += o.nonFinite;
    this.#min = Math.min(this.#min, o.min);
    this.#max = Math.max(this.#max, o.max);
  }

  state(): NumericalWindowState {
    return {
      counts: this.#counts.slice(),
      total: this.#total,
      count: this.#count,
      missing: this.#missing,
      nonFinite: this.#nonFinite,
      mean: this.#mean,
      m2: this.#m2,
      min: this.#min,
      max: this.#max,
    };
  }
}

export interface CategoricalWindowState {
  /** Count per reference category, in the profile's order. */
  readonly counts: Float64Array;
  /** Values whose category the reference never saw, all in one bucket to keep memory bounded. */
  readonly unseen: number;
  readonly total: number;
  readonly count: number;
  readonly missing: number;
}

const categoryIndexes = new WeakMap<CategoricalProfile, Map<CategoryKey, number>>();

function indexOf(profile: CategoricalProfile): Map<CategoryKey, number> {
  let index = categoryIndexes.get(profile);
  if (!index) {
    index = new Map(profile.categories.map((category, i) => [category, i]));
    categoryIndexes.set(profile, index);
  }
  return index;
}

export class CategoricalAccumulator {
  readonly kind = "categorical";
  readonly #index: Map<CategoryKey, number>;
  readonly #counts: Float64Array;
  #unseen = 0;
  #total = 0;
  #missing = 0;

  constructor(profile: CategoricalProfile) {
    this.#index = indexOf(profile);
    this.#counts = new Float64Array(profile.categories.length);
  }

  add(value: RawCategory): void {
    this.#total++;
    if (isMissing(value)) {
      this.#missing++;
      return;
    }
    const i = this.#index.get(categoryKey(value));
    if (i === undefined) this.#unseen++;
    else this.#counts[i] = (this.#counts[i] as number) + 1;
  }

  merge(other: CategoricalAccumulator): void {
    const o = other.state();
    if (o.counts.length !== this.#counts.length) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "cannot merge windows built on different profiles");
    }
    for (let i = 0; i < o.counts.length; i++) this.#counts[i] = (this.#counts[i] as number) + (o.counts[i] as number);
    this.#unseen += o.unseen;
    this.#total += o.total;
    this.#missing += o.missing;
  }

  state(): CategoricalWindowState {
    const count = this.#total - this.#missing;
    return { counts: this.#counts.slice(), unseen: this.#unseen, total: this.#total, count, missing: this.#missing };
  }
}

export type WindowAccumulator = NumericalAccumulator | CategoricalAccumulator;

export function createWindow(profile: NumericalProfile): NumericalAccumulator;
export function createWindow(profile: CategoricalProfile): CategoricalAccumulator;
export function createWindow(profile: ReferenceProfile): WindowAccumulator;
export function createWindow(profile: ReferenceProfile): WindowAccumulator {
  return profile.kind === "numerical" ? new NumericalAccumulator(profile) : new CategoricalAccumulator(profile);
}

/** PSI under the streaming empty-bin rule. */
export function streamingPsi(reference: readonly number[], current: readonly number[]): number {
  const r: number[] = [];
  const c: number[] = [];
  reference.forEach((share, i) => {
    const other = current[i] as number;
    if (share === 0 && other === 0) return;
    r.push(share === 0 ? EMPTY_BIN_SHARE : share);
    c.push(other === 0 ? EMPTY_BIN_SHARE : other);
  });
  return psi(r, c);
}

// ∫₀¹ |u + (w − u)t| dt · width, exact for a sign change inside the bin.
function integrateAbsLinear(u: number, w: number, width: number): number {
  if (width <= 0) return 0;
  if (u * w >= 0) return (width * (Math.abs(u) + Math.abs(w))) / 2;
  return (width * (u * u + w * w)) / (2 * (Math.abs(u) + Math.abs(w)));
}

export interface NumericalStreamingStatistics {
  featureType: "numerical";
  window: WindowQuality;
  /** Finite values in the window. */
  count: number;
  psi: number;
  jensenShannon: JensenShannon;
  ks: { statistic: number; pValue: number; effectiveN: number; errorBound: number };
  wasserstein: { normed: number; raw: number; errorBound: number };
  meanShift: number;
  varianceRatio: number;
  tTest: TTestResult;
  /** Share of window values outside the reference range [min, max]. */
  outOfRangeShare: number;
}

export interface CategoricalStreamingStatistics {
  featureType: "categorical";
  window: WindowQuality;
  count: number;
  psi: number;
  jensenShannon: JensenShannon;
  /** Chi-square over the reference categories only; unseen values are reported apart. */
  chiSquare: ChiSquareResult;
  /** Two-proportion z-test, only for a binary reference. */
  zTest?: ZTestResult;
  unseenShare: number;
}

export type StreamingStatistics = NumericalStreamingStatistics | CategoricalStreamingStatistics;

function numericalStatistics(profile: NumericalProfile, state: NumericalWindowState): NumericalStreamingStatistics {
  const n = state.count;
  const window = quality(state.total, state.missing, state.nonFinite);
  const current = Array.from(state.counts, (count) => count / n);
  const reference = profile.shares;
  const last = profile.edges.length - 1;
  const lower = Math.min(state.min, profile.edges[0] as number);
  const upper = Math.max(state.max, profile.edges[last] as number);
  // Bin i spans [left(i), right(i)]: outer bins reach the window's extremes.
  const left = (i: number) => (i === 0 ? lower : (profile.edges[i - 1] as number));
  const right = (i: number) => (i === last + 1 ? upper : (profile.edges[i] as number));

  let cumulativeReference = 0;
  let cumulativeCurrent = 0;
  let ks = 0;
  let ksBound = 0;
  let wasserstein = 0;
  let wassersteinBound = 0;
  for (let i = 0; i < current.length; i++) {
    const r = reference[i] as number;
    const c = current[i] as number;
    const before = cumulativeReference - cumulativeCurrent;
    cumulativeReference += r;
    cumulativeCurrent += c;
    const after = cumulativeReference - cumulativeCurrent;
    ks = Math.max(ks, Math.abs(after));
    ksBound = Math.max(ksBound, r, c);
    const width = right(i) - left(i);
    wasserstein += integrateAbsLinear(before, after, width);
    wassersteinBound += (width * (3 * Math.max(r, c) + Math.min(r, c))) / 4;
  }
  ks = Math.min(1, ks);
  const effectiveN = (profile.count * n) / (profile.count + n);
  const norm = Math.max(profile.std, NORM_FLOOR);
  const variance = n > 1 ? state.m2 / (n - 1) : Number.NaN;
  return {
    featureType: "numerical",
    window,
    count: n,
    psi: streamingPsi(reference, current),
    jensenShannon: jensenShannon(reference, current),
    ks: { statistic: ks, pValue: kolmogorovSf(Math.sqrt(effectiveN) * ks), effectiveN, errorBound: ksBound },
    wasserstein: { normed: wasserstein / norm, raw: wasserstein, errorBound: wassersteinBound / norm },
    meanShift: (state.mean - profile.mean) / norm,
    varianceRatio: variance / profile.variance,
    tTest: welchTTest(
      { n: profile.count, mean: profile.mean, variance: profile.variance },
      { n, mean: state.mean, variance },
    ),
    outOfRangeShare: (current[0] as number) + (current[last + 1] as number),
  };
}

function categoricalStatistics(
  profile: CategoricalProfile,
  state: CategoricalWindowState,
): CategoricalStreamingStatistics {
  const n = state.count;
  const current = [...Array.from(state.counts, (count) => count / n), state.unseen / n];
  const reference = [...profile.shares, 0];
  const seen = n - state.unseen;
  const chiSquare = chiSquareGoodnessOfFit(
    Array.from(state.counts),
    profile.shares.map((share) => share * seen),
  );
  const result: CategoricalStreamingStatistics = {
    featureType: "categorical",
    window: quality(state.total, state.missing, 0),
    count: n,
    psi: streamingPsi(reference, current),
    jensenShannon: jensenShannon(reference, current),
    chiSquare,
    unseenShare: state.unseen / n,
  };
  if (profile.categories.length === 2) {
    const first = state.counts[0] as number;
    result.zTest = twoProportionZTest(
      profile.count - (profile.shares[0] as number) * profile.count,
      profile.count,
      n - first,
      n,
    );
  }
  return result;
}

/** Statistics of a window against its profile; the window must hold at least one usable value. */
export function streamingStatistics(
  profile: NumericalProfile,
  window: NumericalAccumulator,
): NumericalStreamingStatistics;
export function streamingStatistics(
  profile: CategoricalProfile,
  window: CategoricalAccumulator,
): CategoricalStreamingStatistics;
export function streamingStatistics(profile: ReferenceProfile, window: WindowAccumulator): StreamingStatistics;
export function streamingStatistics(profile: ReferenceProfile, window: WindowAccumulator): StreamingStatistics {
  if (profile.kind === "numerical" && window.kind === "numerical") {
    const state = window.state();
    if (state.count === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", "the window has no usable values");
    return numericalStatistics(profile, state);
  }
  if (profile.kind === "categorical" && window.kind === "categorical") {
    const state = window.state();
    if (state.count === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", "the window has no usable values");
    return categoricalStatistics(profile, state);
  }
  throw new StreamscoreError("DRIFT_INPUT_INVALID", "profile and window are of different feature types");
}

/** Every statistic of a window, judged against the thresholds. */
export function streamingVerdicts(
  statistics: StreamingStatistics,
  thresholds: DriftThresholds = defaultThresholds,
): Partial<Record<StatisticName, Verdict>> {
  const common = {
    psi: statistics.psi,
    jensenShannon: statistics.jensenShannon.distance,
    missingShare: statistics.window.missingShare,
    nonFiniteShare: statistics.window.nonFiniteShare,
  };
  if (statistics.featureType === "numerical") {
    return evaluateDrift(
      {
        ...common,
        ksPValue: statistics.ks.pValue,
        wasserstein: statistics.wasserstein.normed,
        meanShift: statistics.meanShift,
        varianceRatio: statistics.varianceRatio,
        tTestPValue: statistics.tTest.pValue,
      },
      thresholds,
    );
  }
  return evaluateDrift(
    {
      ...common,
      chiSquarePValue: statistics.chiSquare.pValue,
      unseenShare: statistics.unseenShare,
      ...(statistics.zTest ? { zTestPValue: statistics.zTest.pValue } : {}),
    },
    thresholds,
  );
}

/** Payload bytes of a profile and of one window (8 bytes per number; V8 object headers come on top). */
export function payloadBytes(profile: ReferenceProfile): { profile: number; window: number } {
  if (profile.kind === "numerical") {
    // profile: edges + shares + count, mean, variance, std, min, max + 3 quality counts
    // window:  counts + total, count, missing, nonFinite, mean, m2, min, max
    return { profile: 8 * (profile.edges.length + profile.shares.length + 9), window: 8 * (profile.shares.length + 8) };
  }
  // Category names are stored once in the profile; a window keeps only counts.
  return { profile: 8 * (profile.categories.length * 2 + 4), window: 8 * (profile.categories.length + 4) };
}

export interface StreamingDefaultTest {
  name: "ks" | "wasserstein" | "jensenshannon" | "chisquare" | "z";
  score: number;
  threshold: number;
  drifted: boolean;
}

/**
 * Evidently's choice by reference size, applied to the streaming statistics: KS below 1000
 * reference values, normed Wasserstein above, for numbers; chi-square (z for two categories) or
 * Jensen–Shannon for categories. A frozen profile does not keep the number of distinct values, so
 * the few-distinct-values branches of the batch rule are left to parity mode.
 */
export function streamingDefaultTest(
  profile: ReferenceProfile,
  statistics: StreamingStatistics,
  thresholds: DriftThresholds = defaultThresholds,
): StreamingDefaultTest {
  const small = profile.count <= 1000;
  let name: StreamingDefaultTest["name"];
  let score: number;
  let rule: DriftThresholds[StatisticName];
  if (statistics.featureType === "numerical") {
    [name, score, rule] = small
      ? ["ks", statistics.ks.pValue, thresholds.ksPValue]
      : ["wasserstein", statistics.wasserstein.normed, thresholds.wasserstein];
  } else if (!small) {
    [name, score, rule] = ["jensenshannon", statistics.jensenShannon.distance, thresholds.jensenShannon];
  } else if (statistics.zTest) {
    [name, score, rule] = ["z", statistics.zTest.pValue, thresholds.zTestPValue];
  } else {
    [name, score, rule] = ["chisquare", statistics.chiSquare.pValue, thresholds.chiSquarePValue];
  }
  return { name, score, threshold: rule.threshold, drifted: isDrifted(score, rule.threshold, rule.rule) };
}
