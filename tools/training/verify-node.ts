// Checks an exported model in onnxruntime-node, the runtime the inference service uses: the
// manifest matches the file and the pipeline, and on the holdout rows written by train.py the
// probabilities equal scikit-learn's within 1e-5 and the labels are the same.
//
//   node tools/training/verify-node.ts .stack/training-data/payments-verify.json ...
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
// biome-ignore lint/style/noRestrictedImports: offline check of the exported file in the serving runtime, not service code; the service's adapter does not exist yet and must not depend on training tooling.
import ort from "onnxruntime-node";
import { featureNames } from "../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";

const tolerance = 1e-5;

interface VerifyFile {
  pipeline: string;
  modelDir: string;
  featureOrder: string[];
  rows: number[][];
  sklearnLabels: number[];
  sklearnProbabilities: number[][];
}

interface Manifest {
  name: string;
  pipeline: string;
  file: string;
  sha256: string;
  input: { name: string; type: string; width: number };
  featureOrder: string[];
  outputs: { label: string; probabilities: string; probabilitiesFormat: string };
  classLabels: string[];
}

// A known setosa flower, the request the iris demo sends.
const irisProbe = [5.1, 3.5, 1.4, 0.2];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function score(
  session: ort.InferenceSession,
  manifest: Manifest,
  rows: number[][],
): Promise<{ labels: number[]; probabilities: number[][] }> {
  const width = manifest.input.width;
  const data = Float32Array.from(rows.flat());
  const input = new ort.Tensor("float32", data, [rows.length, width]);
  const result = await session.run({ [manifest.input.name]: input }, [
    manifest.outputs.label,
    manifest.outputs.probabilities,
  ]);
  const labelTensor = result[manifest.outputs.label];
  const probabilityTensor = result[manifest.outputs.probabilities];
  if (!labelTensor || !probabilityTensor) throw new Error("the model did not return the manifest's outputs");
  const labels = Array.from(labelTensor.data as BigInt64Array, Number);
  const flat = probabilityTensor.data as Float32Array;
  const classes = manifest.classLabels.length;
  if (probabilityTensor.dims.join() !== `${rows.length},${classes}`)
    throw new Error(
      `probabilities have shape [${probabilityTensor.dims.join(", ")}], expected [${rows.length}, ${classes}]`,
    );
  const probabilities = rows.map((_, r) => Array.from(flat.subarray(r * classes, (r + 1) * classes)));
  return { labels, probabilities };
}

async function verify(path: string): Promise<boolean> {
  const check = JSON.parse(await readFile(path, "utf8")) as VerifyFile;
  const definition = getPipeline(check.pipeline);
  const manifest = JSON.parse(await readFile(join(check.modelDir, "manifest.json"), "utf8")) as Manifest;
  const bytes = await readFile(join(check.modelDir, manifest.file));
  const problems: string[] = [];
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== manifest.sha256) problems.push(`sha256 ${sha256} differs from the manifest's ${manifest.sha256}`);
  if (manifest.name !== definition.model.name)
    problems.push(`name ${manifest.name} differs from the pipeline's ${definition.model.name}`);
  if (!sameList(manifest.featureOrder, featureNames(definition)))
    problems.push("featureOrder differs from featureNames(definition)");
  if (manifest.input.width !== manifest.featureOrder.length) problems.push("input.width differs from featureOrder");
  if (manifest.outputs.probabilitiesFormat !== "tensor") problems.push("only tensor probabilities are supported");

  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  if (!sameList(session.inputNames, [manifest.input.name]))
    problems.push(`model inputs are [${session.inputNames.join(", ")}]`);
  const { labels, probabilities } = await score(session, manifest, check.rows);
  let maxDiff = 0;
  let labelMismatches = 0;
  for (let r = 0; r < check.rows.length; r += 1) {
    if (labels[r] !== check.sklearnLabels[r]) labelMismatches += 1;
    const expected = check.sklearnProbabilities[r] ?? [];
    const actual = probabilities[r] ?? [];
    for (let c = 0; c < expected.length; c += 1) {
      maxDiff = Math.max(maxDiff, Math.abs((actual[c] ?? Number.NaN) - (expected[c] ?? Number.NaN)));
    }
  }
  if (!(maxDiff <= tolerance)) problems.push(`max abs probability difference ${maxDiff} exceeds ${tolerance}`);
  if (labelMismatches > 0) problems.push(`${labelMismatches} labels differ from scikit-learn's`);

  let probe = "";
  if (check.pipeline === "iris") {
    const result = await score(session, manifest, [irisProbe]);
    const label = result.labels[0];
    probe = `; [${irisProbe.join(", ")}] → class ${label} (${result.probabilities[0]?.map((p) => p.toFixed(4)).join(", ")})`;
    if (label !== 0) problems.push(`[${irisProbe.join(", ")}] predicted class ${label}, expected 0 (setosa)`);
  }
  await session.release();

  console.log(
    `${check.pipeline}: onnxruntime-node vs scikit-learn on ${check.rows.length} rows: max abs probability difference ${maxDiff.toExponential(2)}, ${labelMismatches} label mismatches${probe}`,
  );
  for (const problem of problems) console.error(`${check.pipeline}: ${problem}`);
  return problems.length === 0;
}

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true, options: {}, strict: true });
  if (positionals.length === 0) throw new Error("usage: verify-node.ts <pipeline-verify.json>...");
  let ok = true;
  for (const path of positionals) ok = (await verify(path)) && ok;
  if (!ok) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
