import { describe, expect, it } from "vitest";
import type { LoadedModel, Scores } from "../../../services/inference/model.ts";
import { scoreRecords } from "../../../services/inference/scoring.ts";
import type { ModelManifest } from "../../../services/shared/model/manifest.ts";
import type { FeaturesRecord } from "../../../services/shared/pipeline/records.ts";

const manifest = {
  name: "fake",
  version: 3,
  input: { name: "x", type: "float32", width: 2 },
  featureOrder: ["b", "a"],
  classLabels: ["0", "1"],
  positiveClass: "1",
} as unknown as ModelManifest;

/** Probability of "1" is the row's first input / 100; runs that start first finish last. */
function fakeModel(batches: number[]): LoadedModel {
  let pending = 0;
  return {
    manifest,
    async score(matrix, rows) {
      batches.push(rows);
      pending += 1;
      const ticks = 100 - 10 * pending;
      for (let i = 0; i < ticks; i += 1) await Promise.resolve();
      const probabilities = new Float64Array(rows * 2);
      const labels: string[] = [];
      for (let r = 0; r < rows; r += 1) {
        const p = (matrix[r * 2] as number) / 100;
        probabilities[r * 2] = 1 - p;
        probabilities[r * 2 + 1] = p;
        labels.push(p > 0.5 ? "1" : "0");
      }
      return { labels, probabilities } satisfies Scores;
    },
    release: async () => undefined,
  };
}

function records(count: number): FeaturesRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `e${i}`,
    entity: `c${i % 3}`,
    event_time: 1000 + i,
    ingest_time: 900 + i,
    transform_time: 950 + i,
    a: i % 7,
    b: i,
  }));
}

describe("scoring records in micro-batches", () => {
  it("scores every record in order although the micro-batches finish in another order", async () => {
    const batches: number[] = [];
    const runs: Array<[number, number]> = [];
    const input = records(23);
    const { scored, failures } = await scoreRecords(
      fakeModel(batches),
      "p",
      ["a", "b"],
      input,
      5,
      () => 5000,
      (seconds, rows, count) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        runs.push([rows, count]);
      },
    );
    expect(failures).toEqual([]);
    expect(batches).toEqual([5, 5, 5, 5, 3]);
    expect(runs).toEqual([[23, 5]]);
    expect(scored.map((s) => s.index)).toEqual(input.map((_, i) => i));
    expect(scored.map((s) => s.record.score)).toEqual(input.map((r) => (r.b as number) / 100));
    expect(scored[7]?.record).toMatchObject({ event_id: "e7", features: [0, 7], score_time: 5000, model_version: 3 });
  });

  it("leaves out records whose features are not numbers and runs nothing when none is left", async () => {
    const batches: number[] = [];
    const runs: number[] = [];
    const input = records(2).map((r) => ({ ...r, a: Number.NaN }));
    const { scored, failures } = await scoreRecords(fakeModel(batches), "p", ["a", "b"], input, 5, Date.now, () =>
      runs.push(1),
    );
    expect(scored).toEqual([]);
    expect(failures.map((f) => [f.index, f.error.code])).toEqual([
      [0, "MODEL_INPUT_INVALID"],
      [1, "MODEL_INPUT_INVALID"],
    ]);
    expect(batches).toEqual([]);
    expect(runs).toEqual([]);
  });
});
