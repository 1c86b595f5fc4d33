// Population stability index over already-filled shares (no empty bins).
import { sum } from "./numeric.ts";

/** PSI = Σ (rᵢ − cᵢ) · ln(rᵢ/cᵢ); both sides must have no zero share. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  return sum(reference.map((r, i) => (r - (current[i] as number)) * Math.log(r / (current[i] as number))));
}
