// The monitor's metrics (README has the table).
import { Counter, createConsumerMetrics, Gauge, Histogram, type Registry } from "../shared/metrics.ts";

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
    driftStatistic: new Gauge({
      name: "streamscore_drift_statistic",
      help: "A drift statistic of the last closed window (drift:<test> is the one that decides drift)",
      labelNames: ["pipeline", "feature", "statistic"],
      registers: [registry],
    }),
    driftDetected: new Gauge({
      name: "streamscore_drift_detected",
      help: "1 when the last closed window of a feature drifted",
      labelNames: ["pipeline", "feature"],
      registers: [registry],
    }),
    windowsClosed: new Counter({
      name: "streamscore_drift_windows_closed_total",
      help: "Event-time windows evaluated",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    openWindows: new Gauge({
      name: "streamscore_drift_open_windows",
      help: "Event-time windows still open",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    driftPartitions: new Gauge({
      name: "streamscore_drift_partitions",
      help: "Scored partitions whose drift windows this monitor instance keeps (instances of a pipeline share them)",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    driftCloser: new Gauge({
      name: "streamscore_drift_closer",
      help: "1 when this instance closes the pipeline's drift windows (it owns partition 0)",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    driftClosedThrough: new Gauge({
      name: "streamscore_drift_closed_through_seconds",
      help: "Event time (Unix seconds) up to which the closer has closed the pipeline's drift windows",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    lateEvents: new Counter({
      name: "streamscore_drift_late_events_total",
      help: "Events that arrived after their windows closed (counted, not added)",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    alerts: new Counter({
      name: "streamscore_drift_alerts_total",
      help: "Drift alerts raised and resolved",
      labelNames: ["pipeline", "status"],
      registers: [registry],
    }),
    modelQuality: new Gauge({
      name: "streamscore_model_quality",
      help: "Model quality of the newest event-time window with labels",
      labelNames: ["pipeline", "metric"],
      registers: [registry],
    }),
  };
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>;
