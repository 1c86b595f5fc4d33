// Drift thresholds: one typed map with a documented default per statistic, and one function that
// turns statistic values into `{ value, threshold, drifted }`. The defaults for PSI, JS,
// Wasserstein and the p-values are Evidently's, so a streaming alert means what a batch report
// would say; the others are ours.

/** How a value is compared with its threshold. */
export type ThresholdRule =
  /** drifted when value >= threshold (distances, shares) */
  | "at-least"
  /** drifted when value <= threshold (Evidently's rule for the KS p-value) */
  | "at-most"
  /** drifted when value < threshold (other p-values) */
  | "below"
  /** drifted when |value| >= threshold (signed shifts) */
  | "abs-at-least"
  /** drifted when value >= threshold or value <= 1/threshold (ratios) */
  | "ratio-outside";

export interface Threshold {
  readonly threshold: number;
  readonly rule: ThresholdRule;
  /** A second, stronger level: PSI's conventional "alert" at 0.25 above the "warn" at 0.1. */
  readonly alert?: number;
  readonly doc: string;
}

export const defaultThresholds = {
  psi: { threshold: 0.1, alert: 0.25, rule: "at-least", doc: "PSI: >= 0.1 warn (Evidently's drift), >= 0.25 alert" },
  jensenShannon: { threshold: 0.1, rule: "at-least", doc: "Jensen–Shannon distance, natural log (Evidently)" },
  wasserstein: { threshold: 0.1, rule: "at-least", doc: "Wasserstein distance in reference-std units (Evidently)" },
  ksPValue: { threshold: 0.05, rule: "at-most", doc: "KS p-value <= 0.05 (Evidently)" },
  tTestPValue: { threshold: 0.05, rule: "below", doc: "t-test p-value < 0.05 (Evidently)" },
  chiSquarePValue: { threshold: 0.05, rule: "below", doc: "chi-square p-value < 0.05 (Evidently)" },
  zTestPValue: { threshold: 0.05, rule: "below", doc: "two-proportion z-test p-value < 0.05 (Evidently)" },
  meanShift: { threshold: 0.5, rule: "abs-at-least", doc: "|mean shift| >= 0.5 reference standard deviations" },
  varianceRatio: { threshold: 2, rule: "ratio-outside", doc: "current/reference variance >= 2 or <= 0.5" },
  unseenShare: {
    threshold: 0.01,
    rule: "at-least",
    doc: "share of current values in categories the reference never saw",
  },
  missingShare: { threshold: 0.05, rule: "at-least", doc: "share of missing values (null, NaN) in the window" },
  nonFiniteShare: { threshold: 0.01, rule: "at-least", doc: "share of ±infinity in the window" },
} as const satisfies Record<string, Threshold>;

export type StatisticName = keyof typeof defaultThresholds;
export type DriftThresholds = { readonly [K in StatisticName]: Threshold };

export interface Verdict {
  value: number;
  threshold: number;
  drifted: boolean;
  /** Only for statistics with an alert level. */
  level?: "none" | "warn" | "alert";
}

/** A NaN value (a test that does not apply) never counts as drift. */
export function isDrifted(value: number, threshold: number, rule: ThresholdRule): boolean {
  if (Number.isNaN(value)) return false;
  switch (rule) {
    case "at-least":
      return value >= threshold;
    case "at-most":
      return value <= threshold;
    case "below":
      return value < threshold;
    case "abs-at-least":
      return Math.abs(value) >= threshold;
    case "ratio-outside":
      return value >= threshold || value <= 1 / threshold;
  }
}

export function evaluateDrift(
  values: Partial<Record<StatisticName, number>>,
  thresholds: DriftThresholds = defaultThresholds,
): Partial<Record<StatisticName, Verdict>> {
  const verdicts: Partial<Record<StatisticName, Verdict>> = {};
  for (const name of Object.keys(values) as StatisticName[]) {
    const value = values[name];
    if (value === undefined) continue;
    const { threshold, rule, alert } = thresholds[name];
    const drifted = isDrifted(value, threshold, rule);
    const verdict: Verdict = { value, threshold, drifted };
    if (alert !== undefined) verdict.level = isDrifted(value, alert, rule) ? "alert" : drifted ? "warn" : "none";
    verdicts[name] = verdict;
  }
  return verdicts;
}
