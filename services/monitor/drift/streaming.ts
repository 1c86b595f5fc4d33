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
// KS, Wasserstein and quantiles (numerical features) come from a quantile sketch, not from the bins:
// the reference keeps its finite values sorted (exact, once per profile), and a window keeps its
// `tail` largest and smallest values exactly plus a KLL sketch of the rest (window-sketch.ts,
// kll.ts), O(k + tail + log n) numbers however many values it sees. The window's rank function is
// then known within ±e on the sketched middle range (e the KLL uniform bound at δ = SKETCH_DELTA,
// computed from the sketch's own compaction history) and exactly elsewhere; walking it against the
// exact reference CDF gives every statistic with an interval it lies in with probability ≥ 1 − δ:
//   KS:          |D̂ − D| ≤ e/n  (≈ 5.3/k at n = 10⁶, k = 2048: 0.0026)
//   Wasserstein: W ∈ [∫ min gap, ∫ max gap] over the brackets; the stated bound is at most
//                (e/n)·(range of the sketched middle values) / norm, the middle being everything but
//                the `tail` extremes at each end, so the heavy tails cost nothing.
//   quantiles:   Q(p) = min{x : F(x) ≥ p} lies between the steps where the upper and the lower
//                rank brackets first reach p·n.
// A window under 2·tail + k values is held whole: e = 0 and all three are exact.
// The bins' counts stay exact and give PSI, Jensen–Shannon and the out-of-range share.
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
import { bracketedQuantile, compareWithReference, WindowSketch, type WindowSketchState } from "./window-sketch.ts";
import { twoProportionZTest, type ZTestResult } from "./z-test.ts";

export const DEFAULT_BINS = 10;
/** KLL top-level capacity of a window's sketch: KS within about 5.3/k at n = 10⁶ (kll.ts). */
export const SKETCH_K = 2048;
/** Values kept exactly at each end of a window. */
export const SKETCH_TAIL = 2048;
/** The sketch's bounds hold with probability at least 1 − SKETCH_DELTA per window and feature. */
export const SKETCH_DELTA = 1e-6;
/** Quantiles reported per numerical window. */
export const REPORTED_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
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
  /** The finite reference values, sorted: the exact reference CDF for KS, Wasserstein and quantiles. */
  readonly sorted: Float64Array;
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
    sorted,
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

export interface SketchOptions {
  k?: number;
  tail?: number;
  /** Seeds the sketch's coin flips; by default each window gets the next seed of a module counter. */
  seed?: number;
}

let nextSeed = 1;

/**
 * A numerical window: bin counts and moments in O(bins) memory, `add` in O(log bins), `merge` by
 * Chan et al.'s pairwise update of the moments, plus a window sketch (O(k + tail + log n)) for the
 * quantile-based statistics. Mean and M2 are kept instead of a sum and a sum of squares, which lose
 * all precision when the mean is large against the spread.
 */
export class NumericalAccumulator {
  readonly kind = "numerical";
  readonly #edges: readonly number[] | undefined;
  readonly #counts: Float64Array;
  #sketch: WindowSketch | undefined;
  #total = 0;
  #count = 0;
  #missing = 0;
  #nonFinite = 0;
  #mean = 0;
  #m2 = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  constructor(profile: NumericalProfile | undefined, options: SketchOptions = {}) {
    this.#edges = profile?.edges;
    this.#counts = new Float64Array(profile ? profile.edges.length + 1 : 0);
    // The reference's own accumulator only needs moments: its values are sorted exactly.
    this.#sketch = profile
      ? new WindowSketch({
          k: options.k ?? SKETCH_K,
          tail: options.tail ?? SKETCH_TAIL,
          seed: options.seed ?? nextSeed++,
        })
      : undefined;
  }

  /** The window's quantile sketch (undefined for the reference's own accumulator). */
  get sketch(): WindowSketch | undefined {
    return this.#sketch;
  }

  /** Payload bytes of the window: bin counts, eight scalars, and the sketch as serialized. */
  byteSize(): number {
    return 8 * (this.#counts.length + 8) + (this.#sketch?.byteSize() ?? 0);
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
    this.#sketch?.add(value);
  }

  merge(other: NumericalAccumulator): void {
    const o = other.state();
    if (o.counts.length !== this.#counts.length) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "cannot merge windows built on different profiles");
    }
    if (other.#sketch && this.#sketch) this.#sketch.merge(other.#sketch);
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

  /** Everything the window holds, JSON-safe (non-finite numbers as strings), to store or send a part. */
  snapshot(): NumericalSnapshot {
    const o = this.state();
    return {
      kind: "numerical",
      counts: Array.from(o.counts),
      total: o.total,
      count: o.count,
      missing: o.missing,
      nonFinite: o.nonFinite,
      mean: o.mean,
      m2: o.m2,
      min: jsonNumber(o.min),
      max: jsonNumber(o.max),
      sketch: this.#sketch ? snapshotSketch(this.#sketch) : undefined,
    };
  }

  /** The window a snapshot was taken of, on the same profile; it goes on exactly where it stopped. */
  static restore(profile: NumericalProfile, snapshot: NumericalSnapshot): NumericalAccumulator {
    const window = new NumericalAccumulator(profile);
    if (snapshot.kind !== "numerical" || snapshot.counts.length !== window.#counts.length) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "a numerical window snapshot of another profile");
    }
    window.#counts.set(snapshot.counts);
    window.#total = snapshot.total;
    window.#count = snapshot.count;
    window.#missing = snapshot.missing;
    window.#nonFinite = snapshot.nonFinite;
    window.#mean = snapshot.mean;
    window.#m2 = snapshot.m2;
    window.#min = Number(snapshot.min);
    window.#max = Number(snapshot.max);
    if (snapshot.sketch && window.#sketch) window.#sketch = restoreSketch(snapshot.sketch);
    return window;
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

  snapshot(): CategoricalSnapshot {
    return {
      kind: "categorical",
      counts: Array.from(this.#counts),
      unseen: this.#unseen,
      total: this.#total,
      missing: this.#missing,
    };
  }

  static restore(profile: CategoricalProfile, snapshot: CategoricalSnapshot): CategoricalAccumulator {
    const window = new CategoricalAccumulator(profile);
    if (snapshot.kind !== "categorical" || snapshot.counts.length !== window.#counts.length) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "a categorical window snapshot of another profile");
    }
    window.#counts.set(snapshot.counts);
    window.#unseen = snapshot.unseen;
    window.#total = snapshot.total;
    window.#missing = snapshot.missing;
    return window;
  }

  state(): CategoricalWindowState {
    const count = this.#total - this.#missing;
    return { counts: this.#counts.slice(), unseen: this.#unseen, total: this.#total, count, missing: this.#missing };
  }
}

export type WindowAccumulator = NumericalAccumulator | CategoricalAccumulator;

/** A number JSON can carry: ±Infinity (an empty window's min and max) as a string. */
type JsonNumber = number | "Infinity" | "-Infinity";

function jsonNumber(value: number): JsonNumber {
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

type SketchSnapshot = Omit<WindowSketchState, "middleMin" | "middleMax"> & {
  middleMin: JsonNumber;
  middleMax: JsonNumber;
};

function snapshotSketch(sketch: WindowSketch): SketchSnapshot {
  const state = sketch.toState();
  return { ...state, middleMin: jsonNumber(state.middleMin), middleMax: jsonNumber(state.middleMax) };
}

function restoreSketch(snapshot: SketchSnapshot): WindowSketch {
  return WindowSketch.fromState({
    ...snapshot,
    middleMin: Number(snapshot.middleMin),
    middleMax: Number(snapshot.middleMax),
  });
}

export interface NumericalSnapshot {
  kind: "numerical";
  counts: number[];
  total: number;
  count: number;
  missing: number;
  nonFinite: number;
  mean: number;
  m2: number;
  min: JsonNumber;
  max: JsonNumber;
  sketch: SketchSnapshot | undefined;
}

export interface CategoricalSnapshot {
  kind: "categorical";
  counts: number[];
  unseen: number;
  total: number;
  missing: number;
}

export type WindowSnapshot = NumericalSnapshot | CategoricalSnapshot;

/** The window a snapshot was taken of, on its profile. */
export function restoreWindow(profile: ReferenceProfile, snapshot: WindowSnapshot): WindowAccumulator {
  if (profile.kind === "numerical" && snapshot.kind === "numerical")
    return NumericalAccumulator.restore(profile, snapshot);
  if (profile.kind === "categorical" && snapshot.kind === "categorical")
    return CategoricalAccumulator.restore(profile, snapshot);
  throw new StreamscoreError("DRIFT_INPUT_INVALID", `a ${snapshot.kind} window snapshot for a ${profile.kind} profile`);
}

export function createWindow(profile: NumericalProfile, options?: SketchOptions): NumericalAccumulator;
export function createWindow(profile: CategoricalProfile, options?: SketchOptions): CategoricalAccumulator;
export function createWindow(profile: ReferenceProfile, options?: SketchOptions): WindowAccumulator;
export function createWindow(profile: ReferenceProfile, options: SketchOptions = {}): WindowAccumulator {
  return profile.kind === "numerical"
    ? new NumericalAccumulator(profile, options)
    : new CategoricalAccumulator(profile);
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

export interface NumericalStreamingStatistics {
  featureType: "numerical";
  window: WindowQuality;
  /** Finite values in the window. */
  count: number;
  psi: number;
  jensenShannon: JensenShannon;
  /**
   * Two-sample KS from the sketch: the exact D lies in [lower, upper], so |statistic − D| ≤
   * errorBound; the p-value comes from the statistic, pValueLower/Upper from upper/lower.
   */
  ks: {
    statistic: number;
    pValue: number;
    effectiveN: number;
    errorBound: number;
    lower: number;
    upper: number;
    pValueLower: number;
    pValueUpper: number;
  };
  /** Wasserstein-1 over the reference population std (floor 0.001); exact value in [lower, upper]. */
  wasserstein: { normed: number; raw: number; errorBound: number; lower: number; upper: number };
  /**
   * Window quantiles Q(p) = min{x : F(x) ≥ p}, each with the interval the exact one lies in, keyed
   * p1, p5, …, p99 (an object, so flat reports name each one).
   */
  quantiles: Record<string, { p: number; value: number; lower: number; upper: number }>;
  /** How the quantile-based statistics were computed. */
  sketch: {
    k: number;
    tail: number;
    /** True when the window is held whole (no value compacted): the intervals are points. */
    exact: boolean;
    /** Uniform rank-error bound of the window's CDF, as a share of the window (e/n). */
    rankError: number;
    /** The intervals hold with probability at least 1 − delta. */
    delta: number;
    /** Payload bytes of the window (bins, moments, sketch). */
    bytes: number;
  };
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

function numericalStatistics(
  profile: NumericalProfile,
  state: NumericalWindowState,
  window: NumericalAccumulator,
): NumericalStreamingStatistics {
  const n = state.count;
  const sketch = window.sketch;
  if (!sketch) throw new StreamscoreError("DRIFT_INPUT_INVALID", "the window was built without a profile");
  const windowQuality = quality(state.total, state.missing, state.nonFinite);
  const current = Array.from(state.counts, (count) => count / n);
  const reference = profile.shares;
  const last = profile.edges.length - 1;
  const brackets = sketch.cdfBrackets(SKETCH_DELTA);
  const comparison = compareWithReference(profile.sorted, brackets);
  const { ks, wasserstein } = comparison;
  const effectiveN = (profile.count * n) / (profile.count + n);
  const pValue = (d: number) => kolmogorovSf(Math.sqrt(effectiveN) * d);
  const norm = Math.max(profile.std, NORM_FLOOR);
  const variance = n > 1 ? state.m2 / (n - 1) : Number.NaN;
  return {
    featureType: "numerical",
    window: windowQuality,
    count: n,
    psi: streamingPsi(reference, current),
    jensenShannon: jensenShannon(reference, current),
    ks: {
      statistic: ks.estimate,
      pValue: pValue(ks.estimate),
      effectiveN,
      errorBound: Math.max(ks.estimate - ks.lower, ks.upper - ks.estimate),
      lower: ks.lower,
      upper: ks.upper,
      pValueLower: pValue(ks.upper),
      pValueUpper: pValue(ks.lower),
    },
    wasserstein: {
      normed: wasserstein.estimate / norm,
      raw: wasserstein.estimate,
      errorBound: Math.max(wasserstein.estimate - wasserstein.lower, wasserstein.upper - wasserstein.estimate) / norm,
      lower: wasserstein.lower / norm,
      upper: wasserstein.upper / norm,
    },
    quantiles: Object.fromEntries(
      REPORTED_QUANTILES.map((p) => {
        const q = bracketedQuantile(brackets, p);
        return [`p${Math.round(p * 100)}`, { p, value: q.estimate, lower: q.lower, upper: q.upper }];
      }),
    ),
    sketch: {
      k: sketch.k,
      tail: sketch.tail,
      exact: brackets.rankError === 0,
      rankError: brackets.rankError / n,
      delta: SKETCH_DELTA,
      bytes: window.byteSize(),
    },
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
    return numericalStatistics(profile, state, window);
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

/**
 * Payload bytes of a profile and of one window's fixed part (8 bytes per number; V8 object headers
 * come on top). A numerical window adds its sketch: `NumericalAccumulator.byteSize()` has the total.
 */
export function payloadBytes(profile: ReferenceProfile): { profile: number; window: number } {
  if (profile.kind === "numerical") {
    // profile: edges + shares + sorted values + count, mean, variance, std, min, max + 3 quality counts
    // window:  counts + total, count, missing, nonFinite, mean, m2, min, max (+ the sketch)
    return {
      profile: 8 * (profile.edges.length + profile.shares.length + profile.sorted.length + 9),
      window: 8 * (profile.shares.length + 8),
    };
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
