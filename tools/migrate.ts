// `npm run db:migrate`: applies the ClickHouse migrations as the administrator (CLICKHOUSE_ADMIN_*),
// so the monitor itself can run as a user without DDL rights. Wiring only.

import { loadMigrationConfig } from "../services/monitor/config.ts";
import { createClickHouse } from "../services/shared/clickhouse/client.ts";
import { migrate } from "../services/shared/clickhouse/migrations.ts";
import { describeError } from "../services/shared/errors.ts";
import { createLogger } from "../services/shared/logger.ts";

async function main(): Promise<void> {
  const config = loadMigrationConfig();
  const logger = createLogger({ name: "migrate", level: config.LOG_LEVEL });
  const clickhouse = createClickHouse(config);
  try {
    const applied = await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
    logger.info({ database: config.CLICKHOUSE_DATABASE, applied }, "ClickHouse migrations applied");
  } finally {
    await clickhouse.close();
  }
}

main().catch((error: unknown) => {
  createLogger({ name: "migrate", level: "error" }).error({ err: describeError(error) }, "migrations failed");
  process.exitCode = 1;
});
