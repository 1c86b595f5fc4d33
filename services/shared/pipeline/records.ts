// The records that flow between the services, and the topics and schemas a pipeline needs.
import type { SchemaRegistryClient } from "../kafka/registry.ts";
import type { TopicSpec } from "../kafka/topics.ts";
import { readSchema } from "../schemas.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "./definition.ts";

export interface FeaturesRecord {
  event_id: string;
  entity: string;
  event_time: number;
  ingest_time: number;
  transform_time: number;
  [feature: string]: string | number;
}

export interface ScoredRecord {
  event_id: string;
  pipeline: string;
  entity: string;
  event_time: number;
  ingest_time: number;
  transform_time: number;
  score_time: number;
  model_name: string;
  model_version: number;
  label: string;
  score: number;
  class_labels: string[];
  probabilities: number[];
  features: number[];
  /** Absent on records written before roles existed: those are the champion's. */
  model_role?: ModelRole;
}

/** The roles a model scores in: champion and canary decide, a shadow is only recorded. */
export type ModelRole = "champion" | "canary" | "shadow";

/** An Avro-safe record name from a pipeline name: "payments-shadow-2" → "PaymentsShadow2". */
function pascalCase(name: string): string {
  const joined = name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
  return /^[A-Za-z]/.test(joined) ? joined : `P${joined}`;
}

/** The features topic's Avro record, generated from the definition: one double per model input. */
export function featuresSchema(definition: PipelineDefinition): object {
  return {
    type: "record",
    name: `${pascalCase(definition.name)}Features`,
    namespace: `streamscore.${definition.name.replace(/-/g, "_")}`,
    doc: `Model inputs of the ${definition.name} pipeline, in feature order.`,
    fields: [
      { name: "event_id", type: "string" },
      { name: "entity", type: "string" },
      { name: "event_time", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "ingest_time", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "transform_time", type: { type: "long", logicalType: "timestamp-millis" } },
      ...featureNames(definition).map((name) => ({ name, type: "double" })),
    ],
  };
}

export function scoredSchema(): object {
  return readSchema("scored-event.avsc");
}

export function pipelineTopicSpecs(definition: PipelineDefinition): TopicSpec[] {
  const topics = pipelineTopics(definition.name);
  const partitions = definition.partitions;
  return [
    { topic: topics.raw, partitions },
    { topic: topics.features, partitions },
    { topic: topics.scored, partitions },
    { topic: topics.shadowScored, partitions },
    { topic: topics.dlq, partitions: 1 },
    { topic: topics.labels, partitions },
    { topic: topics.alerts, partitions: 1 },
    // One partition, so every reader folds the registry's events in the same order; never deleted.
    { topic: topics.modelEvents, partitions: 1, configs: { "retention.ms": "-1" } },
    // Co-partitioned with the raw topic: partition p's state is restored by whoever owns raw p.
    // Segments roll every 10 minutes so the cleaner can drop evicted events and their tombstones
    // soon after the windows let go of them, and a restore reads little more than the live state.
    {
      topic: topics.transformerState,
      partitions,
      configs: {
        "cleanup.policy": "compact",
        "segment.ms": "600000",
        "min.cleanable.dirty.ratio": "0.2",
        "delete.retention.ms": "3600000",
      },
    },
  ];
}

export interface PipelineSchemaIds {
  raw: number;
  features: number;
  scored: number;
  shadowScored: number;
  labels: number;
}

/** Registers the pipeline's schemas (idempotent) and returns their ids. */
export async function registerPipelineSchemas(
  registry: SchemaRegistryClient,
  definition: PipelineDefinition,
): Promise<PipelineSchemaIds> {
  const topics = pipelineTopics(definition.name);
  const [raw, features, scored, shadowScored, labels] = await Promise.all([
    registry.register(`${topics.raw}-value`, readSchema(definition.schema)),
    registry.register(`${topics.features}-value`, featuresSchema(definition)),
    registry.register(`${topics.scored}-value`, scoredSchema()),
    registry.register(`${topics.shadowScored}-value`, scoredSchema()),
    registry.register(`${topics.labels}-value`, readSchema("label-event.avsc")),
  ]);
  return { raw, features, scored, shadowScored, labels };
}
