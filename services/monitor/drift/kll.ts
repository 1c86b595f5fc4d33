// KLL quantile sketch (Karnin, Lang, Liberty, "Optimal Quantile Approximation in Streams", FOCS
// 2016), the lazy variant with geometrically decreasing level capacities. Pure: no I/O, and its
// coin flips come from a seeded generator kept in the state, so a sketch fed the same values with
// the same seed is the same sketch, and a serialized sketch resumes exactly where it stopped.
//
// Structure: level h holds items of weight 2^h. Level capacities are k·(2/3)^(H−1−h) (at least
// MIN_WIDTH), H the number of levels, so the top level holds k items and the whole sketch fewer than
// about 3k + MIN_WIDTH·log₂(n/k): O(k + log n) numbers, whatever n.
//
// Compaction of a level sorts it, sets one item aside if the count is odd, and promotes every
// other item (starting at a random offset 0 or 1) to the next level with twice the weight. For any
// x the items ≤ x (or < x) of the sorted buffer are a prefix; if that prefix is even the estimated
// rank of x is unchanged, if odd it moves by +w or −w with probability 1/2 each (w = 2^h). So the
// rank error of x after all compactions is a martingale with increments bounded by wᵢ, and Azuma–
// Hoeffding gives, for one query point,
//   P(|R̂(x) − R(x)| ≥ s) ≤ 2·exp(−s² / (2V)),   V = Σ over compactions of wᵢ².
// V depends only on how many items reached each level, never on the coin flips, so it is known
// exactly and tracked in the state. Merging keeps the argument: the merged sketch's compactions are
// those of both inputs plus its own, and V adds up.
//
// Uniform bound (what KS and Wasserstein need): take m grid points at the data's ranks n/m, 2n/m, …;
// between two grid points the true rank moves by less than n/m and both rank functions are
// monotone, so sup_x |R̂(x) − R(x)| ≤ max over the 2m grid queries (≤ and < at each point) + n/m.
// A union bound over the 2m queries gives, with probability at least 1 − δ,
//   sup_x |R̂(x) − R(x)| ≤ e(V, n, δ) = min over m of ( √(2V·ln(4m/δ)) + n/m ).
// V grows as about 4n²/(c·k²), c between 1 and 2.5 depending on how full the top level is, so e/n
// falls as 1/k — the paper's ε = O(√log(1/δ)/k) with the constant of this proof. Measured at
// δ = 1e-6 on 10⁶ values: e/n ≈ 5.3/k (k = 256…4096), while the largest error actually seen is
// about 1.5/k. `rankErrorBound` computes e from the tracked V, not from that estimate.
import { StreamscoreError } from "../../shared/errors.ts";

/** Lower levels never shrink below this: fewer, larger sorts at almost no cost in accuracy. */
const MIN_WIDTH = 8;
const DECAY = 2 / 3;
const DEFAULT_SEED = 0x5eed_0f11;

export interface KllOptions {
  /** Capacity of the top level; the uniform rank-error bound is about 5.3/k of n (see above). */
  k: number;
  seed?: number;
}

/** A plain, JSON-safe copy of a sketch. */
export interface KllState {
  readonly k: number;
  readonly n: number;
  /** Σ wᵢ² over the compactions so far. */
  readonly variance: number;
  /** Generator state (uint32). */
  readonly rng: number;
  /** Level h holds items of weight 2^h; level 0 in arrival order, the others sorted. */
  readonly levels: readonly (readonly number[])[];
}

/** Items of a sketch as a weighted sorted sample. */
export interface WeightedItems {
  readonly values: Float64Array;
  readonly weights: Float64Array;
}

function mixSeed(seed: number): number {
  // splitmix32 finalizer: nearby seeds give unrelated streams.
  let z = (seed + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function validK(k: number): number {
  if (!Number.isInteger(k) || k < MIN_WIDTH || k > 1 << 24) {
    throw new StreamscoreError("DRIFT_INPUT_INVALID", `KLL k must be an integer in [${MIN_WIDTH}, 2^24], got ${k}`);
  }
  return k;
}

/** A level: items in data[0, length); typed storage so compactions sort natively and allocate rarely. */
interface Level {
  data: Float64Array;
  length: number;
}

function emptyLevel(capacity = MIN_WIDTH): Level {
  return { data: new Float64Array(capacity), length: 0 };
}

function reserve(level: Level, length: number): void {
  if (level.data.length >= length) return;
  const data = new Float64Array(Math.max(length, 2 * level.data.length));
  data.set(level.data.subarray(0, level.length));
  level.data = data;
}

/** Merges the sorted run source[0, count) into the sorted level, from the back, in place. */
function mergeInto(level: Level, source: Float64Array, count: number): void {
  reserve(level, level.length + count);
  const data = level.data;
  let i = level.length - 1;
  let j = count - 1;
  let o = level.length + count - 1;
  while (j >= 0) {
    if (i >= 0 && (data[i] as number) > (source[j] as number)) data[o--] = data[i--] as number;
    else data[o--] = source[j--] as number;
  }
  level.length += count;
}

export class KllSketch {
  readonly k: number;
  #levels: Level[] = [emptyLevel()];
  #capacities: number[] = [];
  #totalCapacity = 0;
  #size = 0;
  #n = 0;
  #variance = 0;
  #rng: number;

  constructor(options: KllOptions) {
    this.k = validK(options.k);
    this.#rng = mixSeed(options.seed ?? DEFAULT_SEED);
    this.#resize();
  }

  /** Values represented (the sum of the weights). */
  get n(): number {
    return this.#n;
  }

  /** Items retained. */
  get size(): number {
    return this.#size;
  }

  /** Σ wᵢ² over all compactions: 0 while the sketch still holds every value. */
  get variance(): number {
    return this.#variance;
  }

  get levelCount(): number {
    return this.#levels.length;
  }

  /** True while no value has been compacted away: ranks and quantiles are exact. */
  get exact(): boolean {
    return this.#variance === 0;
  }

  update(value: number): void {
    if (!Number.isFinite(value))
      throw new StreamscoreError("DRIFT_INPUT_INVALID", `KLL takes finite values, got ${value}`);
    const level = this.#levels[0] as Level;
    if (level.length === level.data.length) reserve(level, level.length + 1);
    level.data[level.length++] = value;
    this.#size++;
    this.#n++;
    if (this.#size >= this.#totalCapacity) this.#compress();
  }

  /** Adds another sketch's values; the other sketch is left unchanged. */
  merge(other: KllSketch): void {
    if (other.k !== this.k) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", `cannot merge KLL sketches of k ${this.k} and ${other.k}`);
    }
    while (this.#levels.length < other.#levels.length) this.#levels.push(emptyLevel());
    other.#levels.forEach((theirs, h) => {
      const mine = this.#levels[h] as Level;
      if (h === 0) {
        reserve(mine, mine.length + theirs.length);
        mine.data.set(theirs.data.subarray(0, theirs.length), mine.length);
        mine.length += theirs.length;
      } else mergeInto(mine, theirs.data, theirs.length);
    });
    this.#size += other.#size;
    this.#n += other.#n;
    this.#variance += other.#variance;
    // Two partitions seeded alike would flip the same coins; mixing in the other state decorrelates them.
    this.#rng = mixSeed(this.#rng ^ Math.imul(other.#rng, 0x27d4eb2d));
    this.#resize();
    if (this.#size >= this.#totalCapacity) this.#compress();
  }

  /** Estimated number of values ≤ x. */
  rank(x: number): number {
    let total = 0;
    this.#levels.forEach((level, h) => {
      let count = 0;
      if (h === 0) {
        for (let i = 0; i < level.length; i++) if ((level.data[i] as number) <= x) count++;
      } else {
        let lo = 0;
        let hi = level.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((level.data[mid] as number) <= x) lo = mid + 1;
          else hi = mid;
        }
        count = lo;
      }
      total += count * 2 ** h;
    });
    return total;
  }

  /** Smallest retained item whose estimated rank is at least q·n (q in [0, 1]); NaN when empty. */
  quantile(q: number): number {
    if (this.#n === 0) return Number.NaN;
    const { values, weights } = this.items();
    const target = Math.max(q, 0) * this.#n;
    let cumulative = 0;
    for (let i = 0; i < values.length; i++) {
      cumulative += weights[i] as number;
      if (cumulative >= target) return values[i] as number;
    }
    return values[values.length - 1] as number;
  }

  /**
   * e such that sup_x |R̂(x) − R(x)| ≤ e with probability at least 1 − δ over the coin flips
   * (see the header); 0 while the sketch is exact. In values, not a share of n.
   */
  rankErrorBound(delta: number): number {
    if (!(delta > 0 && delta < 1))
      throw new StreamscoreError("DRIFT_INPUT_INVALID", `δ must be in (0, 1), got ${delta}`);
    if (this.#variance === 0) return 0;
    let best = this.#n;
    for (let m = 1; m <= 2 ** 52; m *= 2) {
      const e = Math.sqrt(2 * this.#variance * Math.log((4 * m) / delta)) + this.#n / m;
      if (e < best) best = e;
      if (this.#n / m < 1e-3) break;
    }
    return Math.min(best, this.#n);
  }

  /** Retained items sorted by value, each with its weight. */
  items(): WeightedItems {
    const values = new Float64Array(this.#size);
    const weights = new Float64Array(this.#size);
    const first = this.#levels[0] as Level;
    values.set(first.data.subarray(0, first.length));
    values.subarray(0, first.length).sort();
    weights.fill(1, 0, first.length);
    let length = first.length;
    for (let h = 1; h < this.#levels.length; h++) {
      const level = this.#levels[h] as Level;
      const w = 2 ** h;
      // Merge from the back so the merged run can share the output arrays.
      let i = length - 1;
      let j = level.length - 1;
      let o = length + level.length - 1;
      while (j >= 0) {
        if (i >= 0 && (values[i] as number) > (level.data[j] as number)) {
          values[o] = values[i] as number;
          weights[o--] = weights[i--] as number;
        } else {
          values[o] = level.data[j--] as number;
          weights[o--] = w;
        }
      }
      length += level.length;
    }
    return { values, weights };
  }

  toState(): KllState {
    return {
      k: this.k,
      n: this.#n,
      variance: this.#variance,
      rng: this.#rng,
      levels: this.#levels.map((level) => Array.from(level.data.subarray(0, level.length))),
    };
  }

  static fromState(state: KllState): KllSketch {
    const sketch = new KllSketch({ k: state.k });
    if (state.levels.length === 0)
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "a KLL state has at least one level");
    let weight = 0;
    sketch.#levels = state.levels.map((items, h) => {
      weight += items.length * 2 ** h;
      for (let i = 0; i < items.length; i++) {
        if (!Number.isFinite(items[i]) || (h > 0 && i > 0 && (items[i] as number) < (items[i - 1] as number))) {
          throw new StreamscoreError("DRIFT_INPUT_INVALID", `KLL state level ${h} is not finite and sorted`);
        }
      }
      const level = emptyLevel(Math.max(MIN_WIDTH, items.length));
      level.data.set(items);
      level.length = items.length;
      return level;
    });
    if (weight !== state.n) throw new StreamscoreError("DRIFT_INPUT_INVALID", "KLL state weights do not add up to n");
    sketch.#n = state.n;
    sketch.#variance = state.variance;
    sketch.#rng = state.rng >>> 0;
    sketch.#size = state.levels.reduce((total, level) => total + level.length, 0);
    sketch.#resize();
    return sketch;
  }

  /** Bytes: a Float64 header [k, n, variance, rng, levels, length of each level] then the items. */
  toBytes(): Uint8Array {
    const header = 5 + this.#levels.length;
    const out = new Float64Array(header + this.#size);
    out.set([this.k, this.#n, this.#variance, this.#rng, this.#levels.length]);
    let offset = header;
    this.#levels.forEach((level, h) => {
      out[5 + h] = level.length;
      out.set(level.data.subarray(0, level.length), offset);
      offset += level.length;
    });
    return new Uint8Array(out.buffer);
  }

  static fromBytes(bytes: Uint8Array): KllSketch {
    if (bytes.byteLength % 8 !== 0 || bytes.byteLength < 48) {
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "not a serialized KLL sketch");
    }
    const data = new Float64Array(bytes.slice().buffer);
    const count = data[4] as number;
    const levels: number[][] = [];
    let offset = 5 + count;
    for (let h = 0; h < count; h++) {
      const length = data[5 + h] as number;
      levels.push(Array.from(data.subarray(offset, offset + length)));
      offset += length;
    }
    if (offset !== data.length)
      throw new StreamscoreError("DRIFT_INPUT_INVALID", "serialized KLL sketch has a bad length");
    return KllSketch.fromState({
      k: data[0] as number,
      n: data[1] as number,
      variance: data[2] as number,
      rng: data[3] as number,
      levels,
    });
  }

  /** Payload bytes of the state as serialized (8 per number). */
  byteSize(): number {
    return 8 * (5 + this.#levels.length + this.#size);
  }

  #coin(): number {
    // mulberry32 step (as services/shared/random.ts), kept inline so its state serializes.
    this.#rng = (this.#rng + 0x6d2b79f5) >>> 0;
    let t = this.#rng;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 31) & 1;
  }

  #resize(): void {
    const levels = this.#levels.length;
    this.#capacities = [];
    this.#totalCapacity = 0;
    for (let h = 0; h < levels; h++) {
      const capacity = Math.max(MIN_WIDTH, Math.ceil(this.k * DECAY ** (levels - 1 - h)));
      this.#capacities.push(capacity);
      this.#totalCapacity += capacity;
    }
  }

  #compress(): void {
    while (this.#size >= this.#totalCapacity) {
      let h = 0;
      while ((this.#levels[h] as Level).length < (this.#capacities[h] as number)) h++;
      this.#compact(h);
    }
  }

  #compact(h: number): void {
    if (h === this.#levels.length - 1) {
      this.#levels.push(emptyLevel());
      this.#resize();
    }
    const level = this.#levels[h] as Level;
    const data = level.data;
    if (h === 0) data.subarray(0, level.length).sort();
    // An odd item out stays behind: the largest, so the rest is still a sorted run closed under prefixes.
    const even = level.length - (level.length % 2);
    // Promoted items are gathered at the front of the same buffer; they stay sorted.
    let count = 0;
    for (let i = this.#coin(); i < even; i += 2) data[count++] = data[i] as number;
    mergeInto(this.#levels[h + 1] as Level, data, count);
    if (even < level.length) data[0] = data[even] as number;
    level.length -= even;
    this.#size -= even / 2;
    this.#variance += 4 ** h;
  }
}
