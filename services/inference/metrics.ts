// The inference service's metrics (README has the table).
import { Counter, createConsumerMetrics, Gauge, Histogram, type Registry } from "../shared/metrics.ts";

export function createInferenceMetrics(registry: Registry) {
  return {
    ...createConsumerMetrics(registry),
    scoreSeconds: new Histogram({
      name: "streamscore_inference_run_seconds",
      help: "Time of one scoring call (all micro-batches of a chunk)",
      labelNames: ["pipeline"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    modelSeconds: new Histogram({
      name: "streamscore_inference_model_seconds",
      help: "Wall time of a chunk's model runs (its micro-batches, handed to onnxruntime together)",
      labelNames: ["pipeline"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    modelRows: new Counter({
      name: "streamscore_inference_model_rows_total",
      help: "Rows scored by model runs (÷ the model seconds' sum: the scoring rate in rows/s)",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    modelRuns: new Counter({
      name: "streamscore_inference_model_runs_total",
      help: "Model runs (micro-batches)",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    endToEndSeconds: new Histogram({
      name: "streamscore_ingest_to_score_seconds",
      help: "From the raw record's Kafka timestamp to scoring",
      labelNames: ["pipeline"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    modelInfo: new Gauge({
      name: "streamscore_model_info",
      help: "The model versions in use and their roles: champion, canary, shadow (value 1)",
      labelNames: ["pipeline", "model", "version", "role"],
      registers: [registry],
    }),
  };
}

export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;
