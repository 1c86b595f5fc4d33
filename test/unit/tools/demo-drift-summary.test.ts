import { describe, expect, it } from "vitest";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";
import { type DriftWindowRow, driftSummary } from "../../../tools/demo/drift-summary.ts";

const payments = getPipeline("payments");
const minute = 60_000;
// Mid-window, as in the demo: the window from 97 to 102 minutes holds drifted events.
const driftFrom = 100 * minute;

function rows(feature: string, verdicts: string, warmUpWindows = 0): DriftWindowRow[] {
  return [...verdicts].map((v, i) => ({
    feature,
    window_start: (82 + i * 5) * minute,
    drifted: v === "x" ? 1 : 0,
    warm_up: i < warmUpWindows ? 1 : 0,
  }));
}

describe("the demo's drift summary", () => {
  it("names the injected drift, what is computed from it, the warm-up, and nothing else", () => {
    const lines = driftSummary(
      [
        ...rows("amount", "...xxxxx"),
        ...rows("log_amount", "...xxxxx"),
        ...rows("prediction", "....xxx.", 2),
        ...rows("card_txn_count_1h", "........", 2),
        ...rows("country", "........"),
      ],
      driftFrom,
      payments,
    );
    expect(lines).toEqual([
      "amount drifted from the half-way point: 5 of the 5 windows since the drift was injected",
      "and what is computed from it: log_amount 5/5, prediction 3/5 (the prediction reads amount)",
      "nothing else drifted",
      "not judged: card_txn_count_1h, card_amount_sum_1h, prediction in the first 2 windows (warm-up: the rolling features count only the history seen so far)",
    ]);
  });

  it("says so when something else drifted, before or after the drift", () => {
    const lines = driftSummary([...rows("amount", "x...xxxx"), ...rows("country", ".....x..")], driftFrom, payments);
    expect(lines[0]).toBe("amount drifted from the half-way point: 4 of the 5 windows since the drift was injected");
    expect(lines[1]).toBe("also drifted: amount, country (1 drifted windows before the drift was injected)");
  });

  it("says so when the injected drift was missed", () => {
    expect(driftSummary(rows("amount", "........"), driftFrom, payments)[0]).toBe(
      "amount did not drift in the 5 windows since the drift was injected (it should have)",
    );
  });
});
