// Small numeric helpers shared by the drift statistics.

/**
 * Neumaier-compensated sum. Reference implementations (numpy) use pairwise summation; a
 * compensated sum keeps our result within an ulp or two of theirs whatever the order.
 */
export function sum(values: ArrayLike<number>): number {
  let total = 0;
  let compensation = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    const next = total + value;
    if (Math.abs(total) >= Math.abs(value)) compensation += total - next + value;
    else compensation += value - next + total;
    total = next;
  }
  // An infinite or NaN term makes the compensation NaN; the plain total is then the answer.
  return Number.isFinite(total) ? total + compensation : total;
}

export function mean(values: ArrayLike<number>): number {
  return sum(values) / values.length;
}

/** Two-pass variance, as numpy computes it; `ddof` 0 for the population, 1 for the sample. */
export function variance(values: ArrayLike<number>, ddof: 0 | 1): number {
  const n = values.length;
  if (n - ddof <= 0) return Number.NaN;
  const m = mean(values);
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - m;
    squares[i] = d * d;
  }
  return sum(squares) / (n - ddof);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function greatestCommonDivisor(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** numpy's `round`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
