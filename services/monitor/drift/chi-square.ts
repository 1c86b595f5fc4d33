// Pearson's chi-square goodness of fit (scipy `chisquare(f_obs, f_exp)`), the way Evidently
// calls it: observed current counts against reference counts scaled to the current size.
import { sum } from "./numeric.ts";
import { chiSquareSf } from "./special-functions.ts";

export interface ChiSquareResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/**
 * An expected count of 0 with an observed count above 0 gives an infinite statistic and p = 0,
 * as scipy does for a category the reference never saw; 0 expected and 0 observed gives NaN.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  const terms = observed.map((o, i) => {
    const e = expected[i] as number;
    return ((o - e) * (o - e)) / e;
  });
  const statistic = sum(terms);
  const dof = observed.length - 1;
  return { statistic, dof, pValue: chiSquareSf(statistic, dof) };
}

/** Reference counts scaled by n_current / n_reference, as Evidently builds `f_exp`. */
export function expectedFromReference(referenceCounts: readonly number[], nReference: number, nCurrent: number) {
  const scale = nCurrent / nReference;
  return referenceCounts.map((count) => count * scale);
}
