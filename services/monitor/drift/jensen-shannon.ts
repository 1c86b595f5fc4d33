// Jensen–Shannon distance and KL divergence, as scipy's `distance.jensenshannon` and
// `stats.entropy` define them: both normalize their inputs to sum 1 first, so filled shares
// (which sum to slightly more than 1) give scipy's numbers, not the unnormalized ones.
import { sum } from "./numeric.ts";

function normalize(values: readonly number[]): number[] {
  const total = sum(values);
  return values.map((value) => value / total);
}

/** x·ln(x/y) with the conventions of scipy's `rel_entr`. */
export function relativeEntropyTerm(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

export interface JensenShannon {
  /** √divergence, natural log: the number Evidently compares with its threshold. */
  distance: number;
  /** JS divergence in nats. */
  divergence: number;
  /** √(divergence / ln 2): the distance with base-2 logarithms. */
  distanceBase2: number;
}

export function jensenShannon(reference: readonly number[], current: readonly number[]): JensenShannon {
  const p = normalize(reference);
  const q = normalize(current);
  const m = p.map((pi, i) => (pi + (q[i] as number)) / 2);
  const left = sum(p.map((pi, i) => relativeEntropyTerm(pi, m[i] as number)));
  const right = sum(q.map((qi, i) => relativeEntropyTerm(qi, m[i] as number)));
  const divergence = (left + right) / 2;
  return {
    distance: Math.sqrt(divergence),
    divergence,
    distanceBase2: Math.sqrt(divergence / Math.LN2),
  };
}

/** KL(reference ‖ current) in nats, after normalizing both (scipy `stats.entropy(p, q)`). */
export function klDivergence(reference: readonly number[], current: readonly number[]): number {
  const p = normalize(reference);
  const q = normalize(current);
  return sum(p.map((pi, i) => relativeEntropyTerm(pi, q[i] as number)));
}
