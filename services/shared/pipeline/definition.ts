// A pipeline is configuration, not code: its input schema, entity key, cleaning rules, features,
// model and monitoring settings. Definitions are validated at start-up; errors name the bad key.
import { z } from "zod";
import { StreamscoreError } from "../errors.ts";
import { retrainingPolicySchema } from "../model/retraining.ts";

const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an Avro field name");

const rangeRule = z.object({ min: z.number().optional(), max: z.number().optional() }).strict();

export const cleaningSchema = z
  .object({
    /** Fields that must be present and not null. */
    required: z.array(fieldName).default([]),
    /** Inclusive numeric ranges; a value outside is rejected. NaN and ±Infinity are always rejected. */
    ranges: z.record(fieldName, rangeRule).default({}),
    /** Values put in for null or missing optional fields. */
    defaults: z.record(fieldName, z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Accepted values of string fields; others are rejected. */
    allowed: z.record(fieldName, z.array(z.string()).min(1)).default({}),
    /** Lower-case and trim these string fields before anything else. */
    normalize: z.array(fieldName).default([]),
    dedupe: z.object({ key: fieldName, windowSeconds: z.number().int().positive() }).strict(),
    /** Events further than this into the future (event time vs processing time) are rejected. */
    maxFutureSkewSeconds: z.number().int().nonnegative().default(300),
  })
  .strict();

const featureBase = { name: fieldName };

export const featureSchema = z.discriminatedUnion("kind", [
  z.object({ ...featureBase, kind: z.literal("numeric"), source: fieldName }).strict(),
  z
    .object({
      ...featureBase,
      kind: z.literal("standard-scale"),
      source: fieldName,
      mean: z.number(),
      std: z.number().positive(),
    })
    .strict(),
  z.object({ ...featureBase, kind: z.literal("log1p"), source: fieldName }).strict(),
  z
    .object({
      ...featureBase,
      kind: z.literal("category-index"),
      source: fieldName,
      categories: z.array(z.string()).min(1),
    })
    .strict(),
  z
    .object({ ...featureBase, kind: z.literal("one-hot"), source: fieldName, categories: z.array(z.string()).min(1) })
    .strict(),
  z.object({ ...featureBase, kind: z.literal("hour-of-day"), source: fieldName }).strict(),
  z.object({ ...featureBase, kind: z.literal("day-of-week"), source: fieldName }).strict(),
  z
    .object({
      ...featureBase,
      kind: z.literal("rolling"),
      source: fieldName,
      aggregate: z.enum(["count", "sum", "mean"]),
      windowSeconds: z.number().int().positive(),
    })
    .strict(),
]);

export const monitoringSchema = z
  .object({
    /** Features whose drift is tracked; empty means all model inputs. */
    features: z.array(z.string()).default([]),
    windowSeconds: z.number().int().positive().default(60),
    /** Sliding windows start every slideSeconds; equal to windowSeconds (the default) means tumbling. */
    slideSeconds: z.number().int().positive().optional(),
    allowedLatenessSeconds: z.number().int().nonnegative().default(30),
    /** Windows with fewer values are stored but never flagged: too few to tell drift from noise. */
    minWindowSize: z.number().int().positive().default(50),
    /** Reference-quantile bins of the streaming statistics. */
    bins: z.number().int().min(2).default(10),
    /**
     * The statistic whose threshold decides whether a feature drifted in a window. PSI on frozen
     * reference-quantile bins is the default: the distance tests (Wasserstein, KS) react to a few
     * extreme values in a small window, and the p-values to sample size.
     */
    driftStatistic: z.enum(["psi", "jensenShannon", "wasserstein", "ksPValue", "chiSquarePValue"]).default("psi"),
    /** Per feature (or "prediction"), thresholds that replace the defaults, e.g. { card_txn_count_1h: { psi: 0.25 } }. */
    thresholds: z
      .record(
        z.string(),
        z
          .object(
            Object.fromEntries(
              [
                "psi",
                "jensenShannon",
                "wasserstein",
                "ksPValue",
                "tTestPValue",
                "chiSquarePValue",
                "zTestPValue",
                "meanShift",
                "varianceRatio",
                "unseenShare",
                "missingShare",
                "nonFiniteShare",
              ].map((name) => [name, z.number().optional()]),
            ),
          )
          .strict(),
      )
      .default({}),
    /** Consecutive drifted windows before an alert, and clean ones before it resolves. */
    alertAfterWindows: z.number().int().positive().default(2),
    resolveAfterWindows: z.number().int().positive().default(2),
  })
  .strict()
  .refine((m) => (m.slideSeconds ?? m.windowSeconds) <= m.windowSeconds, {
    message: "slideSeconds must not exceed windowSeconds",
    path: ["slideSeconds"],
  });

export const pipelineSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits and dashes"),
    description: z.string(),
    /** File in schemas/ holding the raw event's Avro record. */
    schema: z.string().endsWith(".avsc"),
    eventId: fieldName,
    entityKey: fieldName,
    eventTime: fieldName,
    partitions: z.number().int().positive().default(3),
    /**
     * Personal fields (e.g. a card number) and what the transformer does with them before anything
     * leaves it: `hash` replaces the value with a keyed HMAC (stable, so per-entity state still
     * works), `drop` removes it. Raw records keep what producers sent.
     */
    personal: z.record(fieldName, z.enum(["hash", "drop"])).default({}),
    cleaning: cleaningSchema,
    features: z.array(featureSchema).min(1),
    model: z.object({ directory: z.string(), name: z.string() }).strict(),
    monitoring: monitoringSchema.default({
      features: [],
      windowSeconds: 60,
      allowedLatenessSeconds: 30,
      minWindowSize: 50,
      bins: 10,
      driftStatistic: "psi",
      thresholds: {},
      alertAfterWindows: 2,
      resolveAfterWindows: 2,
    }),
    /** When to retrain the model and what a candidate must show before it goes live (model/retraining.ts). */
    retraining: retrainingPolicySchema.optional(),
  })
  .strict();

export type PipelineDefinition = z.output<typeof pipelineSchema>;
export type FeatureSpec = z.output<typeof featureSchema>;
export type CleaningRules = z.output<typeof cleaningSchema>;

/** Validates a definition; the error lists every problem with its key path. */
export function definePipeline(input: z.input<typeof pipelineSchema>): PipelineDefinition {
  const parsed = pipelineSchema.safeParse(input);
  if (!parsed.success) {
    const name = typeof (input as { name?: unknown }).name === "string" ? (input as { name: string }).name : "?";
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new StreamscoreError("CONFIG_INVALID", `pipeline "${name}" is invalid:\n  ${problems.join("\n  ")}`);
  }
  const definition = parsed.data;
  const personalProblems = personalDataProblems(definition);
  if (personalProblems.length > 0) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `pipeline "${definition.name}" is invalid:\n  ${personalProblems.join("\n  ")}`,
    );
  }
  const names = featureNames(definition);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `pipeline "${definition.name}" is invalid:\n  features: "${duplicate}" is defined twice`,
    );
  }
  return definition;
}

/**
 * Personal fields must not feed features, must not be echoed by a cleaning rule's message, and the
 * fields records are identified by can only be hashed (dropping them would lose the record's identity).
 */
function personalDataProblems(definition: PipelineDefinition): string[] {
  const problems: string[] = [];
  const identifying = new Set([definition.entityKey, definition.eventId, definition.cleaning.dedupe.key]);
  for (const [field, action] of Object.entries(definition.personal)) {
    const where = `personal.${field}`;
    if (field === definition.eventTime) problems.push(`${where}: the event-time field cannot be personal`);
    if (action === "drop" && identifying.has(field)) {
      problems.push(`${where}: "${field}" identifies records (entity key, event id or de-duplication key); hash it`);
    }
    const feature = definition.features.find((f) => f.source === field);
    if (feature) problems.push(`${where}: feature "${feature.name}" reads it; personal fields cannot be features`);
    if (field in definition.cleaning.allowed || field in definition.cleaning.ranges) {
      problems.push(`${where}: an allowed-values or range rule would quote it in dead-letter messages`);
    }
  }
  return problems;
}

/**
 * What a pipeline that starts from empty state cannot show yet: its rolling features (and the
 * prediction, which reads them) count only the history seen so far, so for the longest rolling
 * window after the pipeline's first event they are low by construction, not by drift.
 */
export function warmUpOf(definition: Pick<PipelineDefinition, "features">): { seconds: number; features: string[] } {
  const rolling = definition.features.filter((f) => f.kind === "rolling");
  if (rolling.length === 0) return { seconds: 0, features: [] };
  return {
    seconds: Math.max(...rolling.map((f) => (f.kind === "rolling" ? f.windowSeconds : 0))),
    features: [...rolling.map((f) => f.name), "prediction"],
  };
}

/** The model's input columns, in order: one-hot features expand to one column per category. */
export function featureNames(definition: Pick<PipelineDefinition, "features">): string[] {
  return definition.features.flatMap((feature) =>
    feature.kind === "one-hot" ? feature.categories.map((c) => `${feature.name}_${c}`) : [feature.name],
  );
}

export interface PipelineTopics {
  raw: string;
  features: string;
  scored: string;
  dlq: string;
  labels: string;
  alerts: string;
  /** Compacted changelog of the transformer's per-entity state. */
  transformerState: string;
  /** Shadow models' scores (never decisions), for the monitor's shadow_predictions. */
  shadowScored: string;
  /** The model registry's log: every registry change and refusal, kept forever. */
  modelEvents: string;
}

export function pipelineTopics(name: string): PipelineTopics {
  return {
    raw: `${name}.raw`,
    features: `${name}.features`,
    scored: `${name}.scored`,
    dlq: `${name}.dlq`,
    labels: `${name}.labels`,
    alerts: `${name}.alerts`,
    transformerState: `${name}.transformer-state`,
    shadowScored: `${name}.shadow-scored`,
    modelEvents: `${name}.model-events`,
  };
}
