// The model adapter: the only module that imports onnxruntime-node. It turns a row-major float32
// matrix into labels and class probabilities, whichever output form the exporter chose
// (a probability tensor, or scikit-learn's ZipMap sequence of maps).
import * as ort from "onnxruntime-node";
import { StreamscoreError } from "../shared/errors.ts";
import type { ModelManifest } from "../shared/model/manifest.ts";
import { readModelVersion } from "./model-file.ts";

export interface Scores {
  /** Predicted class label per row. */
  labels: string[];
  /** rows × classes, columns in manifest.classLabels order. */
  probabilities: Float64Array;
}

export interface LoadedModel {
  readonly manifest: ModelManifest;
  score(matrix: Float32Array, rows: number): Promise<Scores>;
  release(): Promise<void>;
}

function labelsOf(tensor: ort.Tensor): string[] {
  return Array.from(tensor.data as ArrayLike<bigint | number | string>, (v) => String(v));
}

function probabilitiesOf(value: unknown, manifest: ModelManifest, rows: number): Float64Array {
  const classes = manifest.classLabels.length;
  const out = new Float64Array(rows * classes);
  if (manifest.outputs.probabilitiesFormat === "tensor") {
    const data = (value as ort.Tensor).data as Float32Array;
    for (let i = 0; i < out.length; i += 1) out[i] = data[i] ?? Number.NaN;
    return out;
  }
  // ZipMap: one map per row, keyed by class label (number or string).
  const maps = value as Array<Map<unknown, number> | Record<string, number>>;
  for (let r = 0; r < rows; r += 1) {
    const row = maps[r];
    for (let c = 0; c < classes; c += 1) {
      const label = manifest.classLabels[c] as string;
      const p =
        row instanceof Map ? (row.get(label) ?? row.get(Number(label)) ?? row.get(BigInt(label))) : row?.[label];
      out[r * classes + c] = p ?? Number.NaN;
    }
  }
  return out;
}

export async function loadModel(versionDir: string, options: { threads?: number } = {}): Promise<LoadedModel> {
  const { manifest, modelBytes } = readModelVersion(versionDir);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  } catch (error) {
    throw new StreamscoreError("MODEL_INVALID", `onnxruntime cannot load ${versionDir}: ${(error as Error).message}`);
  }
  for (const name of [manifest.outputs.label, manifest.outputs.probabilities]) {
    if (!session.outputNames.includes(name)) {
      throw new StreamscoreError(
        "MODEL_INVALID",
        `model has no output "${name}" (it has ${session.outputNames.join(", ")})`,
      );
    }
  }
  if (!session.inputNames.includes(manifest.input.name)) {
    throw new StreamscoreError("MODEL_INVALID", `model has no input "${manifest.input.name}"`);
  }

  const model: LoadedModel = {
    manifest,
    async score(matrix, rows) {
      if (matrix.length !== rows * manifest.input.width) {
        throw new StreamscoreError(
          "MODEL_INPUT_INVALID",
          `expected ${rows}×${manifest.input.width} values, got ${matrix.length}`,
        );
      }
      const input = new ort.Tensor("float32", matrix, [rows, manifest.input.width]);
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run({ [manifest.input.name]: input }, [
          manifest.outputs.label,
          manifest.outputs.probabilities,
        ]);
      } catch (error) {
        throw new StreamscoreError("SCORING_FAILED", `onnxruntime run failed: ${(error as Error).message}`);
      }
      return {
        labels: labelsOf(result[manifest.outputs.label] as ort.Tensor),
        probabilities: probabilitiesOf(result[manifest.outputs.probabilities], manifest, rows),
      };
    },
    release: () => session.release(),
  };
  // A warm-up run proves the file scores before the service says it is ready.
  const warmUp = await model.score(new Float32Array(manifest.input.width), 1);
  if (warmUp.labels.length !== 1 || warmUp.probabilities.some((p) => Number.isNaN(p))) {
    throw new StreamscoreError("MODEL_INVALID", "warm-up scoring returned no label or non-numeric probabilities");
  }
  return model;
}
