// Scores decoded feature records with a model, in bounded sub-batches, and builds the scored
// records. Records whose features cannot form a model input are returned as failures.
import { StreamscoreError } from "../shared/errors.ts";
import type { FeaturesRecord, ModelRole, ScoredRecord } from "../shared/pipeline/records.ts";
import type { LoadedModel } from "./model.ts";

export interface ScoringFailure {
  index: number;
  error: StreamscoreError;
}

/** Copies each record's features into one row-major matrix in the model's feature order. */
export function buildMatrix(
  records: readonly FeaturesRecord[],
  featureOrder: readonly string[],
): { matrix: Float32Array; rows: number[]; failures: ScoringFailure[] } {
  const width = featureOrder.length;
  const matrix = new Float32Array(records.length * width);
  const rows: number[] = [];
  const failures: ScoringFailure[] = [];
  records.forEach((record, index) => {
    const offset = rows.length * width;
    for (let c = 0; c < width; c += 1) {
      const value = record[featureOrder[c] as string];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        failures.push({
          index,
          error: new StreamscoreError(
            "MODEL_INPUT_INVALID",
            `feature ${featureOrder[c]} is ${String(value)}, not a finite number`,
          ),
        });
        return;
      }
      matrix[offset + c] = value;
    }
    rows.push(index);
  });
  return { matrix: matrix.subarray(0, rows.length * width), rows, failures };
}

export async function scoreRecords(
  model: LoadedModel,
  pipeline: string,
  /** The pipeline's feature order, which scored records use whatever order the model takes. */
  featureNames: readonly string[],
  records: readonly FeaturesRecord[],
  maxBatch: number,
  now: () => number,
  /** After the model runs: their wall seconds, rows and count (the stage's scoring rate). */
  onRuns?: (seconds: number, rows: number, runs: number) => void,
  /** The role the model scores in, written on every scored record. */
  role: ModelRole = "champion",
): Promise<{ scored: Array<{ index: number; record: ScoredRecord }>; failures: ScoringFailure[] }> {
  const { manifest } = model;
  const { matrix, rows, failures } = buildMatrix(records, manifest.featureOrder);
  const width = manifest.input.width;
  const classes = manifest.classLabels.length;
  const positive = manifest.positiveClass === undefined ? -1 : manifest.classLabels.indexOf(manifest.positiveClass);
  const scored: Array<{ index: number; record: ScoredRecord }> = [];
  // Every micro-batch is handed to onnxruntime at once and awaited together: awaiting each in turn
  // left the runs waiting for the event loop between them (other partitions decode and encode on
  // it), so a 0.3 ms run took as long as another partition's whole chunk.
  const starts: number[] = [];
  for (let start = 0; start < rows.length; start += maxBatch) starts.push(start);
  const runAt = performance.now();
  const results = await Promise.all(
    starts.map((start) => {
      const count = Math.min(maxBatch, rows.length - start);
      return model.score(matrix.subarray(start * width, (start + count) * width), count);
    }),
  );
  if (starts.length > 0) onRuns?.((performance.now() - runAt) / 1000, rows.length, starts.length);
  const scoreTime = now();
  for (const [b, start] of starts.entries()) {
    const count = Math.min(maxBatch, rows.length - start);
    const result = results[b] as Awaited<ReturnType<LoadedModel["score"]>>;
    for (let r = 0; r < count; r += 1) {
      const index = rows[start + r] as number;
      const source = records[index] as FeaturesRecord;
      const probabilities = Array.from(result.probabilities.subarray(r * classes, (r + 1) * classes));
      const label = result.labels[r] as string;
      const score = positive >= 0 ? (probabilities[positive] ?? 0) : Math.max(...probabilities);
      scored.push({
        index,
        record: {
          event_id: source.event_id,
          pipeline,
          entity: source.entity,
          event_time: source.event_time,
          ingest_time: source.ingest_time,
          transform_time: source.transform_time,
          score_time: scoreTime,
          model_name: manifest.name,
          model_version: manifest.version,
          label,
          score,
          class_labels: manifest.classLabels,
          probabilities,
          features: featureNames.map((name) => Number(source[name])),
          model_role: role,
        },
      });
    }
  }
  return { scored, failures };
}
