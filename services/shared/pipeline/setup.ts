// Creates a pipeline's topics and registers its schemas; every service runs this at start-up,
// so any of them can be started first.
import type { Kafka } from "../kafka/client.ts";
import type { SchemaRegistryClient } from "../kafka/registry.ts";
import { ensureTopics } from "../kafka/topics.ts";
import type { PipelineDefinition } from "./definition.ts";
import { type PipelineSchemaIds, pipelineTopicSpecs, registerPipelineSchemas } from "./records.ts";

export async function setUpPipeline(
  kafka: Kafka,
  registry: SchemaRegistryClient,
  definition: PipelineDefinition,
): Promise<PipelineSchemaIds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, pipelineTopicSpecs(definition));
  } finally {
    await admin.disconnect();
  }
  return registerPipelineSchemas(registry, definition);
}
