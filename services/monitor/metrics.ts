// The monitor's metrics (README has the table).
import { Counter, Gauge, Histogram, type Registry } from "../shared/metrics.ts";

export function createMonitorMetrics(registry: Registry) {
  return {
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
    consumerLag: new Gauge({
      name: "streamscore_consumer_lag_records",
      help: "Records between the last processed offset and the partition's high watermark",
      labelNames: ["pipeline", "topic", "partition"],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: "streamscore_dead_lettered_total",
      help: "Records sent to the dead-letter topic",
      labelNames: ["pipeline", "stage", "code"],
      registers: [registry],
    }),
  };
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>;
