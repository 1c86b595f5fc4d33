// Runs the four services in this process for a pipeline under a unique name, against the real
// servers, with a ClickHouse database of its own; stop() tears everything down.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createInferenceMetrics } from "../../services/inference/metrics.ts";
import { createInferenceService, type InferenceService } from "../../services/inference/service.ts";
import { createMonitorMetrics } from "../../services/monitor/metrics.ts";
import { createMonitorService, type MonitorService } from "../../services/monitor/service.ts";
import { buildIngestApp, type IngestAuth, type IngestPipeline } from "../../services/producer/app.ts";
import { createProducerMetrics } from "../../services/producer/metrics.ts";
import { createIngestClient, type IngestClient } from "../../services/producer/sdk.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import type { ConnectionConfig } from "../../services/shared/connection-settings.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createBatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import {
  createIdempotentProducer,
  createKafka,
  type Kafka,
  type Producer,
} from "../../services/shared/kafka/client.ts";
import type { EosClient } from "../../services/shared/kafka/eos-client.ts";
import { createSchemaRegistry, type SchemaRegistryClient } from "../../services/shared/kafka/registry.ts";
import { createLogger, type Logger } from "../../services/shared/logger.ts";
import { createRegistry, type Registry } from "../../services/shared/metrics.ts";
import { type PipelineDefinition, pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { createTransformerMetrics } from "../../services/transformer/metrics.ts";
import { createTransformerService, type TransformerService } from "../../services/transformer/service.ts";
import { testConnectionConfig, uniqueName } from "./integration.ts";

export type ServiceName = "producer" | "transformer" | "inference" | "monitor";

export interface PipelineHarness {
  definition: PipelineDefinition;
  config: ConnectionConfig;
  database: string;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  clickhouse: ClickHouse;
  /** Idempotent producer for writing straight to the pipeline's topics. */
  producer: Producer;
  client: IngestClient;
  /** Base URL of the ingest API (http://127.0.0.1:1 when the producer runs elsewhere). */
  ingestUrl: string;
  inference: InferenceService | undefined;
  monitor: MonitorService | undefined;
  rawSchemaId: number;
  /** The HMAC key the transformer hashes personal fields with. */
  personalDataKey: Buffer;
  /** Each in-process service's metrics, e.g. to count batch failures (retries) after a run. */
  metrics: Partial<Record<ServiceName, Registry>>;
  /** Stops the services; unless `keep` is set, deletes the pipeline's topics and ClickHouse rows too. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

export async function startPipelineHarness(options: {
  base: string;
  /** The pipeline's name: an earlier harness's, to go on with its topics (default: a unique one). */
  name?: string;
  /** Servers other than the test servers (e.g. a broker and registry of the test's own). */
  connection?: Partial<Pick<ConnectionConfig, "KAFKA_BROKERS" | "SCHEMA_REGISTRY_URL">>;
  /** Services run in this process; leave one out to run it as a separate process. */
  services?: ServiceName[];
  /** Folder the model directories are relative to (default: the project root). */
  modelsRoot?: string;
  /** The transformer's and inference's exactly-once client (default: the services' own default). */
  kafkaClient?: EosClient;
  /** Kafka clients for set-up and per service (e.g. one SASL principal each); default: one client for all. */
  kafka?: { admin: Kafka; forService(service: ServiceName): Kafka };
  /** Runs once the topics exist, before the services start (e.g. to grant ACLs). */
  beforeServices?: (definition: PipelineDefinition) => Promise<void>;
  /**
   * Runs the monitor as this restricted ClickHouse user (see testWriterConfig) in the `streamscore`
   * database, which the writer is limited to; the pipeline's unique name keeps its rows apart, and
   * stop() deletes them. Default: the administrator, in a database of the test's own.
   */
  monitorClickHouse?: ConnectionConfig;
  /** Root logger of every service (default: warnings and above, to the test's output). */
  logger?: Logger;
  /** Changes the shipped definition before anything starts (e.g. a test's own retraining policy). */
  adjust?: (definition: PipelineDefinition) => PipelineDefinition;
  /** API keys the ingest API demands (default: none, open on loopback). */
  auth?: IngestAuth;
}): Promise<PipelineHarness> {
  const name = options.name ?? uniqueName(`t-${options.base}`).replace(/_/g, "-").toLowerCase();
  const shipped = getPipeline(`${name}=${options.base}`);
  const definition = options.adjust ? options.adjust(shipped) : shipped;
  const services = new Set(options.services ?? ["producer", "transformer", "inference", "monitor"]);
  const config = { ...testConnectionConfig(), ...options.connection };
  const personalDataKey = randomBytes(32);
  const sharedDatabase = options.monitorClickHouse !== undefined;
  const database = sharedDatabase ? "streamscore" : uniqueName("streamscore_test");
  const logger = options.logger ?? createLogger({ name: "test", level: "warn" });
  const kafka = options.kafka?.admin ?? createKafka(config, logger, name);
  const kafkaFor = (service: ServiceName) => options.kafka?.forService(service) ?? kafka;
  const registry = createSchemaRegistry(config);
  const clickhouse = createClickHouse(config);
  await migrate(clickhouse, database);
  const ids = await setUpPipeline(kafka, registry, definition);
  await options.beforeServices?.(definition);
  const stops: Array<() => Promise<void>> = [];
  const metrics: Partial<Record<ServiceName, Registry>> = {};
  const metricsOf = (service: ServiceName) => {
    metrics[service] = createRegistry(service);
    return metrics[service];
  };

  let transformer: TransformerService | undefined;
  if (services.has("transformer")) {
    transformer = createTransformerService({
      kafka: kafkaFor("transformer"),
      registry,
      logger,
      metrics: createTransformerMetrics(metricsOf("transformer")),
      pipelines: [definition],
      maxBatchRecords: 2000,
      concurrency: 3,
      personalDataKey,
      kafkaClient: options.kafkaClient,
    });
    await transformer.start();
    stops.push(() => (transformer as TransformerService).stop());
  }
  let inference: InferenceService | undefined;
  if (services.has("inference")) {
    inference = createInferenceService({
      kafka: kafkaFor("inference"),
      registry,
      logger,
      metrics: createInferenceMetrics(metricsOf("inference")),
      pipelines: [definition],
      batchSize: 256,
      maxTransactionRecords: 2000,
      lingerMs: 20,
      concurrency: 3,
      threads: 1,
      modelPollSeconds: 3600,
      modelsRoot: options.modelsRoot,
      kafkaClient: options.kafkaClient,
    });
    await inference.start();
    stops.push(() => (inference as InferenceService).stop());
  }
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  stops.push(() => producer.disconnect());
  let monitor: MonitorService | undefined;
  if (services.has("monitor")) {
    const monitorProducer = options.kafka ? createIdempotentProducer(kafkaFor("monitor")) : producer;
    if (monitorProducer !== producer) {
      await monitorProducer.connect();
      stops.push(() => monitorProducer.disconnect());
    }
    const monitorClickHouse = options.monitorClickHouse ? createClickHouse(options.monitorClickHouse) : clickhouse;
    if (monitorClickHouse !== clickhouse) stops.push(() => monitorClickHouse.close());
    monitor = createMonitorService({
      kafka: kafkaFor("monitor"),
      registry,
      clickhouse: monitorClickHouse,
      producer: monitorProducer,
      database,
      logger,
      metrics: createMonitorMetrics(metricsOf("monitor")),
      pipelines: [definition],
      maxBackoffMs: 1000,
      modelsRoot: options.modelsRoot ?? projectRoot,
      // Quality runs on demand in tests (monitor.qualityJobs()), not on a timer.
      quality: { intervalSeconds: 3600, lookbackHours: 24 * 365, labelTimeoutSeconds: 3600 },
    });
    await monitor.start();
    stops.push(() => (monitor as MonitorService).stop());
  }

  let baseUrl = "http://127.0.0.1:1";
  if (services.has("producer")) {
    const ingestProducer = createIdempotentProducer(kafkaFor("producer"));
    await ingestProducer.connect();
    const schema = readSchema(definition.schema) as Parameters<typeof createEventValidator>[1];
    const type = parseAvroSchema(schema);
    const pipeline: IngestPipeline = {
      definition,
      topic: pipelineTopics(name).raw,
      schemaId: ids.raw,
      type,
      validate: createEventValidator(type, schema),
    };
    const metricsRegistry = metricsOf("producer");
    const app = buildIngestApp({
      pipelines: new Map([[name, pipeline]]),
      sender: createBatchingSender(ingestProducer, { lingerMs: 2, maxBatchRecords: 5000, timeoutMs: 10_000 }),
      limits: { maxBodyBytes: 4_194_304, maxEvents: 5000, maxPendingRecords: 100_000, sendTimeoutMs: 10_000 },
      metrics: createProducerMetrics(metricsRegistry),
      registry: metricsRegistry,
      readiness: { notReadyReason: () => undefined },
      logger,
      auth: options.auth,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    stops.push(async () => {
      await app.close();
      await ingestProducer.disconnect();
    });
  }

  return {
    definition,
    config,
    database,
    kafka,
    registry,
    clickhouse,
    producer,
    client: createIngestClient({ baseUrl }),
    ingestUrl: baseUrl,
    inference,
    monitor,
    rawSchemaId: ids.raw,
    personalDataKey,
    metrics,
    async stop(stopOptions = {}) {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      if (stopOptions.keep) return clickhouse.close();
      if (sharedDatabase) await deletePipelineRows(clickhouse, database, name);
      else await clickhouse.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
      const admin = kafka.admin();
      await admin.connect();
      const topics = Object.values(pipelineTopics(name));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
      await clickhouse.close();
    },
  };
}

/** Removes one pipeline's rows from a database other tests share (a mutation; runs in the background). */
async function deletePipelineRows(clickhouse: ClickHouse, database: string, pipeline: string): Promise<void> {
  for (const table of ["predictions", "dead_letters", "drift_metrics", "labels", "model_quality"]) {
    await clickhouse
      .command(`ALTER TABLE ${database}.${table} DELETE WHERE pipeline = '${pipeline}'`)
      .catch(() => undefined);
  }
}
