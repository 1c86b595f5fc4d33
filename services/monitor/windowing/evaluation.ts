// What happens to a window, without I/O: a stored prediction is added to every feature's
// accumulator, and a closed window becomes its `drift_metrics` rows and one decision per feature
// (the pipeline's deciding statistic, or PSI where that one does not apply to the feature's type).
import type { PipelineDefinition } from "../../shared/pipeline/definition.ts";
import { createWindow, streamingStatistics, streamingVerdicts, type WindowAccumulator } from "../drift/streaming.ts";
import type { DriftThresholds, Threshold } from "../drift/thresholds.ts";
import type { PredictionRow } from "../rows.ts";
import type { VersionReference } from "./reference.ts";
import type { ClosedWindow } from "./windows.ts";

/** What the monitor reads of a stored prediction. */
export type DriftInput = Pick<
  PredictionRow,
  "model_version" | "event_time_ms" | "feature_values" | "label" | "score"
> & {
  /** The scored record's offset in its partition, when known (a rebuilt partition skips what it read). */
  source_offset?: string;
};

export interface WindowState {
  reference: VersionReference;
  accumulators: Map<string, WindowAccumulator>;
  size: number;
}

export interface DriftDecision {
  feature: string;
  statistic: string;
  value: number;
  threshold: number;
  drifted: boolean;
  /** The feature was still warming up (see warmUpOf): stored, never judged. */
  warmUp: boolean;
}

export interface DriftMetricRow {
  pipeline: string;
  model_name: string;
  model_version: number;
  window_start: number;
  window_end: number;
  feature: string;
  feature_type: string;
  statistic: string;
  value: number;
  threshold: number;
  drifted: 0 | 1;
  sample_size: number;
  reference_size: number;
  computed_at: number;
  warm_up: 0 | 1;
}

type Monitoring = PipelineDefinition["monitoring"];

/** The defaults with the pipeline's overrides for one feature. */
export function featureThresholds(base: DriftThresholds, monitoring: Monitoring, feature: string): DriftThresholds {
  const overrides = monitoring.thresholds[feature] ?? {};
  const merged: Record<string, Threshold> = { ...base };
  for (const [statistic, threshold] of Object.entries(overrides)) {
    const known = merged[statistic];
    if (known && threshold !== undefined) merged[statistic] = { ...known, threshold };
  }
  return merged as DriftThresholds;
}

export function openWindowState(reference: VersionReference): WindowState {
  return {
    reference,
    accumulators: new Map([...reference.profiles].map(([name, profile]) => [name, createWindow(profile)])),
    size: 0,
  };
}

/** Adds one prediction to a window: its feature values, and its label or score for the prediction. */
export function addToWindow(state: WindowState, record: DriftInput): void {
  state.size += 1;
  for (const [name, accumulator] of state.accumulators) {
    const column = state.reference.columns.get(name) ?? -1;
    if (column >= 0) {
      const value = record.feature_values[column];
      accumulator.add((accumulator.kind === "categorical" ? String(value) : value) as never);
    } else {
      const prediction = accumulator.kind === "categorical" ? record.label : record.score;
      accumulator.add(prediction as never);
    }
  }
}

/**
 * A closed window's rows and decisions. A window under `minWindowSize` events decides nothing, and
 * neither does a warming-up feature in a window that starts before `warmUp.untilMs`.
 */
export function evaluateWindow(
  window: ClosedWindow<WindowState>,
  context: {
    pipeline: string;
    monitoring: Monitoring;
    thresholdsFor: (feature: string) => DriftThresholds;
    computedAtSeconds: number;
    warmUp?: { untilMs: number; features: ReadonlySet<string> };
  },
): { rows: DriftMetricRow[]; decisions: DriftDecision[] } {
  const { monitoring } = context;
  const { reference: ref, accumulators, size } = window.state;
  const rows: DriftMetricRow[] = [];
  const decisions: DriftDecision[] = [];
  const enough = size >= monitoring.minWindowSize;
  const warmingUp = (feature: string) =>
    context.warmUp !== undefined && window.start < context.warmUp.untilMs && context.warmUp.features.has(feature);
  const row = (
    feature: string,
    featureType: string,
    statistic: string,
    verdict: { value: number; threshold: number; drifted: boolean },
    referenceSize: number,
  ): DriftMetricRow => ({
    pipeline: context.pipeline,
    model_name: ref.modelName,
    model_version: ref.version,
    window_start: Math.floor(window.start / 1000),
    window_end: Math.floor(window.end / 1000),
    feature,
    feature_type: featureType,
    statistic,
    value: verdict.value,
    threshold: verdict.threshold,
    drifted: verdict.drifted && enough && !warmingUp(feature) ? 1 : 0,
    sample_size: size,
    reference_size: referenceSize,
    computed_at: context.computedAtSeconds,
    warm_up: warmingUp(feature) ? 1 : 0,
  });
  for (const [feature, accumulator] of accumulators) {
    const profile = ref.profiles.get(feature);
    if (!profile) continue;
    let statistics: ReturnType<typeof streamingStatistics>;
    try {
      statistics = streamingStatistics(profile, accumulator);
    } catch {
      continue; // a window without usable values for this feature
    }
    const verdicts = streamingVerdicts(statistics, context.thresholdsFor(feature));
    for (const [statistic, verdict] of Object.entries(verdicts)) {
      if (verdict && Number.isFinite(verdict.value))
        rows.push(row(feature, profile.kind, statistic, verdict, profile.count));
    }
    const decidingName = verdicts[monitoring.driftStatistic] ? monitoring.driftStatistic : "psi";
    const deciding = verdicts[decidingName];
    if (deciding && Number.isFinite(deciding.value)) {
      rows.push(row(feature, profile.kind, `drift:${decidingName}`, deciding, profile.count));
      decisions.push({
        feature,
        statistic: decidingName,
        value: deciding.value,
        threshold: deciding.threshold,
        drifted: deciding.drifted && enough && !warmingUp(feature),
        warmUp: warmingUp(feature),
      });
    }
  }
  return { rows, decisions };
}
