// `npm run bench`: raw limits, each stage alone, the whole pipeline, and their ratios, on the
// running local stack; prints one table and writes it under load-tests/results/. Wiring only.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeError } from "../../services/shared/errors.ts";
import { type EosClient, eosClients } from "../../services/shared/kafka/eos-client.ts";
import { createProgress } from "../../services/shared/progress.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { buildRows, type Measurements } from "./assemble.ts";
import { loadBenchConfig } from "./config.ts";
import { createBenchPipeline, openEnvironment } from "./environment.ts";
import { buildRecords, recordTypes } from "./fixtures.ts";
import { describeMachine } from "./machine.ts";
import { measurePeers } from "./peers.ts";
import { measurePipeline } from "./pipeline.ts";
import { measureAvro } from "./raw-avro.ts";
import { measureClickHouse } from "./raw-clickhouse.ts";
import { measureHttp } from "./raw-http.ts";
import { measureKafka } from "./raw-kafka.ts";
import { measureKafkaClients } from "./raw-kafka-clients.ts";
import { measureOnnx } from "./raw-onnx.ts";
import { measureTransformerWork } from "./raw-transformer.ts";
import { type BenchReport, renderMarkdown, renderTable, unmeasuredSections } from "./report.ts";
import { inferenceTransactionRecords, stageClients, transformerBatchRecords } from "./services.ts";
import { measureInference, measureIngest, measureSink, measureTransformer } from "./stages.ts";

/** The sections main() measures, each through attempt(). */
const benchSections = 14;

async function main(): Promise<void> {
  const config = loadBenchConfig();
  const started = Date.now();
  // One step per attempt() below; the bar counts sections done, whatever their outcome.
  const progress = createProgress({ label: "bench", total: benchSections, unit: "sections", ratePer: "min" });
  const log = (line: string) => progress.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const notes: string[] = [];
  const env = openEnvironment();
  const batches = [...new Set([...config.BENCH_ONNX_BATCHES.map(Number), config.BENCH_INFERENCE_BATCH])]
    .filter((b) => Number.isInteger(b) && b > 0)
    .sort((a, b) => a - b);
  const runs = { runs: config.BENCH_RUNS, log };

  /** A section that fails is reported as not measured, with the reason, and the bench goes on. */
  async function attempt<T>(what: string, measure: () => Promise<T>): Promise<T | undefined> {
    log(what);
    progress.note(what);
    try {
      return await measure();
    } catch (error) {
      notes.push(`${what}: not measured — ${describeError(error)}`);
      log(`${what} failed: ${describeError(error)}`);
      return undefined;
    } finally {
      progress.add(1);
    }
  }

  try {
    const machine = await describeMachine(env);
    const template = await createBenchPipeline(env);
    let measurements: Measurements;
    try {
      log("building records");
      // Distinct events for every pre-loaded record: the transformer drops repeated event ids, and
      // ClickHouse's ReplacingMergeTree folds repeated rows.
      const set = await buildRecords(template.definition, template.ids, Math.max(5000, config.BENCH_STAGE_RECORDS), {
        seed: 7,
        idPrefix: "bench",
        cards: config.BENCH_CARDS,
      });
      const types = recordTypes(template.definition, template.ids);
      const kafka = await attempt("raw: Kafka", () =>
        measureKafka(env, set.raw, { records: config.BENCH_KAFKA_RECORDS, batch: config.BENCH_KAFKA_BATCH, ...runs }),
      );
      const kafkaClients = await attempt("raw: Kafka clients", () =>
        measureKafkaClients(env, set.raw, {
          records: config.BENCH_KAFKA_RECORDS,
          batch: config.BENCH_KAFKA_BATCH,
          transactions: 20,
          transactionRecords: inferenceTransactionRecords,
          hopRate: config.BENCH_HOP_RATE,
          hopSeconds: config.BENCH_LATENCY_SECONDS,
          ...runs,
        }),
      );
      const avro = await attempt("raw: Avro", () =>
        measureAvro(set, types, template.ids, { ms: config.BENCH_MICRO_MS, ...runs }),
      );
      const transformerWork = await attempt("raw: transformer work", () =>
        measureTransformerWork(template.definition, types, template.ids, set.raw, {
          batch: transformerBatchRecords,
          ...runs,
        }),
      );
      const onnx = await attempt("raw: onnxruntime", () =>
        measureOnnx({ batches, ms: config.BENCH_MICRO_MS, ...runs }),
      );
      const clickhouse = await attempt("raw: ClickHouse", () =>
        measureClickHouse(env, template.definition, set.scoredRecords, { rows: config.BENCH_CLICKHOUSE_ROWS, ...runs }),
      );
      const http = await attempt("raw: HTTP", () =>
        measureHttp(env, template, {
          seconds: config.BENCH_HTTP_SECONDS,
          connections: config.BENCH_HTTP_CONNECTIONS,
          batch: config.BENCH_HTTP_BATCH,
          cards: config.BENCH_CARDS,
          ...runs,
        }),
      );
      const stageOptions = {
        ...runs,
        records: config.BENCH_STAGE_RECORDS,
        batch: config.BENCH_KAFKA_BATCH,
        inferenceBatch: config.BENCH_INFERENCE_BATCH,
        cards: config.BENCH_CARDS,
      };
      const ingest = await attempt("stage: ingest", () =>
        measureIngest(env, {
          ...stageOptions,
          seconds: config.BENCH_HTTP_SECONDS,
          connections: config.BENCH_HTTP_CONNECTIONS,
          httpBatch: config.BENCH_HTTP_BATCH,
        }),
      );
      const transformer = await attempt("stage: transformer", () => measureTransformer(env, set.raw, stageOptions));
      const inference = await attempt("stage: inference", () => measureInference(env, set.features, stageOptions));
      // The same stage on the other exactly-once client, side by side.
      const otherClient = eosClients.find((c) => c !== stageClients.INFERENCE_KAFKA_CLIENT) as EosClient;
      const inferenceOther = await attempt(`stage: inference on ${otherClient}`, () =>
        measureInference(env, set.features, { ...stageOptions, kafkaClient: otherClient }),
      );
      const peers = await attempt("peers: Python scorer, Quix Streams", () =>
        measurePeers(env, set.features, set.scoredRecords, {
          ...runs,
          records: config.BENCH_STAGE_RECORDS,
          batch: config.BENCH_KAFKA_BATCH,
          inferenceBatch: config.BENCH_INFERENCE_BATCH,
          transactionRecords: inferenceTransactionRecords,
        }),
      );
      const sink = await attempt("stage: sink", () => measureSink(env, set.scoredRecords, stageOptions));
      const pipeline = await attempt("whole pipeline", () =>
        measurePipeline(env, {
          ...runs,
          events: config.BENCH_PIPELINE_EVENTS,
          connections: config.BENCH_HTTP_CONNECTIONS,
          httpBatch: config.BENCH_HTTP_BATCH,
          inferenceBatch: config.BENCH_INFERENCE_BATCH,
          latencySeconds: config.BENCH_LATENCY_SECONDS,
          latencyBatch: config.BENCH_LATENCY_BATCH,
          lowRate: config.BENCH_LOW_RATE,
          pollMs: config.BENCH_POLL_MS,
          cards: config.BENCH_CARDS,
        }),
      );
      const missing = { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [] };
      measurements = {
        kafka: kafka ?? { produce: missing, consume: missing, hop: missing },
        kafkaClients,
        avro: avro ?? {},
        transformerWork,
        onnx: onnx ?? new Map(),
        clickhouse: clickhouse?.rowBinary ?? missing,
        clickhouseJson: clickhouse?.json,
        http: http ?? missing,
        inferenceModel: "payments",
        inferenceBatch: config.BENCH_INFERENCE_BATCH,
        stages: { ingest, transformer, inference, inferenceOther, sink },
        clients: {
          transformer: stageClients.TRANSFORMER_KAFKA_CLIENT,
          inference: stageClients.INFERENCE_KAFKA_CLIENT,
          other: otherClient,
        },
        peers,
        pipeline,
      };
    } finally {
      progress.stop();
      await template.delete();
    }

    notes.push(
      "Stages alone run in this process (as the test harness runs them); their CPU-s/1k events is this process's process.cpuUsage() delta (all threads, including onnxruntime's) over the timed window. The whole pipeline runs as four service processes (their default settings, BENCH_INFERENCE_BATCH as INFERENCE_BATCH_SIZE, a pipeline alias of their own, free ports); its CPU-s/1k is the sum of their utime+stime from /proc/<pid>/stat, and its event-loop delay is the slowest service's p99 (prom-client's, reset by a scrape before each run). The HTTP load client runs as a child process and is not counted.",
      "HTTP load: autocannon in a child process, BENCH_HTTP_CONNECTIONS keep-alive connections posting BENCH_HTTP_BATCH-event JSON arrays built before the clock starts (each event once in the pipeline's count runs); the fixed-rate latency runs use an open loop on Node's fetch instead, since autocannon's rate limit waits for answers.",
      "Transformer/inference/sink alone: a fresh pipeline per run, its input topic pre-loaded with distinct records; progress sampled (group's committed offsets every 20 ms for transformer and inference, rows in ClickHouse every 50 ms for the sink: the monitor service, whose drift monitor also reads the scored topic); rate and CPU taken from the first sample that shows progress to the one that shows every record done, so start-up is excluded.",
      "Whole pipeline: timed from the first HTTP request to the last row counted in ClickHouse (polled every 50 ms). Latency: open-loop fixed rate of half the median maximum, BENCH_LATENCY_BATCH events per request; when the ingest API refuses any event of a run (429/503), the latency runs start again at 75% of that rate (up to 4 times) and the figures are reported at the highest rate the API took whole, beside the planned one, with the latency target marked as not met. Then the same runs at BENCH_LOW_RATE events/s (the < 50 ms p99 target is judged at 200/s only). ingest_time is the raw record's Kafka timestamp (set when the ingest API hands the batch to kafkajs); score_time is taken when a sub-batch is scored, before its transaction commits. ClickHouse visibility: the table is polled for rows past the last seen offset per partition every BENCH_POLL_MS; a row counts as visible when the poll that first returned it was sent (resolution ≈ the poll interval plus the query time).",
      "Bounds: 1 / Σ(1 / raw limit) over the parts a stage uses, each part's median; the pipeline's bound sums every part of every stage. The ingest stage's HTTP parsing and validation are not in its bound (its parts are the Kafka produce and the raw Avro encode); the HTTP row shows that cost alone. A stage's Kafka parts are those of the client it runs on. The transformer's bound is its client's hop, its own work (the stage's process() alone, no Kafka) and a second produce for its changelog.",
    );
    const report: BenchReport = {
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine,
      settings: Object.fromEntries(
        Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v as string | number)]),
      ),
      rows: buildRows(measurements),
      notes,
    };
    console.log(`\n${renderTable(report.rows)}\n`);
    const unmeasured = unmeasuredSections(report);
    for (const note of unmeasured) console.log(note);
    const dir = resolve(projectRoot, config.BENCH_RESULTS_DIR);
    mkdirSync(dir, { recursive: true });
    const stamp = report.startedAt.replace(/[:.]/g, "-");
    const markdown = renderMarkdown(report);
    const json = `${JSON.stringify(report, null, 2)}\n`;
    for (const name of [`bench-${stamp}`, "bench-latest"]) {
      writeFileSync(join(dir, `${name}.md`), markdown);
      writeFileSync(join(dir, `${name}.json`), json);
    }
    log(`wrote ${join(config.BENCH_RESULTS_DIR, `bench-${stamp}.md`)} and bench-latest.md/.json`);
    // A run that left rows empty is no result to quote: say so with the exit code too.
    if (unmeasured.length > 0) {
      throw new Error(`the bench could not measure ${unmeasured.length} section(s); see the notes above`);
    }
  } finally {
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
