// The monitor process: wiring only.

import { createClickHouse } from "../shared/clickhouse/client.ts";
import { createIdempotentProducer, createKafka, type Kafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { openWhileKafkaAway, waitForKafka } from "../shared/kafka/wait-for-kafka.ts";
import { closeInOrder, runService, type ServiceHandle, stopIfStartFails } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { buildOpsServer } from "../shared/ops-routes.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { projectRoot } from "../shared/project.ts";
import { loadMonitorConfig } from "./config.ts";
import { createMonitorMetrics } from "./metrics.ts";
import { createMonitorService } from "./service.ts";
import { createTrainerRunner, parseCommand } from "./trainer-runner.ts";

const config = loadMonitorConfig();
const logger = createLogger({ name: "monitor", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async (signal) => {
    const kafka = createKafka(config, logger, "monitor");
    // Started while the broker is away (a restart, an outage): wait for it rather than exit.
    await waitForKafka(kafka, logger, signal);
    return openWhileKafkaAway(() => open(kafka), logger, signal);
  },
});

/** One attempt at starting: on failure it closes what it opened, so the next attempt starts clean. */
async function open(kafka: Kafka): Promise<ServiceHandle> {
  const registry = createRegistry("monitor");
  const producer = createIdempotentProducer(kafka);
  const clickhouse = createClickHouse(config);
  const trainer = config.MONITOR_RETRAIN_COMMAND
    ? createTrainerRunner({
        command: parseCommand(config.MONITOR_RETRAIN_COMMAND),
        cwd: projectRoot,
        logger,
        // A pipeline run under another name is found by the trainer through its entry, as here.
        pipelineArgument: (name) => config.PIPELINES.find((entry) => getPipeline(entry).name === name) ?? name,
      })
    : undefined;
  const service = createMonitorService({
    kafka,
    registry: createSchemaRegistry(config),
    clickhouse,
    producer,
    database: config.CLICKHOUSE_DATABASE,
    logger,
    metrics: createMonitorMetrics(registry),
    pipelines: config.PIPELINES.map(getPipeline),
    maxBackoffMs: config.MONITOR_MAX_BACKOFF_MS,
    modelsRoot: config.MODELS_ROOT ?? projectRoot,
    quality: {
      intervalSeconds: config.MONITOR_QUALITY_INTERVAL_SECONDS,
      lookbackHours: config.MONITOR_QUALITY_LOOKBACK_HOURS,
      labelTimeoutSeconds: config.MONITOR_LABEL_TIMEOUT_SECONDS,
    },
    trainer,
  });
  const ops = buildOpsServer(registry, service);
  const handle = {
    stop: () =>
      closeInOrder([() => service.stop(), () => producer.disconnect(), () => clickhouse.close(), () => ops.close()]),
  };
  await stopIfStartFails(async () => {
    await ops.listen({ host: "127.0.0.1", port: config.MONITOR_PORT });
    // Its producer id comes from a broker that may have gone away since the first answer.
    await producer.connect();
    await service.start();
  }, handle.stop);
  logger.info({ port: config.MONITOR_PORT, pipelines: config.PIPELINES }, "monitor started");
  return handle;
}
