// The ingest service's metrics (README has the table).
import { Counter, Histogram, type Registry } from "../shared/metrics.ts";

export function createProducerMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: "streamscore_ingest_events_total",
      help: "Events received, by outcome",
      labelNames: ["pipeline", "outcome"],
      registers: [registry],
    }),
    requests: new Counter({
      name: "streamscore_ingest_requests_total",
      help: "Ingest requests, by status code",
      labelNames: ["pipeline", "status"],
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: "streamscore_ingest_kafka_ack_seconds",
      help: "Time from a request's validation to Kafka's acknowledgement of its records",
      labelNames: ["pipeline"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

export type ProducerMetrics = ReturnType<typeof createProducerMetrics>;
