// Two-proportion z-test (pooled variance), two-sided, as Evidently's `z` stattest computes it.
import { normalCdf } from "./special-functions.ts";

export interface ZTestResult {
  z: number;
  pValue: number;
}

/** `successes1` of `n1` against `successes2` of `n2`. */
export function twoProportionZTest(successes1: number, n1: number, successes2: number, n2: number): ZTestResult {
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  // 2·(1 − Φ(|z|)) rather than 2·Φ(−|z|): Evidently's form, kept so the last digits agree.
  return { z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}
