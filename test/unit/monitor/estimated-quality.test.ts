// Confidence-based estimates against values computed by hand (and, for the isotonic fits, the values
// scikit-learn's IsotonicRegression(out_of_bounds="clip") gives on the same points).
import { describe, expect, it } from "vitest";
import {
  applyCalibration,
  type Calibrator,
  estimateBinaryQuality,
  estimatedRocAuc,
  expectedCalibrationError,
  fitCalibrator,
  fitIsotonic,
  needsCalibration,
} from "../../../services/monitor/windowing/estimated-quality.ts";

const identity: Calibrator = { calibrated: false, calibrate: (s) => s };

function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
}

describe("isotonic calibration", () => {
  it("pools adjacent violators: [0, 1, 0, 1] on [0.1 … 0.4] → [0, ½, ½, 1], linear between knots, clipped outside", () => {
    const c = fitIsotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1]);
    expect(c).toEqual({ x: [0.1, 0.2, 0.3, 0.4], y: [0, 0.5, 0.5, 1] });
    expect([0.05, 0.15, 0.25, 0.35, 0.9].map((s) => applyCalibration(c, s))).toEqual([
      0,
      expect.closeTo(0.25, 12),
      0.5,
      expect.closeTo(0.75, 12),
      1,
    ]);
  });

  it("keeps only the ends of a flat run: [0, 1, 0, 0, 1] on 1 … 5 → knots 1, 2, 4, 5 at 0, ⅓, ⅓, 1", () => {
    const c = fitIsotonic([1, 2, 3, 4, 5], [0, 1, 0, 0, 1]);
    expect(c.x).toEqual([1, 2, 4, 5]);
    expect(c.y.map((v) => Number(v.toFixed(12)))).toEqual([
      0,
      Number((1 / 3).toFixed(12)),
      Number((1 / 3).toFixed(12)),
      1,
    ]);
    expect(applyCalibration(c, 1.5)).toBeCloseTo(1 / 6, 12);
    expect(applyCalibration(c, 4.5)).toBeCloseTo(2 / 3, 12);
  });

  it("merges equal scores into one point weighted by their count", () => {
    // 0.2 → mean of [1, 0] = ½ with weight 2; 0.5 → 1.
    const c = fitIsotonic([0.2, 0.5, 0.2], [1, 1, 0]);
    expect(c).toEqual({ x: [0.2, 0.5], y: [0.5, 1] });
    // A decreasing pair pools by weight: (2·1 + 1·0) / 3.
    expect(fitIsotonic([0.2, 0.5, 0.2], [1, 0, 1])).toEqual({ x: [0.2, 0.5], y: [2 / 3, 2 / 3] });
  });

  it("a single distinct score maps everything to its share of positives", () => {
    const c = fitIsotonic([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0]);
    expect(applyCalibration(c, 0)).toBe(0.25);
    expect(applyCalibration(c, 0.9)).toBe(0.25);
  });
});

describe("expected calibration error", () => {
  it("two equal-count bins: ½·|0.15 − ½| + ½·|0.85 − 1| = 0.25", () => {
    expect(expectedCalibrationError([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 1], 10)).toBeCloseTo(0.25, 12);
  });

  it("the last bin takes the remainder: 5 rows in 2 bins of 2 and 3", () => {
    // Bins [0.1, 0.2] → |0.15 − 0| and [0.3, 0.4, 0.5] → |0.4 − 1|; weights 2/5 and 3/5.
    expect(expectedCalibrationError([0.1, 0.2, 0.3, 0.4, 0.5], [0, 0, 1, 1, 1], 2)).toBeCloseTo(
      0.4 * 0.15 + 0.6 * 0.6,
      12,
    );
  });
});

describe("whether calibration helps", () => {
  it("not with one class, nor with a near-perfect ranking", () => {
    expect(needsCalibration([0.1, 0.4, 0.7], [0, 0, 0])).toBe(false);
    const scores = Array.from({ length: 200 }, (_, i) => i / 200);
    expect(
      needsCalibration(
        scores,
        scores.map((s) => (s >= 0.5 ? 1 : 0)),
      ),
    ).toBe(false);
  });

  it("yes for scores far from the share of positives (labels drawn with probability score³)", () => {
    const random = seeded(3);
    const scores = Array.from({ length: 4000 }, () => random());
    const outcomes = scores.map((s) => (random() < s ** 3 ? 1 : 0));
    expect(needsCalibration(scores, outcomes)).toBe(true);
    const calibrator = fitCalibrator(
      scores,
      outcomes.map((o) => o === 1),
    );
    expect(calibrator.calibrated).toBe(true);
    // The fitted map follows s³ (within the sampling noise of 4000 rows).
    expect(calibrator.calibrate(0.9)).toBeCloseTo(0.729, 1);
    expect(calibrator.calibrate(0.5)).toBeCloseTo(0.125, 1);
  });
});

describe("estimated quality", () => {
  // Predicted positive at 0.9 and 0.6, negative at 0.3 and 0.1 (already calibrated):
  // E[TP] = 1.5, E[FP] = 0.5, E[FN] = 0.4, E[TN] = 1.6.
  const rows = [
    { predictedPositive: true, score: 0.9 },
    { predictedPositive: true, score: 0.6 },
    { predictedPositive: false, score: 0.3 },
    { predictedPositive: false, score: 0.1 },
  ];

  it("accuracy, precision, recall and F1 from the expected confusion matrix", () => {
    const q = estimateBinaryQuality(rows, identity);
    expect(q.accuracy).toBeCloseTo(3.1 / 4, 12);
    expect(q.precision).toBeCloseTo(1.5 / 2, 12);
    expect(q.recall).toBeCloseTo(1.5 / 1.9, 12);
    expect(q.f1).toBeCloseTo(3 / 3.9, 12); // 2·TP / (2·TP + FP + FN)
  });

  it("ROC AUC is the area under the expected ROC curve", () => {
    // Pairs i ranked above j contribute p_i(1 − p_j): .36 + .63 + .81 + .42 + .54 + .27 = 3.03; each
    // row's own step adds p(1 − p)/2: (.09 + .24 + .21 + .09)/2 = .315; divided by E[P]·E[N] = 1.9·2.1.
    expect(estimateBinaryQuality(rows, identity).roc_auc).toBeCloseTo(3.345 / 3.99, 12);
  });

  it("ranks by the raw score and weighs by the calibrated probability", () => {
    // A calibrator that reverses nothing but changes the weights: p = s / 2.
    const half: Calibrator = { calibrated: true, calibrate: (s) => s / 2 };
    const q = estimateBinaryQuality(rows, half);
    const p = [0.45, 0.3, 0.15, 0.05];
    expect(q.accuracy).toBeCloseTo((0.45 + 0.3 + 0.85 + 0.95) / 4, 12);
    expect(q.precision).toBeCloseTo(0.75 / 2, 12);
    expect(q.roc_auc).toBeCloseTo(
      estimatedRocAuc(
        p,
        rows.map((r) => r.score),
      ),
      12,
    );
  });

  it("tied scores form one step: two rows at ½ give ½", () => {
    expect(estimatedRocAuc([0.5, 0.5], [0.7, 0.7])).toBe(0.5);
    // Order inside a tie does not matter.
    expect(estimatedRocAuc([0.9, 0.2, 0.4], [0.5, 0.5, 0.1])).toBeCloseTo(
      estimatedRocAuc([0.2, 0.9, 0.4], [0.5, 0.5, 0.1]),
      12,
    );
  });

  it("a row with a count stands for that many equal predictions", () => {
    const expanded = [...rows, rows[0], rows[0], rows[3]].map((r) => ({ ...r }));
    const grouped = rows.map((r, i) => ({ ...r, count: i === 0 ? 3 : i === 3 ? 2 : 1 }));
    const a = estimateBinaryQuality(expanded as typeof rows, identity);
    const b = estimateBinaryQuality(grouped, identity);
    for (const metric of ["accuracy", "precision", "recall", "f1", "roc_auc"] as const) {
      expect(b[metric]).toBeCloseTo(a[metric], 12);
    }
  });

  it("undefined metrics are NaN: no predicted positives leaves precision and F1 undefined", () => {
    const q = estimateBinaryQuality(
      [
        { predictedPositive: false, score: 0.2 },
        { predictedPositive: false, score: 0.1 },
      ],
      identity,
    );
    expect(q.precision).toBeNaN();
    expect(q.f1).toBeNaN();
    expect(q.recall).toBe(0);
    expect(q.accuracy).toBeCloseTo(0.85, 12);
    expect(estimateBinaryQuality([], identity).accuracy).toBeNaN();
    expect(estimateBinaryQuality([{ predictedPositive: true, score: 0 }], identity).roc_auc).toBeNaN();
  });
});
