// Two-sample Kolmogorov–Smirnov test, two-sided, as scipy's `ks_2samp(method="auto")`: the exact
// null distribution when both samples have at most 10 000 values, otherwise the one-sample
// Kolmogorov distribution with n = round(n₁n₂/(n₁+n₂)).
import { kolmogorovSfN } from "./kolmogorov.ts";
import { greatestCommonDivisor, roundHalfEven } from "./numeric.ts";

export type KsMethod = "exact" | "asymp";

export interface KsResult {
  statistic: number;
  pValue: number;
  /** Which null distribution gave the p-value. */
  method: KsMethod;
}

/** scipy switches from the exact distribution to the asymptotic one above this sample size. */
export const KS_EXACT_MAX_N = 10_000;

/**
 * sup |F₁ − F₂| over the pooled sample, both arguments sorted ascending. ECDF values are k·(1/n)
 * (and exactly 1 at the end), the way scipy builds them, so ties with its statistic are bitwise.
 */
export function ksStatistic(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): number {
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  const step1 = 1 / n1;
  const step2 = 1 / n2;
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n1 || j < n2) {
    const a = i < n1 ? (sortedA[i] as number) : Number.POSITIVE_INFINITY;
    const b = j < n2 ? (sortedB[j] as number) : Number.POSITIVE_INFINITY;
    const x = Math.min(a, b);
    while (i < n1 && (sortedA[i] as number) <= x) i++;
    while (j < n2 && (sortedB[j] as number) <= x) j++;
    const f1 = i === n1 ? 1 : i * step1;
    const f2 = j === n2 ? 1 : j * step2;
    const diff = Math.abs(f1 - f2);
    if (diff > best) best = diff;
  }
  return Math.min(1, best);
}

/**
 * Pr(D_{n,n} >= h/n): 2 Σ_k (−1)^(k−1) C(2n, n−kh)/C(2n, n), evaluated from the innermost term
 * outwards as P = 2·A₁(1 − A₂(1 − A₃(…))) so that no alternating large terms are subtracted.
 */
export function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    p = ratio * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of monotone lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm.
 * Each cell holds the share of paths reaching it that have already left the band, so cells
 * outside the band are 1 and a cell inside mixes its two predecessors with weights i/(i+j) and
 * j/(i+j) (Viehmann 2021); values stay in [0, 1] and never overflow. Only the band is stored.
 */
export function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  // Row window for column i: the j with |ng·i − mg·j| < h, i.e. lo(i) <= j < hi(i).
  const lo = (i: number) => Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
  const hi = (i: number) => Math.min(Math.ceil((ng * i + h) / mg), n + 1);
  let prevLo = 0;
  let prevHi = hi(0);
  // Column 0 inside the band: no path has left yet.
  let prev = new Float64Array(Math.max(prevHi - prevLo, 0));
  let cur = new Float64Array(prev.length + 2);
  for (let i = 1; i <= m; i++) {
    const start = lo(i);
    const end = hi(i);
    if (end <= start) return 1;
    if (cur.length < end - start) cur = new Float64Array(end - start);
    // (i, start − 1) lies below the band when start > 0.
    let below = start === 0 ? 0 : 1;
    for (let j = start; j < end; j++) {
      const left = j >= prevLo && j < prevHi ? (prev[j - prevLo] as number) : 1;
      below = (left * i + below * j) / (i + j);
      cur[j - start] = below;
    }
    [prev, cur] = [cur, prev];
    prevLo = start;
    prevHi = end;
  }
  return prev[prevHi - prevLo - 1] as number;
}

/** The exact two-sided p-value, or undefined where scipy's exact attempt would fail. */
export function ksExactPValue(statistic: number, n1: number, n2: number): number | undefined {
  const g = greatestCommonDivisor(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(statistic * lcm);
  if (h === 0) return 1;
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  return Number.isFinite(p) && p >= 0 && p <= 1 ? p : undefined;
}

export function ksAsymptoticPValue(statistic: number, n1: number, n2: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const effective = roundHalfEven((m * n) / (m + n));
  return Math.min(1, Math.max(0, kolmogorovSfN(effective, statistic)));
}

export function ksPValue(statistic: number, n1: number, n2: number): { pValue: number; method: KsMethod } {
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const exact = ksExactPValue(statistic, n1, n2);
    if (exact !== undefined) return { pValue: exact, method: "exact" };
  }
  return { pValue: ksAsymptoticPValue(statistic, n1, n2), method: "asymp" };
}

/** Both samples must be sorted ascending and non-empty. */
export function ksTwoSample(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): KsResult {
  const statistic = ksStatistic(sortedA, sortedB);
  return { statistic, ...ksPValue(statistic, sortedA.length, sortedB.length) };
}
