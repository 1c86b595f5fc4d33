import { describe, expect, it } from "vitest";
import {
  type ClosedWindow,
  evaluatePolicy,
  retrainingPolicySchema,
  validateCandidate,
} from "../../../services/shared/model/retraining.ts";

const policy = retrainingPolicySchema.parse({
  drift: { features: 2, windows: 3 },
  quality: { metric: "roc_auc", threshold: 0.9, minLabels: 100 },
  gate: { metric: "roc_auc", margin: 0.01, maxSegmentRegression: 0.02 },
});

const window = (start: number, drifted: string[], auc?: number, labelled = 500): ClosedWindow => ({
  windowStart: start,
  driftedFeatures: drifted,
  quality: auc === undefined ? {} : { roc_auc: { value: auc, labelled } },
});

describe("retraining policy", () => {
  it("fires on drift only when enough features drifted in every one of the last N windows", () => {
    const twoOfThree = [window(1, ["amount", "log_amount"]), window(2, ["amount"]), window(3, ["amount", "country"])];
    expect(evaluatePolicy(policy, twoOfThree).fire).toBe(false);
    const decision = evaluatePolicy(policy, [
      window(0, []),
      window(1, ["amount", "log_amount"]),
      window(2, ["amount", "country"]),
      window(3, ["amount", "log_amount", "country"]),
    ]);
    expect(decision).toMatchObject({ fire: true, reason: "2+ features drifted in each of the last 3 windows" });
    expect((decision.evidence.windows as unknown[]).length).toBe(3);
    // Fewer windows than the policy asks for never fire.
    expect(evaluatePolicy(policy, [window(1, ["a", "b"]), window(2, ["a", "b"])]).fire).toBe(false);
  });

  it("fires on quality in the newest window with enough labels, ignoring thinly labelled ones", () => {
    expect(evaluatePolicy(policy, [window(1, [], 0.95), window(2, [], 0.5, 20)]).fire).toBe(false);
    const decision = evaluatePolicy(policy, [window(1, [], 0.95), window(2, [], 0.85), window(3, [], 0.99, 10)]);
    expect(decision).toMatchObject({ fire: true, evidence: { trigger: "quality", windowStart: 2, value: 0.85 } });
  });

  it("treats error metrics as lower-is-better", () => {
    const brier = retrainingPolicySchema.parse({
      quality: { metric: "brier", threshold: 0.1, minLabels: 1 },
      gate: { metric: "brier", margin: 0, maxSegmentRegression: 0 },
    });
    const w = (value: number): ClosedWindow => ({
      windowStart: 1,
      driftedFeatures: [],
      quality: { brier: { value, labelled: 5 } },
    });
    expect(evaluatePolicy(brier, [w(0.05)]).fire).toBe(false);
    expect(evaluatePolicy(brier, [w(0.2)]).fire).toBe(true);
  });

  it("refuses a policy without a trigger and names the problem", () => {
    const result = retrainingPolicySchema.safeParse({
      gate: { metric: "roc_auc", margin: 0, maxSegmentRegression: 0 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("a retraining policy needs a drift or a quality trigger");
  });
});

describe("validation gate", () => {
  const champion = { overall: { roc_auc: 0.9 }, segments: { pos: { roc_auc: 0.92 }, ecom: { roc_auc: 0.88 } } };

  it("passes a candidate that beats the champion by the margin and regresses no segment past δ", () => {
    const result = validateCandidate(
      policy.gate,
      { overall: { roc_auc: 0.915 }, segments: { pos: { roc_auc: 0.905 }, ecom: { roc_auc: 0.93 } } },
      champion,
    );
    expect(result.pass).toBe(true);
    expect(result.evidence.segmentDeltas).toEqual({ pos: expect.closeTo(-0.015, 12), ecom: expect.closeTo(0.05, 12) });
  });

  it("rejects a candidate short of the margin, or one that regresses a segment, saying which", () => {
    const short = validateCandidate(
      policy.gate,
      { overall: { roc_auc: 0.905 }, segments: champion.segments },
      champion,
    );
    expect(short).toMatchObject({
      pass: false,
      reasons: ["roc_auc 0.9050 does not beat the champion's 0.9000 by 0.01"],
    });
    const regress = validateCandidate(
      policy.gate,
      { overall: { roc_auc: 0.95 }, segments: { pos: { roc_auc: 0.85 }, ecom: { roc_auc: 0.95 } } },
      champion,
    );
    expect(regress).toMatchObject({ pass: false, reasons: ["segment pos: roc_auc regresses from 0.9200 to 0.8500"] });
    const missing = validateCandidate(policy.gate, { overall: {} }, champion);
    expect(missing.reasons[0]).toBe("roc_auc is missing for the candidate");
  });
});
