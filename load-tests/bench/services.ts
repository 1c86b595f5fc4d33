// Starts some of the four services in this process for a bench pipeline, wired as the test
// harness (test/helpers/pipeline-harness.ts) wires them; stop() stops them in reverse order.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { inferenceSettings } from "../../services/inference/config.ts";
import { createInferenceMetrics, type InferenceMetrics } from "../../services/inference/metrics.ts";
import { createInferenceService, type InferenceService } from "../../services/inference/service.ts";
import { createMonitorMetrics } from "../../services/monitor/metrics.ts";
import { createMonitorService, type MonitorService } from "../../services/monitor/service.ts";
import { buildIngestApp, type IngestPipeline } from "../../services/producer/app.ts";
import { createProducerMetrics } from "../../services/producer/metrics.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { type BatchingSender, createBatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import { createIdempotentProducer } from "../../services/shared/kafka/client.ts";
import type { EosClient } from "../../services/shared/kafka/eos-client.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { transformerSettings } from "../../services/transformer/config.ts";
import { createTransformerMetrics } from "../../services/transformer/metrics.ts";
import { createTransformerService, type TransformerService } from "../../services/transformer/service.ts";
import type { BenchEnvironment, BenchPipeline } from "./environment.ts";

/** Records per transaction of the inference stage alone (the service's default), which PEER-1 uses too. */
export const inferenceTransactionRecords = 2000;
/** Records per transaction of the transformer stage alone (the service's default). */
export const transformerBatchRecords = 2000;
export type ServiceName = "producer" | "transformer" | "inference" | "monitor";

export interface RunningServices {
  /** The ingest API's base URL (with "producer"). */
  baseUrl: string;
  eventsUrl: string;
  transformer: TransformerService | undefined;
  inference: InferenceService | undefined;
  /** The inference service's metrics (the bench reads its model-run time and rows). */
  inferenceMetrics: InferenceMetrics | undefined;
  monitor: MonitorService | undefined;
  /** Not ready reasons of the started consumers, or undefined when all are ready. */
  notReadyReason(): string | undefined;
  stop(): Promise<void>;
}

/** The ingest API alone, with the given sender (the real batching sender, or a null one). */
export async function startIngest(
  env: BenchEnvironment,
  pipeline: BenchPipeline,
  sender: BatchingSender,
): Promise<{ baseUrl: string; eventsUrl: string; stop(): Promise<void> }> {
  const name = pipeline.definition.name;
  const schema = readSchema(pipeline.definition.schema) as Parameters<typeof createEventValidator>[1];
  const type = parseAvroSchema(schema);
  const ingest: IngestPipeline = {
    definition: pipeline.definition,
    topic: pipelineTopics(name).raw,
    schemaId: pipeline.ids.raw,
    type,
    validate: createEventValidator(type, schema),
  };
  const registry = createRegistry("producer");
  const app = buildIngestApp({
    pipelines: new Map([[name, ingest]]),
    sender,
    limits: { maxBodyBytes: 4_194_304, maxEvents: 5000, maxPendingRecords: 100_000, sendTimeoutMs: 10_000 },
    metrics: createProducerMetrics(registry),
    registry,
    readiness: { notReadyReason: () => undefined },
    logger: env.logger,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { baseUrl, eventsUrl: `${baseUrl}/v1/pipelines/${name}/events`, stop: () => app.close() };
}

/** The stages' Kafka clients as the services would read them (the environment may choose). */
export const stageClients = loadConfig({
  TRANSFORMER_KAFKA_CLIENT: transformerSettings.TRANSFORMER_KAFKA_CLIENT,
  INFERENCE_KAFKA_CLIENT: inferenceSettings.INFERENCE_KAFKA_CLIENT,
});

export async function startServices(
  env: BenchEnvironment,
  pipeline: BenchPipeline,
  options: { services: ServiceName[]; database?: string; inferenceBatch: number; kafkaClient?: EosClient },
): Promise<RunningServices> {
  const services = new Set(options.services);
  const { kafka, registry, logger } = env;
  const definition = pipeline.definition;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    let transformer: TransformerService | undefined;
    if (services.has("transformer")) {
      const created = createTransformerService({
        kafka,
        registry,
        logger,
        metrics: createTransformerMetrics(createRegistry("transformer")),
        pipelines: [definition],
        maxBatchRecords: transformerBatchRecords,
        concurrency: 3,
        personalDataKey: randomBytes(32),
        kafkaClient: options.kafkaClient ?? stageClients.TRANSFORMER_KAFKA_CLIENT,
      });
      await created.start();
      stops.push(() => created.stop());
      transformer = created;
    }
    let inference: InferenceService | undefined;
    let inferenceMetrics: InferenceMetrics | undefined;
    if (services.has("inference")) {
      inferenceMetrics = createInferenceMetrics(createRegistry("inference"));
      const created = createInferenceService({
        kafka,
        registry,
        logger,
        metrics: inferenceMetrics,
        pipelines: [definition],
        batchSize: options.inferenceBatch,
        maxTransactionRecords: inferenceTransactionRecords,
        lingerMs: 20,
        concurrency: 3,
        threads: 1,
        modelPollSeconds: 3600,
        kafkaClient: options.kafkaClient ?? stageClients.INFERENCE_KAFKA_CLIENT,
      });
      await created.start();
      stops.push(() => created.stop());
      inference = created;
    }
    let monitor: MonitorService | undefined;
    if (services.has("monitor")) {
      if (!options.database) throw new Error("the monitor needs a database");
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      stops.push(() => producer.disconnect());
      const created = createMonitorService({
        kafka,
        registry,
        clickhouse: env.clickhouse,
        producer,
        database: options.database,
        logger,
        metrics: createMonitorMetrics(createRegistry("monitor")),
        pipelines: [definition],
        maxBackoffMs: 1000,
        modelsRoot: projectRoot,
        quality: { intervalSeconds: 3600, lookbackHours: 24, labelTimeoutSeconds: 3600 },
      });
      await created.start();
      stops.push(() => created.stop());
      monitor = created;
    }
    let baseUrl = "http://127.0.0.1:1";
    if (services.has("producer")) {
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      stops.push(() => producer.disconnect());
      const sender = createBatchingSender(producer, { lingerMs: 2, maxBatchRecords: 5000, timeoutMs: 10_000 });
      const ingest = await startIngest(env, pipeline, sender);
      stops.push(() => ingest.stop());
      baseUrl = ingest.baseUrl;
    }
    return {
      baseUrl,
      eventsUrl: `${baseUrl}/v1/pipelines/${definition.name}/events`,
      transformer,
      inference,
      inferenceMetrics,
      monitor,
      notReadyReason: () =>
        transformer?.notReadyReason() ?? inference?.notReadyReason() ?? monitor?.notReadyReason() ?? undefined,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
