// The ingest process: wiring only.
import { parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import { createBatchingSender } from "../shared/kafka/batching-sender.ts";
import { createIdempotentProducer, createKafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { runService } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { pipelineTopics } from "../shared/pipeline/definition.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { readSchema } from "../shared/schemas.ts";
import { RateLimiter } from "./api-keys.ts";
import { buildIngestApp, type IngestPipeline } from "./app.ts";
import { loadProducerConfig } from "./config.ts";
import { watchKeyStore } from "./key-store-file.ts";
import { createProducerMetrics } from "./metrics.ts";
import { createEventValidator } from "./validation.ts";

const config = loadProducerConfig();
const logger = createLogger({ name: "producer", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const kafka = createKafka(config, logger, "producer");
    const schemaRegistry = createSchemaRegistry(config);
    const pipelines = new Map<string, IngestPipeline>();
    for (const definition of config.PIPELINES.map(getPipeline)) {
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
    let producer = createIdempotentProducer(kafka);
    await producer.connect();
    const sender = createBatchingSender(producer, {
      lingerMs: config.INGEST_LINGER_MS,
      maxBatchRecords: 5000,
      timeoutMs: config.INGEST_SEND_TIMEOUT_MS,
      renewProducer: async (broken) => {
        logger.warn("Kafka lost this producer's sequence state; continuing with a new producer id");
        await broken.disconnect().catch(() => undefined);
        const fresh = createIdempotentProducer(kafka);
        await fresh.connect();
        producer = fresh;
        return fresh;
      },
    });
    let stopping = false;
    const registry = createRegistry("producer");
    const auth = config.INGEST_API_KEYS_FILE
      ? {
          store: watchKeyStore(config.INGEST_API_KEYS_FILE, (error) =>
            logger.error({ err: error }, "API key file unreadable; keeping the last one"),
          ),
          limiter: new RateLimiter(),
        }
      : undefined;
    if (!auth) logger.warn("INGEST_API_KEYS_FILE is not set: the ingest API accepts requests without a key");
    const app = buildIngestApp({
      pipelines,
      auth,
      sender,
      limits: {
        maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
        maxEvents: config.INGEST_MAX_EVENTS,
        maxPendingRecords: config.INGEST_MAX_PENDING_RECORDS,
        maxEventLoopDelayMs: config.INGEST_MAX_EVENT_LOOP_DELAY_MS,
        maxQueueDelayMs: config.INGEST_MAX_QUEUE_DELAY_MS,
        sendTimeoutMs: config.INGEST_SEND_TIMEOUT_MS,
        requestTimeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
      },
      metrics: createProducerMetrics(registry),
      registry,
      readiness: { notReadyReason: () => (stopping ? "shutting down" : undefined) },
      logger,
    });
    await app.listen({ host: "127.0.0.1", port: config.PRODUCER_PORT });
    logger.info({ port: config.PRODUCER_PORT, pipelines: [...pipelines.keys()] }, "ingest API listening");
    return {
      async stop() {
        stopping = true;
        await app.close();
        await sender.flush();
        await producer.disconnect();
      },
    };
  },
});
