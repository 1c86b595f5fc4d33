// Reference values from scikit-learn's documentation examples and hand-counted confusion matrices.
import { describe, expect, it } from "vitest";
import {
  accuracy,
  brierScore,
  macroPrecisionRecallF1,
  precisionRecallF1,
  qualityMetrics,
  rocAuc,
} from "../../../services/monitor/windowing/quality.ts";

const rows = (actual: number[], predicted: number[], scores?: number[]) =>
  actual.map((a, i) => ({ actual: String(a), predicted: String(predicted[i]), score: scores?.[i] }));

describe("classifier quality", () => {
  it("ROC AUC: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75", () => {
    expect(rocAuc(rows([0, 0, 1, 1], [0, 0, 0, 1], [0.1, 0.4, 0.35, 0.8]), "1")).toBeCloseTo(0.75, 12);
  });

  it("ROC AUC counts ties as one half, and is undefined with one class", () => {
    expect(rocAuc(rows([0, 1], [0, 0], [0.5, 0.5]), "1")).toBe(0.5);
    expect(rocAuc(rows([1, 1], [1, 1], [0.2, 0.9]), "1")).toBeNaN();
  });

  it("Brier: brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) = 0.0375", () => {
    expect(brierScore(rows([0, 1, 1, 0], [0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), "1")).toBeCloseTo(0.0375, 12);
  });

  it("precision, recall and F1 of the positive class from a hand-counted confusion matrix", () => {
    // TP = 2, FP = 1, FN = 1, TN = 2
    const r = rows([1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0]);
    expect(precisionRecallF1(r, "1")).toEqual({ precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 });
    expect(accuracy(r)).toBeCloseTo(4 / 6, 12);
  });

  it("macro averages: precision_recall_fscore_support([0,1,2,0,1,2], [0,2,1,0,0,1], average='macro')", () => {
    // scikit-learn's documented result: (0.222…, 0.333…, 0.267…)
    const m = macroPrecisionRecallF1(rows([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]), ["0", "1", "2"]);
    expect(m.precision).toBeCloseTo(2 / 9, 12);
    expect(m.recall).toBeCloseTo(1 / 3, 12);
    expect(m.f1).toBeCloseTo(4 / 15, 12);
  });

  it("picks the metrics by task", () => {
    expect(
      Object.keys(qualityMetrics(rows([0, 1], [0, 1], [0.2, 0.7]), { positiveClass: "1", classes: ["0", "1"] })),
    ).toEqual(["accuracy", "precision", "recall", "f1", "roc_auc", "brier"]);
    expect(Object.keys(qualityMetrics(rows([0, 2], [0, 1]), { classes: ["0", "1", "2"] }))).toEqual([
      "accuracy",
      "macro_precision",
      "macro_recall",
      "macro_f1",
    ]);
  });
});
