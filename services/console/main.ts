// The console process: wiring only.
import { watchKeyStore } from "../shared/auth/key-store-file.ts";
import { createClickHouse } from "../shared/clickhouse/client.ts";
import { runService } from "../shared/lifecycle.ts";
import { createLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { projectRoot } from "../shared/project.ts";
import { createConsoleAccess } from "./access.ts";
import { loadConsoleConfig } from "./config.ts";
import { createConsoleData } from "./data.ts";
import { createConsoleMetrics } from "./metrics.ts";
import { createPrometheus } from "./prometheus.ts";
import { createReadiness, parseServiceUrls } from "./readiness.ts";
import { buildConsoleApp } from "./service.ts";

const config = loadConsoleConfig();
const logger = createLogger({ name: "console", level: config.LOG_LEVEL });

runService({
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const registry = createRegistry("console");
    const metrics = createConsoleMetrics(registry);
    const clickhouse = createClickHouse(config);
    const readiness = createReadiness(clickhouse, logger);
    const data = createConsoleData({
      clickhouse,
      database: config.CLICKHOUSE_DATABASE,
      prometheus: createPrometheus(config.CONSOLE_PROMETHEUS_URL),
      services: parseServiceUrls(config.CONSOLE_SERVICE_URLS),
      modelsRoot: config.MODELS_ROOT ?? projectRoot,
      driftHours: config.CONSOLE_DRIFT_HOURS,
      metrics,
      logger,
    });
    const pipelines = config.PIPELINES.map(getPipeline);
    const keys = config.CONSOLE_API_KEYS_FILE
      ? watchKeyStore(config.CONSOLE_API_KEYS_FILE, (error) =>
          logger.error({ err: error }, "API key file unreadable; keeping the last one"),
        )
      : undefined;
    const access = keys ? createConsoleAccess(keys, logger) : undefined;
    const app = buildConsoleApp({ data, pipelines, logger, metrics, registry, access, ...readiness });
    await readiness.start();
    await app.listen({ host: "127.0.0.1", port: config.CONSOLE_PORT });
    logger.info({ url: `http://127.0.0.1:${config.CONSOLE_PORT}` }, "console started");
    return {
      async stop() {
        readiness.stop();
        await app.close();
        await clickhouse.close();
      },
    };
  },
});
