// The inference process: wiring only.
import { watchKeyStore } from "../shared/auth/key-store-file.ts";
import { createKafka, type Kafka } from "../shared/kafka/client.ts";
import { createModelLogWriter, type ModelLogWriter } from "../shared/kafka/model-log.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { openWhileKafkaAway, waitForKafka } from "../shared/kafka/wait-for-kafka.ts";
import { closeInOrder, runService, type ServiceHandle, stopIfStartFails } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { buildInferenceApp } from "./app.ts";
import { loadInferenceConfig } from "./config.ts";
import { createInferenceMetrics } from "./metrics.ts";
import { loadModel } from "./model.ts";
import { createInferenceService } from "./service.ts";

const config = loadInferenceConfig();
const logger = createLogger({ name: "inference", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async (signal) => {
    const kafka = createKafka(config, logger, "inference");
    // Started while the broker is away (a restart, an outage): wait for it rather than exit.
    await waitForKafka(kafka, logger, signal);
    return openWhileKafkaAway(() => open(kafka), logger, signal);
  },
});

/** One attempt at starting: on failure it closes what it opened, so the next attempt starts clean. */
async function open(kafka: Kafka): Promise<ServiceHandle> {
  const registry = createRegistry("inference");
  const writers = new Map<string, ModelLogWriter>();
  const pipelines = config.PIPELINES.map(getPipeline);
  const service = createInferenceService({
    kafka,
    registry: createSchemaRegistry(config),
    logger,
    metrics: createInferenceMetrics(registry),
    pipelines,
    batchSize: config.INFERENCE_BATCH_SIZE,
    maxTransactionRecords: config.INFERENCE_MAX_TRANSACTION,
    testAbortShare: config.CHAOS_ABORT_SHARE,
    lingerMs: config.INFERENCE_LINGER_MS,
    concurrency: config.INFERENCE_CONCURRENCY,
    kafkaClient: config.INFERENCE_KAFKA_CLIENT,
    threads: config.INFERENCE_THREADS,
    modelPollSeconds: config.INFERENCE_MODEL_POLL_SECONDS,
    modelsRoot: config.MODELS_ROOT,
  });
  const app = buildInferenceApp({
    service,
    predictPipeline: config.INFERENCE_PREDICT_PIPELINE,
    // By name: an entry `name=definition` runs under `name`.
    pipelines: pipelines.map((p) => p.name),
    registry,
    readiness: service,
    models: {
      keyStore: config.INFERENCE_API_KEYS_FILE
        ? watchKeyStore(config.INFERENCE_API_KEYS_FILE, (error) =>
            logger.error({ err: error }, "API key file unreadable; keeping the last one"),
          )
        : undefined,
      writer(pipeline) {
        let writer = writers.get(pipeline);
        if (!writer) {
          writer = createModelLogWriter(kafka, pipeline, logger);
          writers.set(pipeline, writer);
        }
        return writer;
      },
      async validateVersion(versionDir) {
        const model = await loadModel(versionDir, { threads: 1 });
        await model.release();
        return model.manifest;
      },
      logger,
    },
  });
  const handle = {
    stop: () => closeInOrder([() => service.stop(), () => app.close()]),
  };
  await stopIfStartFails(async () => {
    await app.listen({ host: "127.0.0.1", port: config.INFERENCE_PORT });
    await service.start();
  }, handle.stop);
  logger.info({ port: config.INFERENCE_PORT, pipelines: config.PIPELINES }, "inference started");
  return handle;
}
