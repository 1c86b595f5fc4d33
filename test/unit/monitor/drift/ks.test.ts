import { describe, expect, it } from "vitest";
import { kolmogorovSfN, smirnovSf } from "../../../../services/monitor/drift/kolmogorov.ts";
import {
  ksExactPValue,
  ksStatistic,
  ksTwoSample,
  probOutsideBand,
  probOutsideSquare,
} from "../../../../services/monitor/drift/ks.ts";
import { kolmogorovSf } from "../../../../services/monitor/drift/special-functions.ts";

// Every way of splitting ranks 0..n1+n2−1 into two samples: the exact null distribution by brute force.
function bruteForcePValue(n1: number, n2: number, observed: number): number {
  let extreme = 0;
  let total = 0;
  const n = n1 + n2;
  for (let mask = 0; mask < 1 << n; mask++) {
    let bits = 0;
    for (let i = 0; i < n; i++) bits += (mask >> i) & 1;
    if (bits !== n1) continue;
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) ((mask >> i) & 1 ? a : b).push(i);
    total++;
    if (ksStatistic(a, b) >= observed - 1e-12) extreme++;
  }
  return extreme / total;
}

describe("two-sample KS", () => {
  it("computes sup |F₁ − F₂| with ties counted on both sides", () => {
    expect(ksStatistic([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 1, 2], [1, 2, 2])).toBeCloseTo(1 / 3, 15);
    expect(ksStatistic([0, 1], [5, 6, 7])).toBe(1);
  });

  it("gives the exact p-value of brute-force enumeration, equal and unequal sizes", () => {
    for (const [n1, n2] of [
      [5, 5],
      [6, 4],
      [7, 3],
      [6, 6],
    ] as const) {
      for (let h = 1; h <= Math.max(n1, n2); h++) {
        const d = h / Math.max(n1, n2);
        const expected = bruteForcePValue(n1, n2, d);
        const lcm = (n1 * n2) / (n1 === n2 ? n1 : 1);
        const steps = Math.round(d * lcm);
        const actual = n1 === n2 ? probOutsideSquare(n1, steps) : probOutsideBand(n1, n2, 1, steps);
        expect(Math.abs(actual - expected), `n=${n1},${n2} d=${d}`).toBeLessThanOrEqual(1e-13);
      }
    }
  });

  it("declines, as scipy does, when rounding puts the exact value outside [0, 1]", () => {
    // 2·(1 − (1 − …)) evaluates to 1 + 2⁻⁵² here; scipy then falls back to the asymptotic mode.
    expect(probOutsideSquare(5, 1)).toBeGreaterThan(1);
    expect(ksExactPValue(0.2, 5, 5)).toBeUndefined();
    expect(ksTwoSample([1, 2, 3, 4, 5], [1.5, 2.5, 3.5, 4.5, 5.5]).method).toBe("asymp");
  });

  it("the square formula and the band recursion agree for equal sizes", () => {
    for (const [n, h] of [
      [50, 7],
      [300, 40],
      [1000, 35],
    ] as const) {
      expect(Math.abs(probOutsideSquare(n, h) - probOutsideBand(n, n, n, h))).toBeLessThanOrEqual(1e-13);
    }
  });

  it("switches to the asymptotic distribution above 10 000 values a side", () => {
    const a = Array.from({ length: 10_001 }, (_, i) => i);
    const b = Array.from({ length: 50 }, (_, i) => i * 3 + 0.5);
    expect(ksTwoSample(a, b).method).toBe("asymp");
    expect(ksTwoSample(a.slice(0, 10_000), b).method).toBe("exact");
  });
});

describe("finite-n Kolmogorov distribution", () => {
  it("has the closed forms at its ends", () => {
    expect(kolmogorovSfN(1, 0.7)).toBeCloseTo(2 * 0.3, 15);
    expect(kolmogorovSfN(10, 0.04)).toBe(1);
    // P(Dₙ >= x) = 2(1 − x)ⁿ for x >= 1 − 1/n.
    expect(kolmogorovSfN(20, 0.97)).toBeCloseTo(2 * 0.03 ** 20, 40);
    expect(smirnovSf(5, 0)).toBe(1);
    expect(smirnovSf(1, 0.25)).toBe(0.75);
  });

  it("approaches Kolmogorov's limit as n grows", () => {
    for (const z of [0.7, 1, 1.5]) {
      const n = 1_000_000;
      expect(Math.abs(kolmogorovSfN(n, z / Math.sqrt(n)) - kolmogorovSf(z))).toBeLessThan(2e-3);
    }
  });

  it("is continuous across the algorithm switches", () => {
    const n = 10_000;
    // Durbin's matrix below n·x^1.5 = 1.4, Pelz–Good above, twice Smirnov from n·x² = 2.2.
    for (const boundary of [(1.4 / n) ** (2 / 3), Math.sqrt(2.2 / n)]) {
      const below = kolmogorovSfN(n, boundary * (1 - 1e-9));
      const above = kolmogorovSfN(n, boundary * (1 + 1e-9));
      expect(Math.abs(below - above) / below).toBeLessThan(1e-5);
    }
  });
});
