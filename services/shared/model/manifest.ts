// The contract between training, inference and monitoring: a model version's manifest: what the ONNX file expects and returns, where it came from, and
// the profile of its training data that drift monitoring compares live data against.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { StreamscoreError } from "../errors.ts";

const numericalProfile = z.object({
  type: z.literal("numerical"),
  count: z.number(),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
  quantileEdges: z.array(z.number()).min(2),
  binShares: z.array(z.number()),
});
const categoricalProfile = z.object({
  type: z.literal("categorical"),
  count: z.number(),
  frequencies: z.record(z.string(), z.number()),
});
export const featureProfileSchema = z.discriminatedUnion("type", [numericalProfile, categoricalProfile]);

export const manifestSchema = z.object({
  name: z.string().min(1),
  version: z.number().int().positive(),
  pipeline: z.string().min(1),
  createdAt: z.string(),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  task: z.enum(["binary-classification", "multiclass-classification"]),
  input: z.object({ name: z.string(), type: z.literal("float32"), width: z.number().int().positive() }),
  featureOrder: z.array(z.string()).min(1),
  outputs: z.object({
    label: z.string(),
    probabilities: z.string(),
    probabilitiesFormat: z.enum(["zipmap", "tensor"]),
  }),
  classLabels: z.array(z.string()).min(2),
  classNames: z.array(z.string()).min(2),
  positiveClass: z.string().optional(),
  trainer: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
  profile: z.object({
    rows: z.number(),
    features: z.record(z.string(), featureProfileSchema),
    prediction: featureProfileSchema,
  }),
});

export type ModelManifest = z.output<typeof manifestSchema>;
export type FeatureProfile = z.output<typeof featureProfileSchema>;

/** Reads and checks a version directory's manifest (the model file itself is the inference service's to check). */
export function readManifest(versionDir: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(versionDir, "manifest.json"), "utf8"));
  } catch (error) {
    throw new StreamscoreError("MODEL_INVALID", `cannot read ${versionDir}/manifest.json: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new StreamscoreError("MODEL_INVALID", `${versionDir}/manifest.json is invalid: ${problems}`);
  }
  const manifest = parsed.data;
  if (manifest.featureOrder.length !== manifest.input.width) {
    throw new StreamscoreError(
      "MODEL_INVALID",
      `featureOrder has ${manifest.featureOrder.length} names, input.width is ${manifest.input.width}`,
    );
  }
  if (manifest.task === "binary-classification" && !manifest.classLabels.includes(manifest.positiveClass ?? "")) {
    throw new StreamscoreError("MODEL_INVALID", "a binary classifier needs positiveClass among classLabels");
  }
  return manifest;
}
