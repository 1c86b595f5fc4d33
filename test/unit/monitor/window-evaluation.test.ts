import { describe, expect, it } from "vitest";
import { defaultThresholds } from "../../../services/monitor/drift/thresholds.ts";
import {
  addToWindow,
  type DriftInput,
  evaluateWindow,
  featureThresholds,
  openWindowState,
} from "../../../services/monitor/windowing/evaluation.ts";
import { warmUpOf } from "../../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";
import { context, definition, monitoring, names, reference } from "../../helpers/payments-reference.ts";

/** A closed window of `size` predictions whose every feature holds `value`. */
function closedWindow(size: number, value: number) {
  const state = openWindowState(reference);
  const record: DriftInput = {
    model_version: 1,
    event_time_ms: 0,
    feature_values: names.map(() => value),
    label: "0",
    score: 0.5,
  };
  for (let i = 0; i < size; i += 1) addToWindow(state, record);
  return { key: "1", start: 0, end: 300_000, state };
}

describe("window evaluation", () => {
  it("decides once per monitored feature with the pipeline's statistic, and flags a constant window", () => {
    const { rows, decisions } = evaluateWindow(closedWindow(monitoring.minWindowSize, 1e9), context);
    expect(decisions.map((d) => d.feature).sort()).toEqual([...reference.profiles.keys()].sort());
    expect(decisions.every((d) => d.drifted)).toBe(true);
    const deciding = rows.filter((r) => r.statistic.startsWith("drift:"));
    expect(deciding).toHaveLength(decisions.length);
    expect(rows.every((r) => r.sample_size === monitoring.minWindowSize && r.window_end === 300)).toBe(true);
  });

  it("decides nothing in a window under the minimum size, though it still reports the statistics", () => {
    const { rows, decisions } = evaluateWindow(closedWindow(monitoring.minWindowSize - 1, 1e9), context);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.drifted === 0)).toBe(true);
    expect(decisions.every((d) => !d.drifted)).toBe(true);
  });

  it("applies a pipeline's threshold override to its feature only, keeping the statistic's rule", () => {
    // payments raises PSI to 0.25 for the rolling card features (their warm-up is noisy).
    const overridden = featureThresholds(defaultThresholds, monitoring, "card_txn_count_1h");
    expect(overridden.psi.threshold).toBe(0.25);
    expect(overridden.psi.rule).toBe(defaultThresholds.psi.rule);
    expect(overridden.wasserstein).toEqual(defaultThresholds.wasserstein);
    expect(featureThresholds(defaultThresholds, monitoring, "amount").psi.threshold).toBe(
      defaultThresholds.psi.threshold,
    );
  });

  it("stores a warming-up feature's statistics but never judges it, and judges the others", () => {
    const warm = warmUpOf(definition);
    expect(warm).toEqual({ seconds: 3600, features: ["card_txn_count_1h", "card_amount_sum_1h", "prediction"] });
    const window = closedWindow(monitoring.minWindowSize, 1e9);
    const during = evaluateWindow(window, {
      ...context,
      warmUp: { untilMs: window.end, features: new Set(warm.features) },
    });
    const judged = (feature: string) => during.decisions.find((d) => d.feature === feature);
    for (const feature of warm.features) {
      expect(judged(feature)).toMatchObject({ drifted: false, warmUp: true });
      expect(during.rows.filter((r) => r.feature === feature).every((r) => r.drifted === 0 && r.warm_up === 1)).toBe(
        true,
      );
      expect(during.rows.some((r) => r.feature === feature)).toBe(true);
    }
    expect(judged("amount")).toMatchObject({ drifted: true, warmUp: false });
    expect(during.rows.filter((r) => r.feature === "amount").every((r) => r.warm_up === 0)).toBe(true);
    // A window that starts at the line is past the warm-up.
    const after = evaluateWindow(window, {
      ...context,
      warmUp: { untilMs: window.start, features: new Set(warm.features) },
    });
    expect(after.decisions.every((d) => d.drifted && !d.warmUp)).toBe(true);
  });

  it("has no warm-up for a pipeline without rolling features", () => {
    expect(warmUpOf(getPipeline("iris"))).toEqual({ seconds: 0, features: [] });
  });
});
