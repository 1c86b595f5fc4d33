// One prom-client registry per process, injected wherever metrics are recorded.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Includes nodejs_eventloop_lag_seconds: onnxruntime and big batches block the loop.
  collectDefaultMetrics({ register: registry, prefix: "streamscore_", eventLoopMonitoringPrecision: 10 });
  return registry;
}

/** Metrics every Kafka-consuming service exports, so dashboards read the same names everywhere. */
export function createConsumerMetrics(registry: Registry) {
  return {
    recordsIn: new Counter({
      name: "streamscore_records_in_total",
      help: "Records consumed",
      labelNames: ["pipeline", "topic"],
      registers: [registry],
    }),
    recordsOut: new Counter({
      name: "streamscore_records_out_total",
      help: "Records produced or written",
      labelNames: ["pipeline", "topic"],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: "streamscore_dead_lettered_total",
      help: "Records sent to the dead-letter topic",
      labelNames: ["pipeline", "stage", "code"],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "streamscore_batch_size_records",
      help: "Records per processed batch",
      labelNames: ["pipeline"],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: "streamscore_batch_duration_seconds",
      help: "Time to process and commit one batch",
      labelNames: ["pipeline"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: "streamscore_consumer_lag_records",
      help: "Records between the last processed offset and the partition's high watermark",
      labelNames: ["pipeline", "topic", "partition"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "streamscore_errors_total",
      help: "Batch failures (the batch is retried)",
      labelNames: ["pipeline", "code"],
      registers: [registry],
    }),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;
