// The closed loop's last steps, as decisions on realized quality: whether a shadow has beaten the
// champion on enough labelled windows to be promoted, and whether a new champion has fallen short of
// the champion it displaced and should be rolled back. Pure: per-version windows (the quality job's)
// come in, a verdict with the per-window numbers it rests on goes out; the monitor writes the log.
import { type ClosedWindow, metricGain, type RetrainingPolicy } from "./retraining.ts";

/** One version's value of the gate metric in one window, and the labels it rests on. */
export interface WindowValue {
  value: number;
  labelled: number;
}

export interface VersionWindows {
  version: number;
  /** As the quality job hands them over; the order does not matter. */
  windows: readonly ClosedWindow[];
}

export interface PromotionDecision {
  /** wait: too few labelled windows yet; keep: it does not beat the champion; promote: it does. */
  verdict: "wait" | "keep" | "promote";
  /** In words, for the audit trail and the logs. */
  reason: string;
  evidence: Record<string, unknown>;
}

export interface RollbackDecision {
  /**
   * wait: too few labelled windows since the promotion; hold: the new champion holds up (final);
   * unjudgeable: nothing of the old champion to compare with (final); rollback: it falls short.
   */
  verdict: "wait" | "hold" | "unjudgeable" | "rollback";
  reason: string;
  evidence: Record<string, unknown>;
}

/**
 * The windows where `metric` rests on at least `minLabels` labels, by window start. A window with
 * fewer labels is left out rather than weighted: its metric is too noisy to decide on, and its labels
 * may still be arriving.
 */
export function labelledWindows(
  windows: readonly ClosedWindow[],
  metric: string,
  minLabels: number,
): Map<number, WindowValue> {
  const out = new Map<number, WindowValue>();
  for (const window of windows) {
    const measured = window.quality[metric];
    if (!measured || !Number.isFinite(measured.value) || measured.labelled < minLabels) continue;
    out.set(window.windowStart, { value: measured.value, labelled: measured.labelled });
  }
  return out;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const round = (value: number): number => Math.round(value * 1e6) / 1e6;

/**
 * A shadow against the champion on the newest `shadowWindows` windows both have labelled. Both
 * versions scored the same events in those windows (a shadow scores every record the champion
 * decides), so the windows differ only in the model. It is promoted when its mean of the gate metric
 * over those windows beats the champion's by at least the gate's margin and by more than nothing: a
 * tie is no reason to swap models, even with a margin of 0.
 */
export function decidePromotion(
  policy: RetrainingPolicy,
  candidate: VersionWindows,
  champion: VersionWindows,
): PromotionDecision {
  const { metric, margin } = policy.gate;
  const needed = policy.shadowWindows;
  const mine = labelledWindows(candidate.windows, metric, policy.minWindowLabels);
  const theirs = labelledWindows(champion.windows, metric, policy.minWindowLabels);
  const common = [...mine.keys()]
    .filter((start) => theirs.has(start))
    .sort((a, b) => a - b)
    .slice(-needed);
  const basis = {
    metric,
    margin,
    minWindowLabels: policy.minWindowLabels,
    shadowWindows: needed,
    candidate: candidate.version,
    champion: champion.version,
  };
  if (common.length < needed) {
    return {
      verdict: "wait",
      reason: `${common.length} of ${needed} windows with ${policy.minWindowLabels}+ labels of ${metric} for both versions`,
      evidence: { ...basis, windowsSoFar: common.length },
    };
  }
  const windows = common.map((start) => ({
    windowStart: start,
    candidate: mine.get(start) as WindowValue,
    champion: theirs.get(start) as WindowValue,
  }));
  const candidateMean = mean(windows.map((w) => w.candidate.value));
  const championMean = mean(windows.map((w) => w.champion.value));
  const gain = metricGain(metric, candidateMean, championMean);
  const evidence = {
    ...basis,
    windows,
    candidateMean: round(candidateMean),
    championMean: round(championMean),
    gain: round(gain),
  };
  const summary = `version ${candidate.version}'s mean ${metric} ${candidateMean.toFixed(4)} vs champion ${champion.version}'s ${championMean.toFixed(4)} over ${needed} labelled windows`;
  if (gain > 0 && gain >= margin) {
    return { verdict: "promote", reason: `${summary}: beats it by ${gain.toFixed(4)} (margin ${margin})`, evidence };
  }
  return { verdict: "keep", reason: `${summary}: does not beat it by the margin ${margin}`, evidence };
}

/**
 * A new champion against the champion it displaced, on the first `rollbackWindows` labelled windows
 * that start at or after the promotion (event time against the promotion's time: a window that began
 * before it mixes both models' decisions). When the old champion still scores those windows (kept in
 * shadow), both are compared on the same windows, which leaves out any change in the data itself;
 * otherwise the old champion's last labelled windows before the promotion are the baseline, the only
 * record of how it did — a harder stream after the promotion then counts against the new champion.
 * Decided once: the first K windows are the judgement, later windows are the ordinary monitoring's.
 */
export function decideRollback(
  policy: RetrainingPolicy,
  promotion: { at: number; newChampion: VersionWindows; oldChampion: VersionWindows },
): RollbackDecision {
  const metric = policy.gate.metric;
  const needed = policy.rollbackWindows;
  const margin = policy.rollbackMargin;
  const fresh = labelledWindows(promotion.newChampion.windows, metric, policy.minWindowLabels);
  const old = labelledWindows(promotion.oldChampion.windows, metric, policy.minWindowLabels);
  const after = [...fresh.keys()]
    .filter((start) => start >= promotion.at)
    .sort((a, b) => a - b)
    .slice(0, needed);
  const basis = {
    metric,
    rollbackMargin: margin,
    minWindowLabels: policy.minWindowLabels,
    rollbackWindows: needed,
    newChampion: promotion.newChampion.version,
    oldChampion: promotion.oldChampion.version,
    promotedAt: promotion.at,
  };
  if (after.length < needed) {
    return {
      verdict: "wait",
      reason: `${after.length} of ${needed} labelled windows of version ${promotion.newChampion.version} since its promotion`,
      evidence: { ...basis, windowsSoFar: after.length },
    };
  }
  const newWindows = after.map((start) => ({ windowStart: start, ...(fresh.get(start) as WindowValue) }));
  const sameWindows = after.every((start) => old.has(start));
  const baselineStarts = sameWindows
    ? after
    : [...old.keys()]
        .filter((start) => start < promotion.at)
        .sort((a, b) => a - b)
        .slice(-needed);
  const comparison = sameWindows ? "same windows" : "windows before the promotion";
  if (baselineStarts.length < needed) {
    return {
      verdict: "unjudgeable",
      reason: `version ${promotion.oldChampion.version} has ${baselineStarts.length} of ${needed} labelled windows before the promotion to compare with`,
      evidence: { ...basis, comparison, newWindows },
    };
  }
  const oldWindows = baselineStarts.map((start) => ({ windowStart: start, ...(old.get(start) as WindowValue) }));
  const newMean = mean(newWindows.map((w) => w.value));
  const oldMean = mean(oldWindows.map((w) => w.value));
  const gain = metricGain(metric, newMean, oldMean);
  const evidence = {
    ...basis,
    comparison,
    newWindows,
    oldWindows,
    newMean: round(newMean),
    oldMean: round(oldMean),
    gain: round(gain),
  };
  const summary = `version ${promotion.newChampion.version}'s mean ${metric} ${newMean.toFixed(4)} over its first ${needed} labelled windows as champion vs version ${promotion.oldChampion.version}'s ${oldMean.toFixed(4)} (${comparison})`;
  if (gain < -margin) {
    return { verdict: "rollback", reason: `${summary}: falls short by ${(-gain).toFixed(4)}`, evidence };
  }
  return { verdict: "hold", reason: `${summary}: holds up`, evidence };
}
