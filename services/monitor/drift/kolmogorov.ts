// The finite-n two-sided Kolmogorov distribution, P(Dₙ >= x), as scipy's `kstwo.sf` computes it:
// the algorithm choice of Simard & L'Ecuyer (2011) — Ruben–Gambino closed forms at the ends,
// twice the one-sided Smirnov tail for large x, the Durbin matrix (Marsaglia–Tsang–Wang) for
// small n·x^1.5, the Pelz–Good expansion otherwise. ks_2samp's asymptotic mode uses it with
// n = round(n₁n₂/(n₁+n₂)).
import { logFactorialOverPower } from "./special-functions.ts";

const LOG_MIN = -708.3964185322641;

/**
 * One-sided Smirnov tail P(Dₙ⁺ >= x) (scipy `smirnov`), by the Birnbaum–Tingey sum
 * x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (1 − x − v/n)^(n−v) (x + v/n)^(v−1).
 * Every term is positive, so the sum is taken in log space without cancellation.
 */
export function smirnovSf(n: number, x: number): number {
  if (Number.isNaN(x) || !(n > 0)) return Number.NaN;
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  if (n === 1) return 1 - x;
  const nx = n * x;
  if (nx <= 1) return 1 - x * (1 + x) ** (n - 1);
  if (-2 * n * x * x < LOG_MIN) return 0;
  if (nx >= n - 1) return (1 - x) ** n;
  if (n > 1_000_000) return Math.exp(-((6 * nx + 1) ** 2) / 18 / n);
  const last = Math.floor(n * (1 - x));
  const logs: number[] = [];
  let logBinomial = 0;
  let largest = Number.NEGATIVE_INFINITY;
  for (let v = 0; v <= last; v++) {
    if (v > 0) logBinomial += Math.log((n - v + 1) / v);
    const shifted = x + v / n;
    if (shifted >= 1) break;
    const logTerm = logBinomial + (n - v) * Math.log1p(-shifted) + (v - 1) * Math.log(shifted);
    logs.push(logTerm);
    if (logTerm > largest) largest = logTerm;
  }
  let total = 0;
  for (const value of logs) total += Math.exp(value - largest);
  return Math.min(1, Math.exp(Math.log(x) + largest + Math.log(total)));
}

type Matrix = Float64Array[];

function multiply(a: Matrix, b: Matrix): Matrix {
  const m = a.length;
  const result: Matrix = Array.from({ length: m }, () => new Float64Array(m));
  for (let i = 0; i < m; i++) {
    const row = a[i] as Float64Array;
    const out = result[i] as Float64Array;
    for (let k = 0; k < m; k++) {
      const aik = row[k] as number;
      if (aik === 0) continue;
      const bk = b[k] as Float64Array;
      for (let j = 0; j < m; j++) out[j] = (out[j] as number) + aik * (bk[j] as number);
    }
  }
  return result;
}

function scaleDown(matrix: Matrix, factor: number): void {
  for (const row of matrix) for (let j = 0; j < row.length; j++) row[j] = (row[j] as number) * factor;
}

/**
 * P(Dₙ <= d) by Durbin's matrix: with d = (k − h)/n, the CDF is n!/nⁿ · (Hⁿ)[k−1][k−1] for an
 * m×m matrix H, m = 2k − 1 (Marsaglia, Tsang & Wang 2003). Powers are rescaled by 2^±128 and the
 * exponent kept apart, since the entries span far more than a double's range for large n.
 */
export function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const factorial: number[] = [1];
  for (let i = 1; i <= m; i++) factorial.push((factorial[i - 1] as number) * i);
  const H: Matrix = Array.from({ length: m }, () => new Float64Array(m));
  for (let i = 0; i < m; i++) {
    const row = H[i] as Float64Array;
    for (let j = 0; j < m; j++) {
      const order = i - j + 1;
      if (order < 0) continue;
      let value = 1;
      if (j === 0) value -= h ** (i + 1);
      if (i === m - 1) value -= h ** (m - j);
      if (i === m - 1 && j === 0 && 2 * h - 1 > 0) value += (2 * h - 1) ** m;
      row[j] = value / (factorial[order] as number);
    }
  }
  const SCALE_EXPONENT = 128;
  const LIMIT = 2 ** SCALE_EXPONENT;
  let power: Matrix | undefined;
  let powerExponent = 0;
  let base = H;
  let baseExponent = 0;
  let remaining = n;
  while (remaining > 0) {
    if (remaining % 2 === 1) {
      power = power === undefined ? base.map((row) => row.slice()) : multiply(power, base);
      powerExponent += baseExponent;
      const pivot = Math.abs((power[k - 1] as Float64Array)[k - 1] as number);
      if (pivot > LIMIT) {
        scaleDown(power, 2 ** -SCALE_EXPONENT);
        powerExponent += SCALE_EXPONENT;
      }
    }
    remaining = Math.floor(remaining / 2);
    if (remaining > 0) {
      base = multiply(base, base);
      baseExponent *= 2;
      if (Math.abs((base[k - 1] as Float64Array)[k - 1] as number) > LIMIT) {
        scaleDown(base, 2 ** -SCALE_EXPONENT);
        baseExponent += SCALE_EXPONENT;
      }
    }
  }
  const pivot = ((power as Matrix)[k - 1] as Float64Array)[k - 1] as number;
  if (pivot <= 0) return 0;
  const logCdf = Math.log(pivot) + powerExponent * Math.LN2 + logFactorialOverPower(n);
  return Math.min(1, Math.exp(logCdf));
}

/**
 * Pelz–Good (1976) expansion P(Dₙ <= x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}, z = x√n,
 * in the theta-function form that converges for small z, with the coefficients scipy uses.
 */
export function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z8 = z4 * z4;
  const pi2 = Math.PI * Math.PI;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const logQ = -pi2 / 8 / z2;
  if (logQ < -708) return 0;
  const terms = Math.ceil((16 * z) / Math.PI);
  let k0 = 0;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k2Extra = 0;
  let k3Extra = 0;
  for (let k = terms; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const weight = Math.exp(logQ * m2);
    k0 += weight;
    k1 += (-z2 + (pi2 / 4) * m2) * weight;
    k2 += (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 * m2) / 4 + (pi4 * (1 - 2 * z2) * m4) / 16) * weight;
    k3 +=
      (-30 * z6 -
        90 * z8 +
        (pi2 * (135 * z4 - 96 * z6) * m2) / 4 +
        (pi4 * (-60 * z2 + 212 * z4) * m4) / 16 +
        (pi6 * (5 - 30 * z2) * m6) / 64) *
      weight;
    const k2w = k * k * Math.exp((-pi2 / 2 / z2) * k * k);
    k2Extra += k2w;
    k3Extra += (3 * z2 - pi2 * k * k) * k2w;
  }
  const root = Math.sqrt(2 * Math.PI);
  const term0 = (root * k0) / z;
  const term1 = (root * k1) / (6 * z4);
  const term2 = (root * k2) / (72 * z4 * z2 * z) + (k2Extra * pi2 * root) / (-36 * z2 * z);
  const term3 = (root * k3) / (6480 * z8 * z2) + (k3Extra * pi2 * root) / (216 * z6);
  return term0 + term1 / Math.sqrt(n) + term2 / n + term3 / (n * Math.sqrt(n));
}

const clip = (p: number) => Math.min(1, Math.max(0, p));

/** P(Dₙ >= x) for the two-sided one-sample statistic (scipy `kstwo.sf(x, n)`). */
export function kolmogorovSfN(n: number, x: number): number {
  if (Number.isNaN(x) || !Number.isInteger(n) || n <= 0) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    return clip(1 - Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1)));
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    // scipy uses Pomeranz's recursion between 0.754693 and 4; Durbin's matrix is exact there
    // too and keeps one exact algorithm here.
    if (nx2 <= 4) return clip(1 - kolmogorovCdfDurbin(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? kolmogorovCdfDurbin(n, x) : kolmogorovCdfPelzGood(n, x);
  return clip(1 - cdf);
}
