// Binning shared by PSI, Jensen–Shannon and KL: numpy's Sturges edges over the pooled sample,
// numpy's histogram counting, counts per distinct value, and Evidently's empty-bin fill.

/**
 * `np.histogram_bin_edges(pooled, bins="sturges")`: width = ptp/(log2 n + 1), bins =
 * ceil(ptp/width) — computed in that order on purpose, since ptp/(ptp/12) can round to just above
 * 12 and numpy then makes 13 bins — and edges from `np.linspace(min, max, bins + 1)`.
 * `integerData`: the pooled array has an integer dtype, for which numpy widens a bin narrower
 * than 1 to 1 (an integer histogram never splits the gap between two neighbouring integers).
 */
export function sturgesEdges(pooled: ArrayLike<number>, integerData = false): number[] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < pooled.length; i++) {
    const value = pooled[i] as number;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const ptp = max - min;
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let width = ptp / (Math.log2(pooled.length) + 1);
  if (integerData && width > 0 && width < 1) width = 1;
  const bins = width ? Math.ceil((last - first) / width) : 1;
  return linspace(first, last, bins + 1);
}

/** `np.linspace(start, stop, num)` with the endpoint: start + i·step, and exactly `stop` last. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const edges: number[] = [];
  for (let i = 0; i < num; i++) edges.push(i * step + start);
  edges[num - 1] = stop;
  return edges;
}

/** Index of the first element of `sorted` that is greater than (`right`) or not less than `x`. */
function searchSorted(sorted: ArrayLike<number>, x: number, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const value = sorted[mid] as number;
    if (right ? value <= x : value < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `np.histogram(values, edges)[0]` for explicit edges: bins are [eᵢ, eᵢ₊₁), the last one closed,
 * values outside [e₀, e_last] are not counted. `sorted` must be ascending.
 */
export function histogramCounts(sorted: ArrayLike<number>, edges: readonly number[]): number[] {
  const cumulative = edges.map((edge, i) => searchSorted(sorted, edge, i === edges.length - 1));
  const counts: number[] = [];
  for (let i = 1; i < cumulative.length; i++) counts.push((cumulative[i] as number) - (cumulative[i - 1] as number));
  return counts;
}

export type CategoryKey = string | number;

/** Numbers before strings, numbers ascending, strings by code unit — a total, stable order. */
export function compareKeys(a: CategoryKey, b: CategoryKey): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function countValues<K extends CategoryKey>(values: Iterable<K>): Map<K, number> {
  const counts = new Map<K, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** The sorted union of keys; Evidently iterates a set, so only float summation order differs. */
export function unionKeys<K extends CategoryKey>(a: Map<K, number>, b: Map<K, number>): K[] {
  return [...new Set([...a.keys(), ...b.keys()])].sort(compareKeys);
}

export function sharesOf(counts: readonly number[], total: number): number[] {
  return counts.map((count) => count / total);
}

/** The value that replaces empty bins: 1e-4, or the smallest non-zero share / 1e6 when that is <= 1e-4. */
export function emptyBinFill(shares: readonly number[]): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (const share of shares) if (share !== 0 && share < smallest) smallest = share;
  return smallest <= 1e-4 ? smallest / 1e6 : 1e-4;
}

/**
 * Evidently's `feel_zeroes`: every empty bin gets `emptyBinFill` of its own side, without
 * renormalizing, so that ln(p/q) stays finite in PSI and KL.
 */
export function fillEmptyBins(shares: readonly number[]): { filled: number[]; fill: number } {
  const fill = emptyBinFill(shares);
  return { filled: shares.map((share) => (share === 0 ? fill : share)), fill };
}
