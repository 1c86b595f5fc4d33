// Classifier quality from labelled predictions, by the standard definitions (scikit-learn's):
// accuracy; precision, recall and F1 of the positive class (binary) or their unweighted mean over
// classes (multi-class, "macro"); ROC AUC as the probability that a random positive scores above a
// random negative, ties counting one half (Mann–Whitney); Brier score as the mean squared error of
// the positive-class probability. A metric that is undefined on the sample (e.g. AUC with one
// class) is NaN and is not stored.

export interface LabelledPrediction {
  predicted: string;
  actual: string;
  /** Positive-class probability (binary classifiers). */
  score?: number;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? Number.NaN : numerator / denominator;
}

function f1(precision: number, recall: number): number {
  if (Number.isNaN(precision) || Number.isNaN(recall)) return Number.NaN;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

export function accuracy(rows: readonly LabelledPrediction[]): number {
  return ratio(rows.filter((r) => r.predicted === r.actual).length, rows.length);
}

export function binaryCounts(rows: readonly LabelledPrediction[], positive: string) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const r of rows) {
    const predicted = r.predicted === positive;
    const actual = r.actual === positive;
    if (predicted && actual) tp += 1;
    else if (predicted) fp += 1;
    else if (actual) fn += 1;
    else tn += 1;
  }
  return { tp, fp, fn, tn };
}

export function precisionRecallF1(rows: readonly LabelledPrediction[], positive: string) {
  const { tp, fp, fn } = binaryCounts(rows, positive);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return { precision, recall, f1: f1(precision, recall) };
}

/** Macro averages over the given classes; a class never predicted has precision 0, as scikit-learn's zero_division=0. */
export function macroPrecisionRecallF1(rows: readonly LabelledPrediction[], classes: readonly string[]) {
  const per = classes.map((c) => {
    const { tp, fp, fn } = binaryCounts(rows, c);
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
  });
  const mean = (pick: (m: { precision: number; recall: number; f1: number }) => number) =>
    ratio(
      per.reduce((sum, m) => sum + pick(m), 0),
      per.length,
    );
  return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
}

export function rocAuc(rows: readonly LabelledPrediction[], positive: string): number {
  const scored = rows
    .filter((r) => typeof r.score === "number")
    .map((r) => ({ s: r.score as number, y: r.actual === positive }));
  const positives = scored.filter((r) => r.y).length;
  const negatives = scored.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  // Rank-sum with average ranks for ties.
  scored.sort((a, b) => a.s - b.s);
  let rankSumPositive = 0;
  for (let i = 0; i < scored.length; ) {
    let j = i;
    while (j + 1 < scored.length && scored[j + 1]?.s === scored[i]?.s) j += 1;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) if (scored[k]?.y) rankSumPositive += averageRank;
    i = j + 1;
  }
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function brierScore(rows: readonly LabelledPrediction[], positive: string): number {
  const scored = rows.filter((r) => typeof r.score === "number");
  return ratio(
    scored.reduce((sum, r) => sum + ((r.score as number) - (r.actual === positive ? 1 : 0)) ** 2, 0),
    scored.length,
  );
}

/** Every metric for a window, by task. */
export function qualityMetrics(
  rows: readonly LabelledPrediction[],
  task: { positiveClass?: string; classes: readonly string[] },
): Record<string, number> {
  if (task.positiveClass !== undefined) {
    const positive = task.positiveClass;
    return {
      accuracy: accuracy(rows),
      ...precisionRecallF1(rows, positive),
      roc_auc: rocAuc(rows, positive),
      brier: brierScore(rows, positive),
    };
  }
  const macro = macroPrecisionRecallF1(rows, task.classes);
  return { accuracy: accuracy(rows), macro_precision: macro.precision, macro_recall: macro.recall, macro_f1: macro.f1 };
}
