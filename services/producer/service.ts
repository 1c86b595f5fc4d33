// The ingest service: each pipeline's topics, schemas and validator, one idempotent producer behind
// a batching sender, and the HTTP API in front of them.
import { parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import { type BatchingSender, createBatchingSender } from "../shared/kafka/batching-sender.ts";
import { createIdempotentProducer, type Kafka, type Producer } from "../shared/kafka/client.ts";
import { replayDeadLetters } from "../shared/kafka/dead-letter-replay.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import type { Logger } from "../shared/logger.ts";
import type { Registry } from "../shared/metrics.ts";
import { type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { readSchema } from "../shared/schemas.ts";
import { buildIngestApp, type IngestAuth, type IngestLimits, type IngestPipeline } from "./app.ts";
import { createProducerMetrics } from "./metrics.ts";
import { createEventValidator } from "./validation.ts";

export interface IngestService {
  /** Sets up every pipeline, connects the producer and listens; returns once requests are served. */
  start(): Promise<void>;
  /** Refuses new requests, sends what was accepted, then disconnects. */
  stop(): Promise<void>;
}

async function ingestPipelines(
  kafka: Kafka,
  schemaRegistry: SchemaRegistryClient,
  definitions: readonly PipelineDefinition[],
): Promise<Map<string, IngestPipeline>> {
  const pipelines = new Map<string, IngestPipeline>();
  for (const definition of definitions) {
    const ids = await setUpPipeline(kafka, schemaRegistry, definition);
    const schema = readSchema(definition.schema) as Parameters<typeof createEventValidator>[1];
    const type = parseAvroSchema(schema);
    pipelines.set(definition.name, {
      definition,
      topic: pipelineTopics(definition.name).raw,
      schemaId: ids.raw,
      type,
      validate: createEventValidator(type, schema),
    });
  }
  return pipelines;
}

export function createIngestService(deps: {
  kafka: Kafka;
  schemaRegistry: SchemaRegistryClient;
  logger: Logger;
  registry: Registry;
  pipelines: readonly PipelineDefinition[];
  /** Without it the API accepts requests without a key. */
  auth?: IngestAuth;
  limits: IngestLimits;
  lingerMs: number;
  port: number;
}): IngestService {
  const { logger } = deps;
  let producer: Producer | undefined;
  let stopping = false;
  let running: { close(): Promise<void> } | undefined;

  /** Not ready while stopping, or while Kafka has left records unacknowledged past the send timeout (away). */
  function notReadyReason(sender: BatchingSender): string | undefined {
    if (stopping) return "shutting down";
    const waitedMs = sender.oldestPendingMs;
    if (waitedMs > deps.limits.sendTimeoutMs) {
      return `Kafka has not acknowledged records for ${Math.round(waitedMs / 1000)} s`;
    }
    return undefined;
  }

  return {
    async start() {
      const pipelines = await ingestPipelines(deps.kafka, deps.schemaRegistry, deps.pipelines);
      let current = createIdempotentProducer(deps.kafka);
      producer = current;
      await current.connect();
      const sender = createBatchingSender(current, {
        lingerMs: deps.lingerMs,
        maxBatchRecords: 5000,
        timeoutMs: deps.limits.sendTimeoutMs,
        // Kafka forgot this producer's sequence numbers: only a new producer id can send again.
        renewProducer: async (broken) => {
          logger.warn("Kafka lost this producer's sequence state; continuing with a new producer id");
          await broken.disconnect().catch(() => undefined);
          current = createIdempotentProducer(deps.kafka);
          producer = current;
          await current.connect();
          return current;
        },
      });
      if (!deps.auth) logger.warn("INGEST_API_KEYS_FILE is not set: the ingest API accepts requests without a key");
      const app = buildIngestApp({
        pipelines,
        auth: deps.auth,
        sender,
        limits: deps.limits,
        metrics: createProducerMetrics(deps.registry),
        registry: deps.registry,
        readiness: { notReadyReason: () => notReadyReason(sender) },
        logger,
        replay: (pipeline, request) =>
          replayDeadLetters(
            {
              kafka: deps.kafka,
              registry: deps.schemaRegistry,
              definition: pipeline.definition,
              reader: pipeline.type,
            },
            request,
          ),
      });
      running = {
        async close() {
          await app.close();
          await sender.flush();
        },
      };
      await app.listen({ host: "127.0.0.1", port: deps.port });
      logger.info({ port: deps.port, pipelines: [...pipelines.keys()] }, "ingest API listening");
    },
    async stop() {
      stopping = true;
      await running?.close();
      await producer?.disconnect();
    },
  };
}
