// Special functions behind the p-values: log-gamma, the regularized incomplete gamma and beta
// functions (chi-square and Student t tails), erf/erfc and the normal CDF, and Kolmogorov's
// limiting distribution. Written for relative accuracy near 1e-14 in the tails, because drift
// p-values of 1e-70 and below are common and are compared against scipy at rel 1e-9.

const EPSILON = Number.EPSILON;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

// B_2k / (2k (2k-1)) for k = 1..8: the Stirling series of log-gamma. With x >= 10 the first
// omitted term is below 1e-19 relative.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400] as const;

/** The Stirling remainder log Γ(x) − [(x − ½) ln x − x + ½ ln 2π], for x >= 10. */
export function stirlingCorrection(x: number): number {
  const inv = 1 / x;
  const inv2 = inv * inv;
  let result = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) result = result * inv2 + (STIRLING[k] as number);
  return result * inv;
}

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (Number.isNaN(x) || x <= 0) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + stirlingCorrection(x);
  // Shift up into the Stirling range: Γ(x) = Γ(x + k) / (x (x+1) … (x+k−1)).
  let product = 1;
  let shifted = x;
  while (shifted < 10) {
    product *= shifted;
    shifted += 1;
  }
  return logGamma(shifted) - Math.log(product);
}

/**
 * ln Γ(a) − ln Γ(a + b) for a >= 10, without the cancellation of two large log-gammas: the
 * Student t tail with thousands of degrees of freedom needs this difference to ~1e-15.
 */
function logGammaRatio(a: number, b: number): number {
  return -(a - 0.5) * Math.log1p(b / a) - b * Math.log(a + b) + b + stirlingCorrection(a) - stirlingCorrection(a + b);
}

/** ln B(a, b). */
export function logBeta(a: number, b: number): number {
  const small = Math.min(a, b);
  const large = Math.max(a, b);
  if (large >= 10) return logGamma(small) + logGammaRatio(large, small);
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** ln(n! / nⁿ), used by the finite-n Kolmogorov distribution. */
export function logFactorialOverPower(n: number): number {
  if (n < 10) {
    let value = 0;
    for (let i = 1; i <= n; i++) value += Math.log(i / n);
    return value;
  }
  // n! = n Γ(n); removing n ln n analytically avoids subtracting two numbers of size n ln n.
  return 0.5 * Math.log(n) - n + HALF_LOG_TWO_PI + stirlingCorrection(n);
}

function gammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let total = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    total += term;
    if (Math.abs(term) < Math.abs(total) * EPSILON) break;
  }
  return total * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

// Continued fraction for Q(a, x), modified Lentz.
function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularized lower incomplete gamma P(a, x). */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return Number.NaN;
  if (x === 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return Number.NaN;
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

// Continued fraction for I_x(a, b), modified Lentz (the even/odd steps of the classic form).
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b). `y` is 1 − x when the caller knows it more precisely
 * than 1 − x would give (a Student t tail passes t²/(ν + t²) directly).
 */
export function regularizedBeta(a: number, b: number, x: number, y: number = 1 - x): number {
  if (Number.isNaN(x) || Number.isNaN(y) || a <= 0 || b <= 0) return Number.NaN;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const logFront = a * Math.log(x) + b * Math.log(y) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b;
}

/** Upper tail of the chi-square distribution with `dof` degrees of freedom (scipy `chi2.sf`). */
export function chiSquareSf(statistic: number, dof: number): number {
  if (Number.isNaN(statistic) || !(dof > 0)) return Number.NaN;
  if (statistic <= 0) return 1;
  return regularizedGammaQ(dof / 2, statistic / 2);
}

/** Two-sided tail P(|T| >= |t|) of Student's t with `dof` degrees of freedom. */
export function studentTTwoSidedP(t: number, dof: number): number {
  if (Number.isNaN(t) || !(dof > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  return regularizedBeta(dof / 2, 0.5, dof / (dof + t2), t2 / (dof + t2));
}

/** erf(x). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x === 0) return x;
  const p = regularizedGammaP(0.5, x * x);
  return x > 0 ? p : -p;
}

/** erfc(x) = 1 − erf(x), with full relative accuracy for large positive x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < 0) return 2 - erfc(-x);
  if (x === 0) return 1;
  return regularizedGammaQ(0.5, x * x);
}

/** Standard normal CDF, evaluated as cephes `ndtr` does (erf near 0, erfc in the tails). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return x;
  const z = x * Math.SQRT1_2;
  if (Math.abs(z) < Math.SQRT1_2) return 0.5 + 0.5 * erf(z);
  const tail = 0.5 * erfc(Math.abs(z));
  return z > 0 ? 1 - tail : tail;
}

/** Standard normal upper tail 1 − Φ(x), without cancellation for large x. */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

/**
 * Survival function of Kolmogorov's limiting distribution, P(K > x) with K = lim √n Dₙ.
 * Two series, each used where it converges in a handful of terms: the Jacobi-theta form
 * √(2π)/x Σ exp(−(2k−1)²π²/(8x²)) for the CDF at small x, and 2 Σ (−1)^(k−1) exp(−2k²x²) for the
 * tail at large x.
 */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x <= 0) return 1;
  if (x <= 0.82) {
    const w = Math.sqrt(2 * Math.PI) / x;
    const base = (-Math.PI * Math.PI) / (8 * x * x);
    let cdf = 0;
    for (let k = 1; k < 100; k++) {
      const m = 2 * k - 1;
      const term = Math.exp(base * m * m);
      cdf += term;
      if (term < EPSILON * cdf || term === 0) break;
    }
    return Math.min(1, Math.max(0, 1 - w * cdf));
  }
  let sf = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sf += k % 2 === 1 ? term : -term;
    if (term < EPSILON * Math.abs(sf) || term === 0) break;
  }
  return Math.min(1, Math.max(0, 2 * sf));
}
