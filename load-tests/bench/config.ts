// The benchmark's settings: counts, durations and concurrency, each bounded so a run stays short.
import { type ConfigOf, type Environment, loadConfig, parse, setting } from "../../services/shared/config.ts";

export const benchSettings = {
  BENCH_RUNS: setting(parse.positiveInt().min(3).max(20), {
    default: "3",
    doc: "Measured runs per figure (after one warm-up); the table shows their median, min and max.",
  }),
  BENCH_MICRO_MS: setting(parse.positiveInt().max(10_000), {
    default: "400",
    doc: "Duration of one in-memory run (Avro, onnxruntime), in milliseconds.",
  }),
  BENCH_KAFKA_RECORDS: setting(parse.positiveInt().max(1_000_000), {
    default: "60000",
    doc: "Records produced and consumed back per Kafka run.",
  }),
  BENCH_KAFKA_BATCH: setting(parse.positiveInt().max(50_000), {
    default: "5000",
    doc: "Records per produce request in the Kafka runs and when pre-loading topics.",
  }),
  BENCH_ONNX_BATCHES: setting(parse.list(), {
    default: "1,16,256,4096",
    doc: "Batch sizes at which each shipped model is timed.",
  }),
  BENCH_CLICKHOUSE_ROWS: setting(parse.positiveInt().max(1_000_000), {
    default: "100000",
    doc: "Rows per ClickHouse insert.",
  }),
  BENCH_HTTP_SECONDS: setting(parse.positiveInt().max(60), {
    default: "4",
    doc: "Duration of one HTTP run (raw limit and ingest stage), in seconds.",
  }),
  BENCH_HTTP_CONNECTIONS: setting(parse.positiveInt().max(256), {
    default: "8",
    doc: "Concurrent HTTP connections of the load client.",
  }),
  BENCH_HTTP_BATCH: setting(parse.positiveInt().max(5000), {
    default: "500",
    doc: "Events per HTTP request at saturation.",
  }),
  BENCH_STAGE_RECORDS: setting(parse.positiveInt().max(1_000_000), {
    default: "50000",
    doc: "Records pre-loaded for each stage-alone run (transformer, inference, sink).",
  }),
  BENCH_INFERENCE_BATCH: setting(parse.positiveInt().max(8192), {
    default: "256",
    doc: "onnxruntime batch size of the inference service (as the pipeline harness runs it).",
  }),
  BENCH_PIPELINE_EVENTS: setting(parse.positiveInt().max(1_000_000), {
    default: "50000",
    doc: "Events sent over HTTP per whole-pipeline throughput run.",
  }),
  BENCH_LATENCY_SECONDS: setting(parse.positiveInt().max(120), {
    default: "10",
    doc: "Duration of one latency run at half the measured maximum, in seconds.",
  }),
  BENCH_HOP_RATE: setting(parse.positiveInt().max(100_000), {
    default: "2000",
    doc: "Records/s of the one-hop latency runs (one exactly-once hop through the services' processor, per client).",
  }),
  BENCH_LOW_RATE: setting(parse.nonNegativeInt().max(100_000), {
    default: "200",
    doc: "Events/s of the low-load latency runs after the half-load ones (the < 50 ms p99 target is set at 200); 0 skips them.",
  }),
  BENCH_LATENCY_BATCH: setting(parse.positiveInt().max(5000), {
    default: "10",
    doc: "Events per HTTP request in the latency runs.",
  }),
  BENCH_CARDS: setting(parse.positiveInt().max(10_000_000), {
    default: "50000",
    doc: "Cards the generated payments are spread over (fewer cards: more events per card in the transformer's state).",
  }),
  BENCH_POLL_MS: setting(parse.positiveInt().min(10).max(1000), {
    default: "50",
    doc: "How often ClickHouse is polled for new rows (the resolution of ingest → ClickHouse latency).",
  }),
  BENCH_RESULTS_DIR: setting(parse.string(), {
    default: "load-tests/results",
    doc: "Where bench-<date>.md/.json and bench-latest.md/.json are written (relative to the project root).",
  }),
};

export type BenchConfig = ConfigOf<typeof benchSettings>;

export function loadBenchConfig(env?: Environment): BenchConfig {
  return loadConfig(benchSettings, env);
}
