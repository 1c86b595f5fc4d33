// `npm run db:migrate`: applies the ClickHouse migrations as the administrator (CLICKHOUSE_ADMIN_*),
// so the monitor itself can run as a user without DDL rights. Wiring only.
import { describeError } from "../shared/errors.ts";
import { createLogger } from "../shared/logger.ts";
import { createClickHouse } from "./clickhouse.ts";
import { loadMigrationConfig } from "./config.ts";
import { migrate } from "./migrations.ts";

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
