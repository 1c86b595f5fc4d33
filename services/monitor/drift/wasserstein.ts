// First Wasserstein distance between two samples, ∫ |F₁(x) − F₂(x)| dx (scipy
// `wasserstein_distance`), and Evidently's version normed by the reference population std.

/** Both samples sorted ascending and non-empty. */
export function wassersteinDistance(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): number {
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  let i = 0;
  let j = 0;
  let total = 0;
  let compensation = 0;
  let previous = Math.min(sortedA[0] as number, sortedB[0] as number);
  while (i < n1 || j < n2) {
    const a = i < n1 ? (sortedA[i] as number) : Number.POSITIVE_INFINITY;
    const b = j < n2 ? (sortedB[j] as number) : Number.POSITIVE_INFINITY;
    const x = Math.min(a, b);
    // Between the previous point and x both ECDFs are flat at their values after `previous`.
    const term = Math.abs(i / n1 - j / n2) * (x - previous);
    const next = total + term;
    compensation += Math.abs(total) >= Math.abs(term) ? total - next + term : term - next + total;
    total = next;
    while (i < n1 && (sortedA[i] as number) <= x) i++;
    while (j < n2 && (sortedB[j] as number) <= x) j++;
    previous = x;
  }
  return total + compensation;
}

/** Evidently floors the norm so that a constant reference column does not divide by zero. */
export const WASSERSTEIN_NORM_FLOOR = 0.001;

export function normedWasserstein(raw: number, referenceStd: number): number {
  return raw / Math.max(referenceStd, WASSERSTEIN_NORM_FLOOR);
}
