// Binary classifier quality estimated before the labels arrive, by confidence-based performance
// estimation (CBPE, as NannyML defines it): once the model's scores are calibrated on a labelled
// reference, a prediction with calibrated probability p of the positive class is a true positive
// with probability p when it predicts positive (a false positive with 1 − p), and a false negative
// with probability p when it predicts negative (a true negative with 1 − p). Summing these gives the
// window's expected confusion matrix, and the metrics follow from it:
//   accuracy  = (E[TP] + E[TN]) / n
//   precision = E[TP] / (E[TP] + E[FP])      recall = E[TP] / (E[TP] + E[FN])
//   F1        = 2·precision·recall / (precision + recall)
//   ROC AUC   = the area under the expected ROC curve: thresholds at the model's raw scores, the
//               expected TP and FP counts above each threshold (sums of p and of 1 − p), divided by
//               the expected positives and negatives of the whole window.
// Calibration is isotonic regression of the reference labels on the reference scores (NannyML's
// default, with scikit-learn's IsotonicRegression(out_of_bounds="clip")), applied only when it
// lowers the expected calibration error on held-out reference rows (NannyML's needs_calibration).
// A metric whose denominator is zero is NaN (and so not stored), as the realized metric would be;
// NannyML returns 0 there.

/** A fitted isotonic map: knots for linear interpolation, scores outside clipped to the ends. */
export interface Calibration {
  x: readonly number[];
  y: readonly number[];
}

export interface EstimationRow {
  /** The model predicted the positive class. */
  predictedPositive: boolean;
  /** The model's raw positive-class probability. */
  score: number;
  /** How many predictions share this predicted class and score (default 1): lets the caller group them. */
  count?: number;
}

export interface EstimatedQuality {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number;
}

/** numpy's finfo(float64).resolution: scikit-learn merges scores closer than this into one. */
const uniqueResolution = 1e-15;

/**
 * Isotonic (non-decreasing) least-squares fit of outcomes (0/1) on scores, by pool-adjacent-violators.
 * Equal scores are first merged into one point weighted by their count, as scikit-learn does, so the
 * map is a function of the score alone.
 */
export function fitIsotonic(scores: readonly number[], outcomes: readonly number[]): Calibration {
  if (scores.length !== outcomes.length) throw new Error("scores and outcomes differ in length");
  if (scores.length === 0) throw new Error("isotonic regression needs at least one point");
  const order = scores.map((_, i) => i);
  order.sort(
    (a, b) => (scores[a] as number) - (scores[b] as number) || (outcomes[a] as number) - (outcomes[b] as number),
  );
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let currentX = scores[order[0] as number] as number;
  let sumY = 0;
  let weight = 0;
  for (const i of order) {
    const x = scores[i] as number;
    if (x - currentX >= uniqueResolution) {
      ux.push(currentX);
      uy.push(sumY / weight);
      uw.push(weight);
      currentX = x;
      sumY = 0;
      weight = 0;
    }
    sumY += outcomes[i] as number;
    weight += 1;
  }
  ux.push(currentX);
  uy.push(sumY / weight);
  uw.push(weight);

  // Pool adjacent violators: blocks on a stack, each merged into its predecessor while the
  // predecessor's mean is not below it.
  const blockSum: number[] = [];
  const blockWeight: number[] = [];
  const blockEnd: number[] = [];
  for (let i = 0; i < uy.length; i += 1) {
    let s = (uy[i] as number) * (uw[i] as number);
    let w = uw[i] as number;
    while (blockSum.length > 0) {
      const last = blockSum.length - 1;
      if ((blockSum[last] as number) / (blockWeight[last] as number) < s / w) break;
      s += blockSum.pop() as number;
      w += blockWeight.pop() as number;
      blockEnd.pop();
    }
    blockSum.push(s);
    blockWeight.push(w);
    blockEnd.push(i);
  }
  const fitted = new Array<number>(uy.length);
  let start = 0;
  for (let b = 0; b < blockSum.length; b += 1) {
    const value = (blockSum[b] as number) / (blockWeight[b] as number);
    for (let i = start; i <= (blockEnd[b] as number); i += 1) fitted[i] = value;
    start = (blockEnd[b] as number) + 1;
  }

  // Inside a flat run only its two ends are needed for the interpolation.
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < ux.length; i += 1) {
    const interior = i > 0 && i < ux.length - 1 && fitted[i] === fitted[i - 1] && fitted[i] === fitted[i + 1];
    if (!interior) {
      x.push(ux[i] as number);
      y.push(fitted[i] as number);
    }
  }
  return { x, y };
}

/** The calibrated probability of a score: linear between knots, the end value outside them. */
export function applyCalibration(calibration: Calibration, score: number): number {
  const { x, y } = calibration;
  if (x.length === 1) return y[0] as number;
  const t = Math.min(Math.max(score, x[0] as number), x[x.length - 1] as number);
  // First knot not below t (binary search), so that t sits in [x[hi - 1], x[hi]].
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  const upper = Math.min(Math.max(lo, 1), x.length - 1);
  const x0 = x[upper - 1] as number;
  const x1 = x[upper] as number;
  const y0 = y[upper - 1] as number;
  const y1 = y[upper] as number;
  return ((y1 - y0) / (x1 - x0)) * (t - x0) + y0;
}

/** A seeded uniform generator (mulberry32), so the calibration decision is the same on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(values: readonly number[], random: () => number): number[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/**
 * Expected calibration error over equal-count bins of the rows sorted by probability: the
 * count-weighted mean of |mean probability − share of positives| per bin. The bins are NannyML's:
 * `bins` of n // bins rows, the last one taking the remainder (fewer bins below 2·bins rows).
 */
export function expectedCalibrationError(probabilities: readonly number[], outcomes: readonly number[], bins = 10) {
  const n = probabilities.length;
  let count = bins;
  if (n <= 2 * count) {
    count = Math.floor(n / 2);
    if (count < 2) throw new Error(`cannot split ${n} rows into at least 2 bins`);
  }
  const width = Math.floor(n / count);
  const edges: number[] = [];
  for (let e = 0; e <= n; e += width) edges.push(e);
  edges[edges.length - 1] = n;
  const order = probabilities
    .map((_, i) => i)
    .sort((a, b) => (probabilities[a] as number) - (probabilities[b] as number));
  let ece = 0;
  for (let b = 0; b + 1 < edges.length; b += 1) {
    let p = 0;
    let y = 0;
    const from = edges[b] as number;
    const to = edges[b + 1] as number;
    for (let k = from; k < to; k += 1) {
      p += probabilities[order[k] as number] as number;
      y += outcomes[order[k] as number] as number;
    }
    ece += ((to - from) / n) * Math.abs(p / (to - from) - y / (to - from));
  }
  return ece;
}

/**
 * NannyML's rule for whether calibration helps: not when the reference has one class or is ranked
 * almost perfectly (ROC AUC > 0.999); otherwise fit on 90% and calibrate the held-out 10%, ten
 * times with stratified random splits, and calibrate only if the pooled held-out rows' expected
 * calibration error is lower after calibration than before. The splits come from a seeded
 * generator of our own, not scikit-learn's, so a borderline case may be decided differently.
 */
export function needsCalibration(
  scores: readonly number[],
  outcomes: readonly number[],
  options: { splits?: number; testShare?: number; bins?: number; seed?: number } = {},
): boolean {
  const splits = options.splits ?? 10;
  const testShare = options.testShare ?? 0.1;
  const positives = outcomes.flatMap((o, i) => (o === 1 ? [i] : []));
  const negatives = outcomes.flatMap((o, i) => (o === 1 ? [] : [i]));
  if (positives.length === 0 || negatives.length === 0) return false;
  if (rankAuc(scores, outcomes) > 0.999) return false;
  const random = seededRandom(options.seed ?? 42);
  const before: number[] = [];
  const after: number[] = [];
  const truth: number[] = [];
  for (let s = 0; s < splits; s += 1) {
    const test = new Set<number>();
    for (const group of [positives, negatives]) {
      const take = Math.max(1, Math.round(group.length * testShare));
      for (const i of shuffled(group, random).slice(0, take)) test.add(i);
    }
    const trainScores: number[] = [];
    const trainOutcomes: number[] = [];
    for (let i = 0; i < scores.length; i += 1) {
      if (test.has(i)) continue;
      trainScores.push(scores[i] as number);
      trainOutcomes.push(outcomes[i] as number);
    }
    const calibration = fitIsotonic(trainScores, trainOutcomes);
    for (const i of test) {
      before.push(scores[i] as number);
      after.push(applyCalibration(calibration, scores[i] as number));
      truth.push(outcomes[i] as number);
    }
  }
  return expectedCalibrationError(before, truth, options.bins) > expectedCalibrationError(after, truth, options.bins);
}

/** Realized ROC AUC by ranks (ties one half), for the near-perfect-ranking check only. */
function rankAuc(scores: readonly number[], outcomes: readonly number[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] as number] === scores[order[i] as number]) j += 1;
    for (let k = i; k <= j; k += 1) {
      if (outcomes[order[k] as number] === 1) {
        positives += 1;
        rankSum += (i + j) / 2 + 1;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The map from raw score to probability a version's estimates use (identity when calibration does not help). */
export interface Calibrator {
  calibrated: boolean;
  calibrate(score: number): number;
}

/** Fits the calibrator on a labelled reference: raw scores and whether each row was positive. */
export function fitCalibrator(scores: readonly number[], positive: readonly boolean[]): Calibrator {
  const outcomes = positive.map((p) => (p ? 1 : 0));
  if (!needsCalibration(scores, outcomes)) return { calibrated: false, calibrate: (s) => s };
  const calibration = fitIsotonic(scores, outcomes);
  return { calibrated: true, calibrate: (s) => applyCalibration(calibration, s) };
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? Number.NaN : numerator / denominator;
}

/**
 * Area under the expected ROC curve. Rows are ranked by raw score, highest first; rows with equal
 * scores form one threshold step (a straight segment, so tied rows count one half, as in the
 * realized ROC AUC). `probabilities` are the calibrated ones, in the same order as `scores`, and
 * `counts` (default 1 each) how many predictions each row stands for.
 */
export function estimatedRocAuc(
  probabilities: readonly number[],
  scores: readonly number[],
  counts?: readonly number[],
): number {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let area = 0;
  let expectedPositives = 0;
  let expectedNegatives = 0;
  for (let i = 0; i < order.length; ) {
    let stepPositives = 0;
    let stepNegatives = 0;
    const score = scores[order[i] as number];
    for (; i < order.length && scores[order[i] as number] === score; i += 1) {
      const p = probabilities[order[i] as number] as number;
      const n = counts?.[order[i] as number] ?? 1;
      stepPositives += n * p;
      stepNegatives += n * (1 - p);
    }
    // Trapezoid: the step's expected negatives times the mean height of its segment.
    area += stepNegatives * (tp + stepPositives / 2);
    tp += stepPositives;
    expectedPositives += stepPositives;
    expectedNegatives += stepNegatives;
  }
  return ratio(area, expectedPositives * expectedNegatives);
}

/** The window's estimated metrics from its predictions and the version's calibrator. */
export function estimateBinaryQuality(rows: readonly EstimationRow[], calibrator: Calibrator): EstimatedQuality {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let total = 0;
  const probabilities = new Array<number>(rows.length);
  const scores = new Array<number>(rows.length);
  const counts = new Array<number>(rows.length);
  rows.forEach((row, i) => {
    const p = calibrator.calibrate(row.score);
    const n = row.count ?? 1;
    probabilities[i] = p;
    scores[i] = row.score;
    counts[i] = n;
    total += n;
    if (row.predictedPositive) {
      tp += n * p;
      fp += n * (1 - p);
    } else {
      fn += n * p;
      tn += n * (1 - p);
    }
  });
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const f1 =
    Number.isNaN(precision) || Number.isNaN(recall)
      ? Number.NaN
      : precision + recall === 0
        ? 0
        : (2 * precision * recall) / (precision + recall);
  return {
    accuracy: ratio(tp + tn, total),
    precision,
    recall,
    f1,
    roc_auc: total === 0 ? Number.NaN : estimatedRocAuc(probabilities, scores, counts),
  };
}
