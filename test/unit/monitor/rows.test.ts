import { describe, expect, it } from "vitest";
import { predictionRow } from "../../../services/monitor/rows.ts";
import type { ScoredRecord } from "../../../services/shared/pipeline/records.ts";

const record: ScoredRecord = {
  event_id: "e1",
  pipeline: "payments",
  entity: "card-1",
  event_time: 1_795_000_000_000,
  ingest_time: 1_795_000_000_100,
  transform_time: 1_795_000_000_200,
  score_time: 1_795_000_000_300,
  model_name: "payments-fraud",
  model_version: 1,
  label: "0",
  score: 0.25,
  class_labels: ["0", "1"],
  probabilities: [0.75, 0.25],
  features: [12.5, 2.6],
};

describe("prediction rows", () => {
  it("turns a scored record into a row with its source position", () => {
    expect(predictionRow(record, ["amount", "log_amount"], 2, "41", 1_795_000_001_000)).toMatchObject({
      event_id: "e1",
      score: 0.25,
      feature_names: ["amount", "log_amount"],
      feature_values: [12.5, 2.6],
      source_partition: 2,
      source_offset: "41",
      insert_time: 1_795_000_001,
    });
  });

  it.each([
    [{ score: Number.NaN }, /score NaN is not a probability/],
    [{ score: 7 }, /score 7 is not a probability/],
    [{ probabilities: [0.75, -0.25] }, /a probability is outside/],
    [{ features: [Number.POSITIVE_INFINITY, 1] }, /a feature value is not a finite number/],
  ])("refuses %j with a coded error, so the sink dead-letters it", (change, message) => {
    expect(() => predictionRow({ ...record, ...change }, ["amount", "log_amount"], 0, "0", 0)).toThrow(
      expect.objectContaining({ code: "SCORED_RECORD_INVALID", message: expect.stringMatching(message) }),
    );
  });
});
