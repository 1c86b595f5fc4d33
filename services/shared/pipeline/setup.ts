// Creates a pipeline's topics and registers its schemas; every service runs this at start-up,
// so any of them can be started first.
import { StreamscoreError } from "../errors.ts";
import type { Kafka } from "../kafka/client.ts";
import type { SchemaRegistryClient } from "../kafka/registry.ts";
import { ensureTopicsAndCountPartitions } from "../kafka/topics.ts";
import { type PipelineDefinition, pipelineTopics } from "./definition.ts";
import { type PipelineSchemaIds, pipelineTopicSpecs, registerPipelineSchemas } from "./records.ts";

export async function setUpPipeline(
  kafka: Kafka,
  registry: SchemaRegistryClient,
  definition: PipelineDefinition,
): Promise<PipelineSchemaIds> {
  const topics = pipelineTopics(definition.name);
  const counts = await ensureTopicsAndCountPartitions(kafka, pipelineTopicSpecs(definition), [
    topics.raw,
    topics.features,
    topics.scored,
    topics.transformerState,
  ]);
  const problems = partitionProblems(definition.name, counts);
  if (problems.length > 0) {
    throw new StreamscoreError("CONFIG_INVALID", `pipeline "${definition.name}": ${problems.join("; ")}`);
  }
  return registerPipelineSchemas(registry, definition);
}

/**
 * A record keeps its raw partition on every topic (and the transformer's state is restored per raw
 * partition), so each of those topics needs at least the raw topic's partitions: a missing one
 * would stall the pipeline with sends that never succeed. Topics made by hand can differ.
 */
export function partitionProblems(pipeline: string, counts: ReadonlyMap<string, number>): string[] {
  const topics = pipelineTopics(pipeline);
  const raw = counts.get(topics.raw) ?? 0;
  return [topics.features, topics.scored, topics.transformerState]
    .filter((topic) => (counts.get(topic) ?? 0) < raw)
    .map((topic) => `${topic} has ${counts.get(topic) ?? 0} partitions, fewer than the ${raw} of ${topics.raw}`);
}
