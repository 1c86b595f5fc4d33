// When a pipeline's model should be retrained, and whether a retrained candidate may go live: the
// retraining policy of a pipeline definition, evaluated on the monitor's closed windows, and the
// validation gate a candidate must pass against the champion. Pure: the windows and the metrics
// come in, a decision with its evidence goes out.
import { z } from "zod";

/** Metrics where a higher value is better; the others (brier, log_loss) are errors, lower is better. */
const higherIsBetter = new Set([
  "accuracy",
  "precision",
  "recall",
  "f1",
  "roc_auc",
  "macro_precision",
  "macro_recall",
  "macro_f1",
]);

export const retrainingPolicySchema = z
  .object({
    /** Fires when at least `features` monitored features drifted in each of the last `windows` closed windows. */
    drift: z
      .object({ features: z.number().int().positive(), windows: z.number().int().positive() })
      .strict()
      .optional(),
    /** Fires when `metric` is below (or, for an error metric, above) `threshold` in a window with ≥ `minLabels` labels. */
    quality: z
      .object({ metric: z.string().min(1), threshold: z.number(), minLabels: z.number().int().positive() })
      .strict()
      .optional(),
    /** A candidate must beat the champion on `metric` by at least `margin`, and regress no segment by more than `maxSegmentRegression`. */
    gate: z
      .object({
        metric: z.string().min(1),
        margin: z.number().min(0),
        maxSegmentRegression: z.number().min(0),
      })
      .strict(),
    /**
     * Labelled windows a shadow is compared with the champion on (same windows, gate metric, mean
     * over the windows) before the monitor recommends or makes its promotion.
     */
    shadowWindows: z.number().int().positive().default(6),
    /** Promote after the shadow windows without a person; off by default (manual approval). */
    autoPromote: z.boolean().default(false),
    /** Labels a window needs (for both versions compared) to count towards promotion or rollback. */
    minWindowLabels: z.number().int().positive().default(100),
    /** Labelled windows after a promotion the new champion is judged on against the champion it displaced. */
    rollbackWindows: z.number().int().positive().default(3),
    /** How far (in the gate metric) the new champion may fall short of the old one before it is rolled back. */
    rollbackMargin: z.number().min(0).default(0),
    /**
     * Roll back without a person when the new champion falls short; on by default, unlike promotion,
     * because a rollback returns to a version that already served (with rollbackMargin 0, any shortfall
     * counts). Off: the monitor only recommends the rollback.
     */
    autoRollback: z.boolean().default(true),
  })
  .strict()
  .refine((p) => p.drift !== undefined || p.quality !== undefined, {
    message: "a retraining policy needs a drift or a quality trigger",
  });

export type RetrainingPolicy = z.output<typeof retrainingPolicySchema>;

/** One closed window as the monitor stored it: which features drifted, and the quality metrics with their labels. */
export interface ClosedWindow {
  windowStart: number;
  driftedFeatures: readonly string[];
  quality: Readonly<Record<string, { value: number; labelled: number }>>;
}

export interface PolicyDecision {
  fire: boolean;
  /** Why it fires (or, when it does not, why not), in words for the audit trail. */
  reason: string;
  evidence: Record<string, unknown>;
}

function worse(metric: string, value: number, threshold: number): boolean {
  return higherIsBetter.has(metric) ? value < threshold : value > threshold;
}

/** How much better `value` is than `reference` on `metric` (negative when worse), whichever way the metric points. */
export function metricGain(metric: string, value: number, reference: number): number {
  return higherIsBetter.has(metric) ? value - reference : reference - value;
}

/** Evaluates the policy on the windows closed so far, oldest first. */
export function evaluatePolicy(policy: RetrainingPolicy, windows: readonly ClosedWindow[]): PolicyDecision {
  if (policy.drift) {
    const { features, windows: needed } = policy.drift;
    const recent = windows.slice(-needed);
    if (recent.length === needed && recent.every((w) => w.driftedFeatures.length >= features)) {
      return {
        fire: true,
        reason: `${features}+ features drifted in each of the last ${needed} windows`,
        evidence: {
          trigger: "drift",
          windows: recent.map((w) => ({ windowStart: w.windowStart, drifted: [...w.driftedFeatures] })),
        },
      };
    }
  }
  if (policy.quality) {
    const { metric, threshold, minLabels } = policy.quality;
    const last = [...windows].reverse().find((w) => (w.quality[metric]?.labelled ?? 0) >= minLabels);
    const measured = last?.quality[metric];
    if (last && measured && worse(metric, measured.value, threshold)) {
      return {
        fire: true,
        reason: `${metric} ${measured.value.toFixed(4)} is past ${threshold} on ${measured.labelled} labels`,
        evidence: { trigger: "quality", windowStart: last.windowStart, metric, ...measured, threshold },
      };
    }
  }
  return { fire: false, reason: "no trigger of the policy holds", evidence: {} };
}

export interface CandidateMetrics {
  /** Metrics on the holdout both models are scored on. */
  overall: Readonly<Record<string, number>>;
  /** The same metrics per declared segment (e.g. per channel). */
  segments?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface GateResult {
  pass: boolean;
  reasons: string[];
  evidence: Record<string, unknown>;
}

/** The validation gate: the candidate beats the champion by the margin and regresses no segment by more than δ. */
export function validateCandidate(
  gate: RetrainingPolicy["gate"],
  candidate: CandidateMetrics,
  champion: CandidateMetrics,
): GateResult {
  const { metric, margin, maxSegmentRegression } = gate;
  const better = (a: number, b: number) => (higherIsBetter.has(metric) ? a - b : b - a);
  const reasons: string[] = [];
  const mine = candidate.overall[metric];
  const theirs = champion.overall[metric];
  if (mine === undefined || theirs === undefined || !Number.isFinite(mine) || !Number.isFinite(theirs)) {
    reasons.push(`${metric} is missing for the ${mine === undefined ? "candidate" : "champion"}`);
  } else if (better(mine, theirs) < margin) {
    reasons.push(`${metric} ${mine.toFixed(4)} does not beat the champion's ${theirs.toFixed(4)} by ${margin}`);
  }
  const segmentDeltas: Record<string, number> = {};
  for (const [segment, metrics] of Object.entries(champion.segments ?? {})) {
    const before = metrics[metric];
    const after = candidate.segments?.[segment]?.[metric];
    if (before === undefined) continue;
    if (after === undefined) {
      reasons.push(`segment ${segment}: the candidate has no ${metric}`);
      continue;
    }
    segmentDeltas[segment] = better(after, before);
    if (better(after, before) < -maxSegmentRegression) {
      reasons.push(`segment ${segment}: ${metric} regresses from ${before.toFixed(4)} to ${after.toFixed(4)}`);
    }
  }
  return {
    pass: reasons.length === 0,
    reasons,
    evidence: { metric, margin, maxSegmentRegression, candidate: mine, champion: theirs, segmentDeltas },
  };
}
