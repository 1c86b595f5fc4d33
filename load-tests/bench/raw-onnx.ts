// onnxruntime alone, through the model adapter's score(), for every shipped model version 1 at
// each batch size; inputs are the model's own reference-sample rows, repeated.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../../services/inference/model.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { rateOver, repeat } from "./runs.ts";
import type { Summary } from "./stats.ts";

export const modelsDir = join(projectRoot, "services", "inference", "models");

/** model name → batch size → rows/s. */
export type OnnxLimits = Map<string, Map<number, Summary>>;

export async function measureOnnx(options: {
  batches: number[];
  ms: number;
  runs: number;
  log: (line: string) => void;
}): Promise<OnnxLimits> {
  const out: OnnxLimits = new Map();
  for (const name of readdirSync(modelsDir).sort()) {
    const dir = join(modelsDir, name, "1");
    const model = await loadModel(dir, { threads: 1 });
    try {
      const width = model.manifest.input.width;
      const sample = JSON.parse(readFileSync(join(dir, "reference-sample.json"), "utf8")) as { rows: number[][] };
      const largest = Math.max(...options.batches);
      const matrix = new Float32Array(largest * width);
      for (let r = 0; r < largest; r += 1) matrix.set(sample.rows[r % sample.rows.length] ?? [], r * width);
      const byBatch = new Map<number, Summary>();
      for (const batch of options.batches) {
        const input = matrix.subarray(0, batch * width);
        byBatch.set(
          batch,
          await repeat(`onnx ${name} @${batch}`, options, () =>
            rateOver(options.ms, async () => {
              await model.score(input, batch);
              return batch;
            }),
          ),
        );
      }
      out.set(name, byBatch);
    } finally {
      await model.release();
    }
  }
  return out;
}
