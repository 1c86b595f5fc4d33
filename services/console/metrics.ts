// The console's metrics (README has the table).
import { Counter, Histogram, type Registry } from "../shared/metrics.ts";

export function createConsoleMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: "streamscore_console_requests_total",
      help: "Console requests by route and status code",
      labelNames: ["route", "status"],
      registers: [registry],
    }),
    sourceSeconds: new Histogram({
      name: "streamscore_console_source_seconds",
      help: "Time of one read from a data source (clickhouse, prometheus, service)",
      labelNames: ["source"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sourceFailures: new Counter({
      name: "streamscore_console_source_failures_total",
      help: "Reads from a data source that failed (the page shows the source as unavailable)",
      labelNames: ["source"],
      registers: [registry],
    }),
  };
}

export type ConsoleMetrics = ReturnType<typeof createConsoleMetrics>;
