// Two-sample t-tests from summary moments: Student's pooled-variance test (scipy `ttest_ind`
// default, which Evidently's `t_test` calls) and Welch's unequal-variance test.
import { studentTTwoSidedP } from "./special-functions.ts";

export interface SampleMoments {
  n: number;
  mean: number;
  /** Sample variance (ddof = 1). */
  variance: number;
}

export interface TTestResult {
  statistic: number;
  dof: number;
  pValue: number;
}

export function studentTTest(a: SampleMoments, b: SampleMoments): TTestResult {
  const dof = a.n + b.n - 2;
  const pooled = ((a.n - 1) * a.variance + (b.n - 1) * b.variance) / dof;
  const statistic = (a.mean - b.mean) / Math.sqrt(pooled * (1 / a.n + 1 / b.n));
  return { statistic, dof, pValue: tPValue(statistic, dof) };
}

/** Welch–Satterthwaite degrees of freedom; what streaming mode uses, as windows rarely match the reference variance. */
export function welchTTest(a: SampleMoments, b: SampleMoments): TTestResult {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const dof = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const statistic = (a.mean - b.mean) / Math.sqrt(va + vb);
  return { statistic, dof, pValue: tPValue(statistic, dof) };
}

// Two constant, equal samples give 0/0: NaN, as scipy reports it.
function tPValue(statistic: number, dof: number): number {
  if (Number.isNaN(statistic)) return Number.NaN;
  return studentTTwoSidedP(statistic, dof);
}
