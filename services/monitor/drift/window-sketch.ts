// A window's values for the quantile-based statistics (KS, Wasserstein, quantiles) in bounded
// memory: the `tail` largest and the `tail` smallest values exactly, every other value in a KLL
// sketch (kll.ts). Pure, no I/O.
//
// Why exact tails: the Wasserstein error of a rank-error sketch is the rank error times the length
// of the value range it spreads over, and on heavy-tailed data nearly all of that length lies in
// the few most extreme values (a Cauchy sample of 10⁶ has a maximum near 10⁵ while 99.8% of it lies
// within ±160). Keeping those values exactly confines the sketch's error to the range of the
// middle values. The split is exact and mergeable: the top heap always holds the `tail` largest
// values seen, the bottom heap the `tail` smallest of the rest, so every sketched value lies
// between the two heaps, and merging two windows pushes one's tails through the other's heaps.
//
// What is known about the window's rank function R(x) = #{values ≤ x}, for every x at once with
// probability at least 1 − δ (the KLL uniform bound e on the sketched middle, kll.ts):
//   R(x) = T(x) + M(x), T exact (the tails), M(x) ∈ [M̂(x) − e, M̂(x) + e] ∩ [0, n_M],
//   M(x) = 0 below the smallest sketched value and n_M from the largest one on (both kept exactly).
// `cdfBrackets` turns that into a step function with an estimate and a lower and upper bracket on
// each step; `compareWithReference` walks it against the exact reference CDF and returns the KS
// statistic and the Wasserstein distance with the interval each one is certain to lie in.
import { StreamscoreError } from "../../shared/errors.ts";
import { KllSketch, type KllState } from "./kll.ts";

/**
 * A binary min-heap of at most `capacity` numbers (the bottom tail stores negated values). Storage
 * grows by doubling, so a window that sees few values holds few.
 */
class MinHeap {
  readonly capacity: number;
  #data: Float64Array;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#data = new Float64Array(Math.min(capacity, 16));
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.capacity;
  }

  peek(): number {
    return this.#data[0] as number;
  }

  push(value: number): void {
    if (this.#size === this.#data.length) {
      const data = new Float64Array(Math.min(this.capacity, 2 * this.#data.length));
      data.set(this.#data);
      this.#data = data;
    }
    const data = this.#data;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if ((data[parent] as number) <= value) break;
      data[i] = data[parent] as number;
      i = parent;
    }
    data[i] = value;
  }

  /** Puts `value` in place of the minimum and returns the old minimum. */
  replaceTop(value: number): number {
    const data = this.#data;
    const top = data[0] as number;
    const size = this.#size;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && (data[right] as number) < (data[left] as number) ? right : left;
      if ((data[child] as number) >= value) break;
      data[i] = data[child] as number;
      i = child;
    }
    data[i] = value;
    return top;
  }

  values(): Float64Array {
    return this.#data.slice(0, this.#size);
  }
}

export interface WindowSketchOptions {
  /** KLL top-level capacity. */
  k: number;
  /** Values kept exactly at each end. */
  tail: number;
  seed?: number;
}

/** Plain, JSON-safe copy of a window sketch. */
export interface WindowSketchState {
  readonly tail: number;
  readonly top: readonly number[];
  readonly bottom: readonly number[];
  readonly middleMin: number;
  readonly middleMax: number;
  readonly middle: KllState;
}

export class WindowSketch {
  readonly tail: number;
  readonly #top: MinHeap;
  /** Negated values: a min-heap of −x is a max-heap of x. */
  readonly #bottom: MinHeap;
  #middle: KllSketch;
  #middleMin = Number.POSITIVE_INFINITY;
  #middleMax = Number.NEGATIVE_INFINITY;

  constructor(options: WindowSketchOptions) {
    if (!Number.isInteger(options.tail) || options.tail < 1) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", `tail must be a positive integer, got ${options.tail}`);
    }
    this.tail = options.tail;
    this.#top = new MinHeap(options.tail);
    this.#bottom = new MinHeap(options.tail);
    this.#middle = new KllSketch({ k: options.k, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  }

  get k(): number {
    return this.#middle.k;
  }

  /** Values seen. */
  get n(): number {
    return this.#top.size + this.#bottom.size + this.#middle.n;
  }

  /** The sketched (non-tail) part. */
  get middle(): KllSketch {
    return this.#middle;
  }

  /** Finite values only: the window accumulator sorts the others out first. */
  add(value: number): void {
    let v = value;
    if (!this.#top.full) {
      this.#top.push(v);
      return;
    }
    if (v > this.#top.peek()) v = this.#top.replaceTop(v);
    if (!this.#bottom.full) {
      this.#bottom.push(-v);
      return;
    }
    if (v < -this.#bottom.peek()) v = -this.#bottom.replaceTop(-v);
    this.#middle.update(v);
    if (v < this.#middleMin) this.#middleMin = v;
    if (v > this.#middleMax) this.#middleMax = v;
  }

  merge(other: WindowSketch): void {
    if (other.tail !== this.tail) {
      throw new StreamscoreError(
        "DRIFT_INPUT_INVALID",
        `cannot merge window sketches of tails ${this.tail} and ${other.tail}`,
      );
    }
    // The other's middle values lie between its tails, so only its tails can change ours.
    for (const v of other.#top.values()) this.add(v);
    for (const v of other.#bottom.values()) this.add(-v);
    this.#middle.merge(other.#middle);
    this.#middleMin = Math.min(this.#middleMin, other.#middleMin);
    this.#middleMax = Math.max(this.#middleMax, other.#middleMax);
  }

  /** Payload bytes as serialized: the tails, two extremes, the KLL state and a small header. */
  byteSize(): number {
    return 8 * (4 + this.#top.size + this.#bottom.size) + this.#middle.byteSize();
  }

  toState(): WindowSketchState {
    return {
      tail: this.tail,
      top: Array.from(this.#top.values()),
      bottom: Array.from(this.#bottom.values(), (v) => -v),
      middleMin: this.#middleMin,
      middleMax: this.#middleMax,
      middle: this.#middle.toState(),
    };
  }

  static fromState(state: WindowSketchState): WindowSketch {
    const sketch = new WindowSketch({ k: state.middle.k, tail: state.tail });
    if (state.top.length > state.tail || state.bottom.length > state.tail) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "window sketch tails are longer than its tail size");
    }
    for (const v of state.top) sketch.#top.push(v);
    for (const v of state.bottom) sketch.#bottom.push(-v);
    sketch.#middle = KllSketch.fromState(state.middle);
    sketch.#middleMin = state.middleMin;
    sketch.#middleMax = state.middleMax;
    return sketch;
  }

  /** The window's rank function as steps with brackets valid with probability ≥ 1 − δ (see the header). */
  cdfBrackets(delta: number): CdfBrackets {
    const middle = this.#middle;
    const nMiddle = middle.n;
    const e = middle.rankErrorBound(delta);
    const bottom = this.#bottom
      .values()
      .map((v) => -v)
      .sort();
    const top = this.#top.values().sort();
    const items = middle.items();
    // bottom ≤ middle ≤ top, so the concatenation is sorted; equal values collapse into one step.
    const length = bottom.length + items.values.length + top.length + 2;
    const values = new Float64Array(length);
    const exactWeight = new Float64Array(length);
    const middleWeight = new Float64Array(length);
    let o = 0;
    for (const v of bottom) {
      values[o] = v;
      exactWeight[o++] = 1;
    }
    if (nMiddle > 0) values[o++] = this.#middleMin;
    for (let i = 0; i < items.values.length; i++) {
      values[o] = items.values[i] as number;
      middleWeight[o++] = items.weights[i] as number;
    }
    if (nMiddle > 0) values[o++] = this.#middleMax;
    for (const v of top) {
      values[o] = v;
      exactWeight[o++] = 1;
    }
    const steps: number[] = [];
    const estimate: number[] = [];
    const lower: number[] = [];
    const upper: number[] = [];
    let exact = 0;
    let sketched = 0;
    for (let i = 0; i < o; i++) {
      exact += exactWeight[i] as number;
      sketched += middleWeight[i] as number;
      const x = values[i] as number;
      if (i + 1 < o && (values[i + 1] as number) === x) continue;
      const below = nMiddle === 0 || x < this.#middleMin;
      const above = nMiddle === 0 || x >= this.#middleMax;
      const low = below ? 0 : above ? nMiddle : Math.max(0, sketched - e);
      const high = below ? 0 : above ? nMiddle : Math.min(nMiddle, sketched + e);
      steps.push(x);
      estimate.push(exact + sketched);
      lower.push(exact + (above ? nMiddle : low));
      upper.push(exact + (below ? 0 : high));
    }
    return {
      n: this.n,
      rankError: e,
      steps: Float64Array.from(steps),
      estimate: Float64Array.from(estimate),
      lower: Float64Array.from(lower),
      upper: Float64Array.from(upper),
    };
  }
}

/**
 * A rank function as steps: on [steps[i], steps[i+1]) the number of values ≤ x is estimated as
 * estimate[i] and lies in [lower[i], upper[i]]; below steps[0] it is 0, from the last step on n.
 */
export interface CdfBrackets {
  readonly n: number;
  /** The sketch's uniform rank-error bound e on its middle part (values, not a share). */
  readonly rankError: number;
  readonly steps: Float64Array;
  readonly estimate: Float64Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

export interface Bracketed {
  /** From the sketch's estimated CDF. */
  estimate: number;
  /** The exact value lies in [lower, upper] whenever the rank brackets hold. */
  lower: number;
  upper: number;
}

export interface ReferenceComparison {
  /** sup_x |F_ref(x) − F_win(x)|. */
  ks: Bracketed;
  /** ∫ |F_ref(x) − F_win(x)| dx, in the data's units. */
  wasserstein: Bracketed;
}

/** Distance from 0 to the interval [a, b] (a ≤ b). */
function distanceFromZero(a: number, b: number): number {
  return a > 0 ? a : b < 0 ? -b : 0;
}

/**
 * KS and Wasserstein of a window against an exact reference (its finite values sorted ascending),
 * each with the interval the exact value lies in. Both CDFs are step functions; between two
 * consecutive steps of either one both are constant, so the walk over the union of steps is exact
 * for the estimate, and the brackets, valid on whole steps, bound the exact values.
 */
export function compareWithReference(reference: Float64Array, window: CdfBrackets): ReferenceComparison {
  const nr = reference.length;
  const nw = window.n;
  if (nr === 0 || nw === 0) throw new StreamscoreError("DRIFT_INPUT_INVALID", "comparison needs values on both sides");
  const { steps, estimate, lower, upper } = window;
  let i = 0;
  let j = 0;
  let ks = 0;
  let ksLow = 0;
  let ksHigh = 0;
  let w = 0;
  let compensation = 0;
  let wLow = 0;
  let wHigh = 0;
  let x = Math.min(reference[0] as number, steps[0] as number);
  while (i < nr || j < steps.length) {
    while (i < nr && (reference[i] as number) <= x) i++;
    while (j < steps.length && (steps[j] as number) <= x) j++;
    const a = i / nr;
    const est = j === 0 ? 0 : (estimate[j - 1] as number) / nw;
    const lo = j === 0 ? 0 : (lower[j - 1] as number) / nw;
    const hi = j === 0 ? 0 : (upper[j - 1] as number) / nw;
    const gap = Math.abs(a - est);
    const gapLow = distanceFromZero(a - hi, a - lo);
    const gapHigh = Math.max(Math.abs(a - lo), Math.abs(a - hi));
    if (gap > ks) ks = gap;
    if (gapLow > ksLow) ksLow = gapLow;
    if (gapHigh > ksHigh) ksHigh = gapHigh;
    const next = Math.min(
      i < nr ? (reference[i] as number) : Number.POSITIVE_INFINITY,
      j < steps.length ? (steps[j] as number) : Number.POSITIVE_INFINITY,
    );
    if (next === Number.POSITIVE_INFINITY) break;
    const width = next - x;
    const term = gap * width;
    const sum = w + term;
    compensation += Math.abs(w) >= Math.abs(term) ? w - sum + term : term - sum + w;
    w = sum;
    wLow += gapLow * width;
    wHigh += gapHigh * width;
    x = next;
  }
  const total = w + compensation;
  return {
    ks: { estimate: Math.min(1, ks), lower: Math.min(1, ksLow), upper: Math.min(1, ksHigh) },
    wasserstein: { estimate: total, lower: Math.min(wLow, total), upper: Math.max(wHigh, total) },
  };
}

/** Lower quantile Q(p) = min{x : F(x) ≥ p} of the window, with the interval it lies in. */
export function bracketedQuantile(window: CdfBrackets, p: number): Bracketed {
  const target = p * window.n;
  const first = (ranks: Float64Array) => {
    for (let i = 0; i < ranks.length; i++) if ((ranks[i] as number) >= target) return window.steps[i] as number;
    return window.steps[window.steps.length - 1] as number;
  };
  // A higher rank bound reaches the target no later: the upper bracket gives the lower value.
  return { estimate: first(window.estimate), lower: first(window.upper), upper: first(window.lower) };
}
