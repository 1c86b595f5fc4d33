// The ingest process: wiring only.

import { RateLimiter } from "../shared/auth/api-keys.ts";
import { watchKeyStore } from "../shared/auth/key-store-file.ts";
import { createKafka, type Kafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { openWhileKafkaAway, waitForKafka } from "../shared/kafka/wait-for-kafka.ts";
import { runService, type ServiceHandle, stopIfStartFails } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { loadProducerConfig } from "./config.ts";
import { createIngestService } from "./service.ts";

const config = loadProducerConfig();
const logger = createLogger({ name: "producer", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async (signal) => {
    const kafka = createKafka(config, logger, "producer");
    // Started while the broker is away (a restart, an outage): wait for it rather than exit.
    await waitForKafka(kafka, logger, signal);
    return openWhileKafkaAway(() => open(kafka), logger, signal);
  },
});

/** One attempt at starting: on failure it closes what it opened, so the next attempt starts clean. */
async function open(kafka: Kafka): Promise<ServiceHandle> {
  const service = createIngestService({
    kafka,
    schemaRegistry: createSchemaRegistry(config),
    logger,
    registry: createRegistry("producer"),
    pipelines: config.PIPELINES.map(getPipeline),
    auth: config.INGEST_API_KEYS_FILE
      ? {
          store: watchKeyStore(config.INGEST_API_KEYS_FILE, (error) =>
            logger.error({ err: error }, "API key file unreadable; keeping the last one"),
          ),
          limiter: new RateLimiter(),
        }
      : undefined,
    limits: {
      maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
      maxEvents: config.INGEST_MAX_EVENTS,
      maxPendingRecords: config.INGEST_MAX_PENDING_RECORDS,
      maxEventLoopDelayMs: config.INGEST_MAX_EVENT_LOOP_DELAY_MS,
      maxQueueDelayMs: config.INGEST_MAX_QUEUE_DELAY_MS,
      sendTimeoutMs: config.INGEST_SEND_TIMEOUT_MS,
      requestTimeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
    },
    lingerMs: config.INGEST_LINGER_MS,
    port: config.PRODUCER_PORT,
  });
  await stopIfStartFails(
    () => service.start(),
    () => service.stop(),
  );
  return service;
}
