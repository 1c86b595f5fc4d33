// The transformer process: wiring only.

import { createKafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { waitForKafka } from "../shared/kafka/wait-for-kafka.ts";
import { runService } from "../shared/lifecycle.ts";
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
    await ops.listen({ host: "127.0.0.1", port: config.TRANSFORMER_PORT });
    await service.start();
    logger.info({ pipelines: config.PIPELINES, port: config.TRANSFORMER_PORT }, "transformer started");
    return {
      async stop() {
        await service.stop();
        await ops.close();
      },
    };
  },
});
