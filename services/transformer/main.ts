// The transformer process: wiring only.

import { createKafka, type Kafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { openWhileKafkaAway, waitForKafka } from "../shared/kafka/wait-for-kafka.ts";
import { closeInOrder, runService, type ServiceHandle, stopIfStartFails } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { buildOpsServer } from "../shared/ops-routes.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { loadTransformerConfig } from "./config.ts";
import { createTransformerMetrics } from "./metrics.ts";
import { createTransformerService } from "./service.ts";

const config = loadTransformerConfig();
const logger = createLogger({ name: "transformer", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async (signal) => {
    const kafka = createKafka(config, logger, "transformer");
    // Started while the broker is away (a restart, an outage): wait for it rather than exit.
    await waitForKafka(kafka, logger, signal);
    return openWhileKafkaAway(() => open(kafka), logger, signal);
  },
});

/** One attempt at starting: on failure it closes what it opened, so the next attempt starts clean. */
async function open(kafka: Kafka): Promise<ServiceHandle> {
  const registry = createRegistry("transformer");
  const service = createTransformerService({
    kafka,
    registry: createSchemaRegistry(config),
    logger,
    metrics: createTransformerMetrics(registry),
    pipelines: config.PIPELINES.map(getPipeline),
    maxBatchRecords: config.TRANSFORMER_MAX_BATCH,
    testAbortShare: config.CHAOS_ABORT_SHARE,
    concurrency: config.TRANSFORMER_CONCURRENCY,
    kafkaClient: config.TRANSFORMER_KAFKA_CLIENT,
    personalDataKey: config.PERSONAL_DATA_KEY,
  });
  const ops = buildOpsServer(registry, service);
  const handle = {
    stop: () => closeInOrder([() => service.stop(), () => ops.close()]),
  };
  await stopIfStartFails(async () => {
    await ops.listen({ host: "127.0.0.1", port: config.TRANSFORMER_PORT });
    await service.start();
  }, handle.stop);
  logger.info({ pipelines: config.PIPELINES, port: config.TRANSFORMER_PORT }, "transformer started");
  return handle;
}
