import { describe, expect, it } from "vitest";
import { decidePromotion, decideRollback, labelledWindows } from "../../../services/shared/model/promotion.ts";
import { type ClosedWindow, retrainingPolicySchema } from "../../../services/shared/model/retraining.ts";

const minute = 60_000;
const policy = retrainingPolicySchema.parse({
  quality: { metric: "roc_auc", threshold: 0.9, minLabels: 100 },
  gate: { metric: "roc_auc", margin: 0.01, maxSegmentRegression: 0.02 },
  shadowWindows: 3,
  minWindowLabels: 100,
  rollbackWindows: 2,
});

/** Windows 5 minutes apart from `from`, one per value, each with `labelled` labels of roc_auc. */
function windows(values: number[], from = 0, labelled = 500): ClosedWindow[] {
  return values.map((value, i) => ({
    windowStart: from + i * 5 * minute,
    driftedFeatures: [],
    quality: { roc_auc: { value, labelled }, accuracy: { value: 0.5, labelled } },
  }));
}

describe("promotion decision", () => {
  it("has defaults for the new policy fields: rollback on its own, promotion not", () => {
    const defaults = retrainingPolicySchema.parse({
      quality: { metric: "roc_auc", threshold: 0.9, minLabels: 100 },
      gate: { metric: "roc_auc", margin: 0, maxSegmentRegression: 0 },
    });
    expect(defaults).toMatchObject({
      shadowWindows: 6,
      autoPromote: false,
      minWindowLabels: 100,
      rollbackWindows: 3,
      rollbackMargin: 0,
      autoRollback: true,
    });
    expect(
      retrainingPolicySchema.safeParse({ ...defaults, rollbackWindows: 0 }).error?.issues.map((i) => i.path.join(".")),
    ).toEqual(["rollbackWindows"]);
  });

  it("waits until both versions have the policy's number of windows with enough labels", () => {
    const thin = [...windows([0.95, 0.95]), ...windows([0.95], 10 * minute, 99)];
    const decision = decidePromotion(
      policy,
      { version: 2, windows: thin },
      { version: 1, windows: windows([0.8, 0.8, 0.8]) },
    );
    expect(decision).toMatchObject({ verdict: "wait", evidence: { windowsSoFar: 2 } });
    expect(decision.reason).toBe("2 of 3 windows with 100+ labels of roc_auc for both versions");
    // Windows only one of them has labelled do not count either.
    const apart = decidePromotion(
      policy,
      { version: 2, windows: windows([0.95, 0.95, 0.95]) },
      { version: 1, windows: windows([0.8, 0.8, 0.8], 5 * minute) },
    );
    expect(apart).toMatchObject({ verdict: "wait", evidence: { windowsSoFar: 2 } });
  });

  it("promotes a shadow that beats the champion by the margin, with each window's numbers as evidence", () => {
    const decision = decidePromotion(
      policy,
      { version: 2, windows: windows([0.5, 0.93, 0.94, 0.95]) },
      { version: 1, windows: windows([0.99, 0.9, 0.91, 0.92]) },
    );
    expect(decision.verdict).toBe("promote");
    // The newest three common windows: the first, where the shadow lost, is older than those.
    expect(decision.evidence).toMatchObject({
      metric: "roc_auc",
      margin: 0.01,
      candidate: 2,
      champion: 1,
      candidateMean: 0.94,
      championMean: 0.91,
      gain: 0.03,
      windows: [
        { windowStart: 5 * minute, candidate: { value: 0.93, labelled: 500 }, champion: { value: 0.9, labelled: 500 } },
        { windowStart: 10 * minute, candidate: { value: 0.94 }, champion: { value: 0.91 } },
        { windowStart: 15 * minute, candidate: { value: 0.95 }, champion: { value: 0.92 } },
      ],
    });
    expect(decision.reason).toContain("beats it by 0.0300 (margin 0.01)");
  });

  it("keeps a shadow that loses, and one that is ahead by less than the margin or ties", () => {
    const champion = { version: 1, windows: windows([0.9, 0.9, 0.9]) };
    const loses = decidePromotion(policy, { version: 2, windows: windows([0.85, 0.95, 0.86]) }, champion);
    expect(loses).toMatchObject({ verdict: "keep", evidence: { gain: -0.013333 } });
    const withinMargin = decidePromotion(policy, { version: 2, windows: windows([0.905, 0.905, 0.905]) }, champion);
    expect(withinMargin).toMatchObject({ verdict: "keep", evidence: { gain: 0.005 } });
    expect(withinMargin.reason).toContain("does not beat it by the margin 0.01");
    // With no margin, a tie is still no reason to swap models.
    const noMargin = { ...policy, gate: { ...policy.gate, margin: 0 } };
    expect(decidePromotion(noMargin, { version: 2, windows: windows([0.9, 0.9, 0.9]) }, champion).verdict).toBe("keep");
    expect(decidePromotion(noMargin, { version: 2, windows: windows([0.9, 0.9, 0.901]) }, champion).verdict).toBe(
      "promote",
    );
  });

  it("treats an error metric as lower-is-better", () => {
    const brier = { ...policy, gate: { metric: "brier", margin: 0.01, maxSegmentRegression: 0 } };
    const w = (values: number[]) =>
      values.map((value, i) => ({
        windowStart: i * minute,
        driftedFeatures: [],
        quality: { brier: { value, labelled: 200 } },
      }));
    expect(
      decidePromotion(
        brier,
        { version: 2, windows: w([0.05, 0.05, 0.05]) },
        { version: 1, windows: w([0.1, 0.1, 0.1]) },
      ).verdict,
    ).toBe("promote");
    expect(
      decidePromotion(
        brier,
        { version: 2, windows: w([0.1, 0.1, 0.1]) },
        { version: 1, windows: w([0.05, 0.05, 0.05]) },
      ).verdict,
    ).toBe("keep");
  });

  it("leaves out windows without a finite value of the metric", () => {
    const broken: ClosedWindow[] = [
      { windowStart: 0, driftedFeatures: [], quality: { roc_auc: { value: Number.NaN, labelled: 500 } } },
      { windowStart: minute, driftedFeatures: [], quality: { accuracy: { value: 0.9, labelled: 500 } } },
    ];
    expect(labelledWindows(broken, "roc_auc", 1).size).toBe(0);
  });
});

describe("rollback decision", () => {
  const promotedAt = 20 * minute;
  // The old champion's windows before the promotion: 0, 5, 10, 15 minutes.
  const before = windows([0.5, 0.9, 0.92, 0.94]);

  it("waits for the policy's number of labelled windows that start after the promotion", () => {
    // Windows at 15 (before) and 20 minutes: only one starts at or after the promotion.
    const decision = decideRollback(policy, {
      at: promotedAt,
      newChampion: { version: 2, windows: windows([0.5, 0.5], 15 * minute) },
      oldChampion: { version: 1, windows: before },
    });
    expect(decision).toMatchObject({ verdict: "wait", evidence: { windowsSoFar: 1 } });
  });

  it("rolls back a new champion below the old one's last windows before the promotion, and says so", () => {
    const decision = decideRollback(policy, {
      at: promotedAt,
      // Its shadow windows before the promotion (0.99) are not what it is judged on.
      newChampion: { version: 2, windows: [...windows([0.99, 0.99]), ...windows([0.9, 0.9, 0.5], promotedAt)] },
      oldChampion: { version: 1, windows: before },
    });
    expect(decision.verdict).toBe("rollback");
    expect(decision.evidence).toMatchObject({
      comparison: "windows before the promotion",
      newWindows: [
        { windowStart: promotedAt, value: 0.9 },
        { windowStart: promotedAt + 5 * minute, value: 0.9 },
      ],
      oldWindows: [
        { windowStart: 10 * minute, value: 0.92 },
        { windowStart: 15 * minute, value: 0.94 },
      ],
      newMean: 0.9,
      oldMean: 0.93,
      gain: -0.03,
    });
    expect(decision.reason).toContain("falls short by 0.0300");
  });

  it("compares on the same windows when the old champion still scores them", () => {
    const decision = decideRollback(policy, {
      at: promotedAt,
      newChampion: { version: 2, windows: windows([0.85, 0.85], promotedAt) },
      // Better than the new champion before the promotion, worse on the same windows after it.
      oldChampion: { version: 1, windows: [...before, ...windows([0.8, 0.8], promotedAt)] },
    });
    expect(decision).toMatchObject({ verdict: "hold", evidence: { comparison: "same windows", oldMean: 0.8 } });
  });

  it("holds within the rollback margin, and cannot judge without the old champion's windows", () => {
    const newChampion = { version: 2, windows: windows([0.92, 0.92], promotedAt) };
    expect(
      decideRollback(policy, { at: promotedAt, newChampion, oldChampion: { version: 1, windows: before } }),
    ).toMatchObject({
      verdict: "rollback",
    });
    const tolerant = { ...policy, rollbackMargin: 0.02 };
    expect(
      decideRollback(tolerant, { at: promotedAt, newChampion, oldChampion: { version: 1, windows: before } }).verdict,
    ).toBe("hold");
    const none = decideRollback(policy, { at: promotedAt, newChampion, oldChampion: { version: 1, windows: [] } });
    expect(none).toMatchObject({ verdict: "unjudgeable" });
    expect(none.reason).toBe("version 1 has 0 of 2 labelled windows before the promotion to compare with");
  });
});
