import { describe, expect, it } from "vitest";
import {
  chiSquareSf,
  erf,
  erfc,
  kolmogorovSf,
  logGamma,
  normalCdf,
  normalSf,
  regularizedBeta,
  regularizedGammaQ,
  studentTTwoSidedP,
} from "../../../../services/monitor/drift/special-functions.ts";

// Checked against closed forms that hold exactly, so no number here comes from our own code.
function expectRelative(actual: number, expected: number, rel: number) {
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
}

describe("special functions", () => {
  it("log-gamma matches log-factorials and Γ(½) = √π", () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n++) {
      expect(Math.abs(logGamma(n) - logFactorial)).toBeLessThanOrEqual(1e-13 * Math.max(1, logFactorial));
      logFactorial += Math.log(n);
    }
    expectRelative(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
  });

  it("chi-square tails match the closed forms for 2 and 4 degrees of freedom", () => {
    for (const x of [0.01, 1, 7.5, 60, 400, 1300]) {
      expectRelative(chiSquareSf(x, 2), Math.exp(-x / 2), 1e-13);
      expectRelative(chiSquareSf(x, 4), Math.exp(-x / 2) * (1 + x / 2), 1e-13);
    }
    expect(chiSquareSf(Number.POSITIVE_INFINITY, 3)).toBe(0);
    expect(chiSquareSf(0, 3)).toBe(1);
  });

  it("Student t tails match Cauchy (1 dof) and the 2-dof closed form", () => {
    for (const t of [0.1, 1, 3, 40, 1e4]) {
      expectRelative(studentTTwoSidedP(t, 1), (2 / Math.PI) * Math.atan(1 / t), 1e-13);
      const r = Math.sqrt(2 + t * t);
      expectRelative(studentTTwoSidedP(-t, 2), 2 / (r * (r + t)), 1e-13);
    }
    expect(studentTTwoSidedP(0, 7)).toBe(1);
  });

  it("the incomplete beta is symmetric and I_x(a, 1) = x^a", () => {
    for (const [a, b, x] of [
      [2.5, 7, 0.3],
      [3999, 0.5, 0.93],
      [0.5, 40, 0.02],
    ] as const) {
      expectRelative(regularizedBeta(a, b, x) + regularizedBeta(b, a, 1 - x), 1, 1e-13);
    }
    expectRelative(regularizedBeta(7.3, 1, 0.4), 0.4 ** 7.3, 1e-13);
  });

  it("erf, erfc and the normal CDF agree with each other and with their limits", () => {
    // erfc(x) = Q(½, x²); with 2 dof the chi-square tail gives the same incomplete gamma a second way.
    for (const x of [0.2, 1, 3, 9]) {
      expectRelative(erfc(x), regularizedGammaQ(0.5, x * x), 1e-14);
      expectRelative(erf(x) + erfc(x), 1, 1e-14);
      expectRelative(normalCdf(x) + normalCdf(-x), 1, 1e-14);
      expectRelative(normalSf(x), 0.5 * erfc(x / Math.SQRT2), 1e-14);
    }
    expect(normalCdf(0)).toBe(0.5);
    // Mills' ratio: 1 − Φ(x) ≈ φ(x)/x · (1 − 1/x² + 3/x⁴ − 15/x⁶) for large x.
    const x = 30;
    const phi = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    expectRelative(normalSf(x), (phi / x) * (1 - 1 / x ** 2 + 3 / x ** 4 - 15 / x ** 6), 1e-9);
  });

  it("Kolmogorov's limiting tail equals its alternating series on both sides of the series switch", () => {
    for (const x of [0.6, 0.82, 0.83, 1, 1.36, 3]) {
      let series = 0;
      for (let k = 1; k <= 200; k++) series += (k % 2 ? 2 : -2) * Math.exp(-2 * k * k * x * x);
      expect(Math.abs(kolmogorovSf(x) - series)).toBeLessThanOrEqual(1e-14);
    }
    expect(kolmogorovSf(0)).toBe(1);
  });
});
