import { describe, expect, it } from "vitest";
import {
  describeTrigger,
  type LifecycleFacts,
  lifecycleSummary,
  type ModelEventFact,
  planLifecycle,
  type QualityRow,
  qualityOver,
} from "../../../tools/demo/lifecycle-report.ts";
import type { RetrainReport } from "../../../tools/models/retrain.ts";

const windowMs = 300_000;
const now = Date.parse("2026-12-07T12:03:20Z");

describe("planLifecycle", () => {
  it("lays the phases out in whole windows that end no later than now", () => {
    const plan = planLifecycle(now, 300, 2);
    expect(plan.startTime % windowMs).toBe(0);
    expect(plan.latestEnd).toBeLessThanOrEqual(now);
    expect(now - plan.latestEnd).toBeLessThan(windowMs);
    expect(plan.eventsPerWindow).toBe(600);
    expect(plan.driftFrom).toBe(plan.startTime + 16 * windowMs);
    expect((plan.latestEnd - plan.startTime) / windowMs).toBe(12 + 4 + 6 + 12 + 4);
  });
});

function rows(version: number, from: number, values: Array<[number, number, number]>): QualityRow[] {
  return values.flatMap(([auc, accuracy, labelled], i) => [
    {
      model_version: String(version),
      window_start: String(from + i * windowMs),
      metric: "roc_auc",
      value: auc,
      labelled,
    },
    { model_version: version, window_start: from + i * windowMs, metric: "accuracy", value: accuracy, labelled },
  ]);
}

describe("qualityOver", () => {
  it("averages a version's windows in the span that have enough labels", () => {
    const data = [
      ...rows(1, 0, [
        [0.9, 0.99, 300],
        [0.5, 0.9, 300],
        [0.1, 0.5, 20],
      ]),
      ...rows(2, 0, [[1, 1, 300]]),
    ];
    const q = qualityOver(data, 1, 0, 3 * windowMs, 100);
    expect(q.windows).toBe(2);
    expect(q.labels).toBe(600);
    expect(q.rocAuc).toBeCloseTo(0.7, 12);
    expect(q.accuracy).toBeCloseTo(0.945, 12);
    expect(qualityOver(data, 1, windowMs, 2 * windowMs, 100).rocAuc).toBeCloseTo(0.5, 12);
    expect(qualityOver(data, 3, 0, 3 * windowMs, 100)).toEqual({
      windows: 0,
      labels: 0,
      rocAuc: undefined,
      accuracy: undefined,
    });
  });
});

const drift = Date.parse("2026-12-07T10:00:00Z");
const trigger: ModelEventFact = {
  kind: "retrain-requested",
  version: 1,
  actor: "retraining policy (monitor)",
  reason: "roc_auc 0.4100 is past 0.9 on 301 labels",
  at: Date.parse("2026-12-07T12:00:14Z"),
  evidence: {
    trigger: "quality",
    windowStart: drift + windowMs,
    metric: "roc_auc",
    value: 0.41,
    labelled: 301,
    threshold: 0.9,
  },
};

describe("describeTrigger", () => {
  it("names the trigger, its numbers and where its window lies against the drift", () => {
    expect(describeTrigger(trigger, drift, windowMs)).toBe(
      "quality trigger: roc_auc 0.4100 is below 0.9 on 301 labels in the window 10:05–10:10 event time (window 2 after the drift)",
    );
    const early = { ...trigger, evidence: { ...trigger.evidence, windowStart: drift - 2 * windowMs } };
    expect(describeTrigger(early, drift, windowMs)).toContain("2 windows BEFORE the drift");
    const byDrift = {
      ...trigger,
      evidence: {
        trigger: "drift",
        windows: [
          { windowStart: drift, drifted: ["amount", "log_amount"] },
          { windowStart: drift + windowMs, drifted: ["amount", "country"] },
        ],
      },
    };
    expect(describeTrigger(byDrift, drift, windowMs)).toBe(
      "drift trigger: [amount, log_amount] [amount, country] drifted in 2 windows from 10:00 event time (window 1 after the drift)",
    );
  });
});

const report = {
  pipeline: "lifecycle-x",
  version: 2,
  window: { since: new Date(drift).toISOString(), until: new Date(drift + 6 * windowMs).toISOString() },
  eventTime: { first: "", last: "" },
  rows: { exported: 1800, usable: 1800, train: 1440, holdout: 360, skipped: { missingFeature: 0, unknownLabel: 0 } },
  trainingDataSha256: { train: "", holdout: "" },
  metric: "roc_auc",
  champion: { version: 1, overall: { roc_auc: 0.4143, accuracy: 0.8812 }, segments: {} },
  candidate: { version: 2, overall: { roc_auc: 0.9974, accuracy: 0.9905 }, segments: {} },
  gate: { pass: true, reasons: [], evidence: { margin: 0.005 } },
  segmentsNotCompared: [],
  decision: "shadow",
  seconds: { export: 0.2, training: 3.2, fit: 0.5, scoring: 0.1, toRegistered: 5.5, total: 6 },
  candidateDir: "",
  workDir: "",
} satisfies RetrainReport;

const promotedFrom = drift + 13 * windowMs;
const facts: LifecycleFacts = {
  pipeline: "lifecycle-x",
  definition: "payments",
  startedAt: Date.parse("2026-12-07T11:59:00Z"),
  finishedAt: Date.parse("2026-12-07T12:02:30Z"),
  windowMs,
  minWindowLabels: 100,
  autoPromote: false,
  labelRate: 0.5,
  phases: [
    {
      name: "warm-up (no labels)",
      windows: 12,
      fromTime: drift - 16 * windowMs,
      sent: 7200,
      accepted: 7200,
      labels: 0,
    },
    { name: "before the drift", windows: 4, fromTime: drift - 4 * windowMs, sent: 2400, accepted: 2400, labels: 1200 },
    { name: "after the drift", windows: 6, fromTime: drift, sent: 3600, accepted: 3600, labels: 1800 },
    { name: "in shadow", windows: 7, fromTime: drift + 6 * windowMs, sent: 4200, accepted: 4200, labels: 2100 },
    { name: "after the promotion", windows: 4, fromTime: promotedFrom, sent: 2400, accepted: 2400, labels: 1200 },
  ],
  drift: {
    description: "card-present payments under 50 at fuel stations are fraud",
    fromTime: drift,
    sentAt: Date.parse("2026-12-07T12:00:00Z"),
  },
  champion: { done: true, value: { version: 1, actor: "lifecycle demo (operator)" } },
  trigger: { done: true, value: trigger },
  retrain: { done: true, value: { report, startedAt: Date.parse("2026-12-07T12:00:20Z") } },
  recommendation: {
    done: true,
    value: {
      kind: "promotion-recommended",
      version: 2,
      actor: "monitor",
      reason:
        "version 2's mean roc_auc 0.9950 vs champion 1's 0.4000 over 6 labelled windows: beats it by 0.5950 (margin 0.005)",
      at: Date.parse("2026-12-07T12:01:30Z"),
      evidence: {},
    },
  },
  promotion: {
    done: true,
    value: {
      version: 2,
      at: Date.parse("2026-12-07T12:01:32Z"),
      by: "lifecycle demo (operator)",
      reason: "recommended by the monitor: …",
      fromTime: promotedFrom,
    },
  },
  quality: [
    ...rows(1, drift - 4 * windowMs, [
      [0.99, 0.99, 300],
      [0.99, 0.99, 300],
      [0.99, 0.99, 300],
      [0.99, 0.99, 300],
    ]),
    ...rows(
      1,
      drift,
      Array.from({ length: 13 }, () => [0.4, 0.89, 300] as [number, number, number]),
    ),
    ...rows(
      2,
      drift + 6 * windowMs,
      Array.from({ length: 7 }, () => [0.99, 0.98, 300] as [number, number, number]),
    ),
    ...rows(
      2,
      promotedFrom,
      Array.from({ length: 4 }, () => [0.995, 0.99, 300] as [number, number, number]),
    ),
    ...rows(
      1,
      promotedFrom,
      Array.from({ length: 4 }, () => [0.41, 0.9, 300] as [number, number, number]),
    ),
  ],
  events: [trigger],
  services: "stopped",
};

describe("lifecycleSummary", () => {
  it("shows every step with its numbers and the quality before and after", () => {
    const text = lifecycleSummary(facts);
    expect(text).toContain(
      "33 windows of 5 min replayed: 12 warm-up (no labels), 4 before the drift, 6 after the drift, 7 in shadow",
    );
    expect(text).toContain('v1 registered and promoted by "lifecycle demo (operator)"');
    expect(text).toContain("retrain-requested for v1 at 12:00:14, 14.0 s after the first post-drift event was sent");
    expect(text).toContain("holdout roc_auc: champion v1 0.4143, candidate v2 0.9974; accuracy 0.8812 vs 0.9905");
    expect(text).toContain("gate (roc_auc, margin 0.005): passes → v2 shadow");
    // Registered 5.5 s after the trainer started at 12:00:20, the request was at 12:00:14.
    expect(text).toContain("candidate registered 5.5 s after the trainer started, 11.5 s after the policy fired");
    expect(text).toContain("promotion-recommended for v2 by the monitor at 12:01:30:");
    expect(text).toContain("autoPromote is off: a person approves, here the demo as the operator");
    expect(text).toMatch(/v1 champion, before the drift\s+4\s+1200\s+0\.9900\s+0\.9900/);
    expect(text).toMatch(/v1 champion, after the drift\s+13\s+3900\s+0\.4000\s+0\.8900/);
    expect(text).toMatch(/v2 champion, after the promotion\s+4\s+1200\s+0\.9950\s+0\.9900/);
    expect(text).toMatch(/v1 in shadow, same windows\s+4\s+1200\s+0\.4100\s+0\.9000/);
    expect(text).toContain(
      "roc_auc after the drift: 0.4000 (v1) → 0.9950 (v2 after the promotion); accuracy 0.8900 → 0.9900",
    );
    expect(text).toContain("not judged in this run");
    expect(text).not.toContain("NOT");
  });

  it("says plainly which steps did not happen", () => {
    const text = lifecycleSummary({
      ...facts,
      trigger: { done: false, why: "no retrain-requested for v1 in model_events 60 s after" },
      retrain: {
        done: true,
        value: {
          report: {
            ...report,
            decision: "rejected",
            gate: { pass: false, reasons: ["roc_auc 0.4 does not beat"], evidence: { margin: 0.005 } },
          },
          startedAt: 0,
        },
      },
      recommendation: { done: false, why: "no candidate went to shadow" },
      promotion: { done: false, why: "no candidate went to shadow" },
      phases: facts.phases.slice(0, 3),
      quality: facts.quality.filter((r) => Number(r.window_start) < drift + 6 * windowMs),
    });
    expect(text).toContain("3 policy fired    NO: no retrain-requested for v1 in model_events 60 s after");
    expect(text).toContain("(the policy had not fired)");
    expect(text).toContain("fails: roc_auc 0.4 does not beat → v2 rejected");
    expect(text).toContain("no shadow phase ran");
    expect(text).toContain("no promotion-recommended: no candidate went to shadow");
    expect(text).toContain("NOT PROMOTED: no candidate went to shadow");
    expect(text).toContain("no before/after comparison");
    expect(text).not.toContain("v2 in shadow");
  });
});
