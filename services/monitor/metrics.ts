// The monitor's metrics (README has the table).
import { Counter, createConsumerMetrics, Histogram, type Registry } from "../shared/metrics.ts";

export function createMonitorMetrics(registry: Registry) {
  return {
    ...createConsumerMetrics(registry),
    rowsInserted: new Counter({
      name: "streamscore_clickhouse_rows_inserted_total",
      help: "Rows written to ClickHouse",
      labelNames: ["pipeline", "table"],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: "streamscore_clickhouse_insert_seconds",
      help: "Time of one batch: decode, insert, commit",
      labelNames: ["pipeline", "table"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    insertRetries: new Counter({
      name: "streamscore_clickhouse_insert_retries_total",
      help: "Inserts retried because ClickHouse was unavailable",
      labelNames: ["pipeline", "table"],
      registers: [registry],
    }),
  };
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>;
