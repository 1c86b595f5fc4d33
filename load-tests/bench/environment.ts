// The clients every measurement shares, and throwaway pipelines and databases under unique names
// (other tests may use the same servers at the same time), each with its own cleanup.
import { randomBytes } from "node:crypto";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { type ConnectionConfig, loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createKafka, type Kafka } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry, type SchemaRegistryClient } from "../../services/shared/kafka/registry.ts";
import { deleteTopics as deleteKafkaTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger, type Logger } from "../../services/shared/logger.ts";
import { type PipelineDefinition, pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import type { PipelineSchemaIds } from "../../services/shared/pipeline/records.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";

export interface BenchEnvironment {
  config: ConnectionConfig;
  logger: Logger;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  clickhouse: ClickHouse;
  close(): Promise<void>;
}

/** Same shape as the tests' names: prefix, time, random. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

export function openEnvironment(): BenchEnvironment {
  const config = loadConnectionConfig();
  const logger = createLogger({ name: "bench", level: "warn" });
  const kafka = createKafka(config, logger, "bench");
  const registry = createSchemaRegistry(config);
  const clickhouse = createClickHouse(config);
  return { config, logger, kafka, registry, clickhouse, close: () => clickhouse.close() };
}

export interface BenchPipeline {
  definition: PipelineDefinition;
  ids: PipelineSchemaIds;
  delete(): Promise<void>;
}

/** A pipeline under a unique name (its own topics, groups, rows), set up like a service does. */
export async function createBenchPipeline(env: BenchEnvironment, base = "payments"): Promise<BenchPipeline> {
  const name = uniqueName(`bench-${base}`).replace(/_/g, "-").toLowerCase();
  const definition = getPipeline(`${name}=${base}`);
  const ids = await setUpPipeline(env.kafka, env.registry, definition);
  return {
    definition,
    ids,
    delete: () => deleteTopics(env, Object.values(pipelineTopics(name))),
  };
}

export async function deleteTopics(env: BenchEnvironment, topics: string[]): Promise<void> {
  await deleteKafkaTopics(env.kafka, topics);
}

export interface BenchDatabase {
  name: string;
  drop(): Promise<void>;
}

/** A ClickHouse database migrated like production's, dropped afterwards. */
export async function createBenchDatabase(env: BenchEnvironment): Promise<BenchDatabase> {
  const name = uniqueName("streamscore_bench");
  await migrate(env.clickhouse, name);
  return { name, drop: () => env.clickhouse.command(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined) };
}

export { waitUntil } from "../../services/shared/wait.ts";
